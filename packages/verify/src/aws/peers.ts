/**
 * `@attestor/verify/aws` needs AWS SDK packages that the rest of the library does not: they are
 * optional peer dependencies, so a backend that verifies with a secret set of its own installs
 * none of them. aws.ts loads this first, so a backend that lacks them is told which to install in
 * one line, rather than getting Node's "Cannot find module" from deep inside the SDK's imports.
 */
export const AWS_PEER_DEPENDENCIES = ['@aws-sdk/client-kms', '@aws-sdk/credential-provider-node', '@smithy/signature-v4', '@aws-crypto/sha256-js'] as const;

const missing = AWS_PEER_DEPENDENCIES.filter((name) => {
  try {
    require.resolve(name);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  throw new Error(`@attestor/verify/aws needs ${missing.join(', ')}, optional peer dependencies of @attestor/verify: npm install ${missing.join(' ')}`);
}
