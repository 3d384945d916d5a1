/**
 * `@attestor/verify/aws`: a tenant's hs256 secrets for a backend that runs in AWS, by AWS's own
 * means: fetched wrapped from the Attestor admin API (GET /v1/admin/keys/secrets, signed with
 * SigV4 by the backend's own credentials) and unwrapped with KMS Decrypt under the backend's own
 * IAM permission, which can be limited to its tenant's encryption context. Pass the result as
 * `secrets` to createVerifier or attestorMiddleware: it is called at start and then every
 * `refreshIntervalSeconds` (30 s), never per request, so a rotation reaches the backend by itself.
 *
 * `sigV4Fetch` is the signed fetch these use, for a backend that reads other IAM-authorized admin
 * routes itself, or verifies es256 tokens against the tenant's JWKS on the admin API: pass it as
 * `fetch` with `jwksUrl` `<apiUrl>/v1/admin/keys/jwks` (docs/ENFORCEMENT.md).
 *
 * Needs `@aws-sdk/client-kms`, `@aws-sdk/credential-provider-node` and `@smithy/signature-v4`,
 * which the rest of @attestor/verify does not: optional peer dependencies (aws/peers.ts says which are missing).
 *
 * @example
 * ```ts
 * import { createVerifier } from '@attestor/verify';
 * import { attestorSecrets } from '@attestor/verify/aws';
 *
 * const verifier = createVerifier({
 *   issuer: 'attestor',
 *   secrets: attestorSecrets({ apiUrl: process.env.ATTESTOR_API_URL!, tenantId: 'acme', region: 'eu-west-1' }),
 * });
 * ```
 */
// First: a backend without the optional peers learns which to install before anything requires them.
import './aws/peers';
import { KMSClient } from '@aws-sdk/client-kms';
import { RemoteKeySource } from './aws/remote-key-source';
import { sigV4Fetch, type SignedFetch, type SigV4FetchOptions } from './aws/sigv4-fetch';
import type { TokenSecret } from './core/ports';
import type { SecretJwk, TokenSecretSet } from './secrets';

export { sigV4Fetch, type SignedFetch, type SigV4FetchOptions };

export interface AttestorSecretsOptions {
  /** Base URL of the Attestor API, stage included (the stack's ApiUrl output). */
  readonly apiUrl: string;
  /** Your tenant: secrets wrapped for any other tenant are refused, not unwrapped. */
  readonly tenantId: string;
  /** Region of the Attestor API and its KMS keys. */
  readonly region: string;
  /** @default the AWS SDK's default provider chain (in Lambda, ECS or EC2: the role) */
  readonly credentials?: SigV4FetchOptions['credentials'];
  /** The local cloud's KMS endpoint, for trying it on one machine; absent in AWS. */
  readonly kmsEndpoint?: string;
}

/** A function that returns the tenant's current secrets, for `createVerifier({ secrets })`. */
export function attestorSecrets(options: AttestorSecretsOptions): () => Promise<TokenSecretSet> {
  const source = remoteSource(options);
  return async () => {
    const { secrets, retiresAt } = await source.keys();
    // retiresAt travels with each secret, so the verifier drops a retired one even while it cannot fetch.
    return { keys: secrets.map((s) => secretJwk(s, retiresAt?.get(s.kid))) };
  };
}

/**
 * A function that returns the tenant's test secrets (`attestor token mint`, PROTOCOL.md §5.7), for
 * `createVerifier({ acceptTestTokens: true, testSecrets })` in a backend's CI: read from GET
 * /v1/admin/tokens/test/secrets and unwrapped under the test secrets' encryption context, which a
 * production verifier's role should be denied (docs/ENFORCEMENT.md "Test tokens in CI").
 */
export function attestorTestSecrets(options: AttestorSecretsOptions): () => Promise<TokenSecretSet> {
  const source = remoteSource(options);
  return async () => ({ keys: (await source.testKeys()).map((s) => secretJwk(s, undefined)) });
}

function remoteSource(options: AttestorSecretsOptions): RemoteKeySource {
  const kms = new KMSClient({
    region: options.region,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.kmsEndpoint !== undefined ? { endpoint: options.kmsEndpoint } : {}),
  });
  const fetch = sigV4Fetch({ region: options.region, ...(options.credentials ? { credentials: options.credentials } : {}) });
  return new RemoteKeySource({ apiUrl: options.apiUrl, tenantId: options.tenantId, fetch, kms });
}

function secretJwk(secret: TokenSecret, retiresAt: number | undefined): SecretJwk {
  return {
    kty: 'oct' as const,
    kid: secret.kid,
    alg: 'HS256' as const,
    k: secret.key.export().toString('base64url'),
    ...(retiresAt !== undefined ? { retiresAt } : {}),
  };
}
