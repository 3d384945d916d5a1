/**
 * The packages' entry points resolve by name from their built dist/ (which `npm test` builds
 * first), without the repository's "@attestor/source" condition: what an app or backend loads.
 * test/package/install.test.ts goes further and installs the packed tarballs into a project of
 * their own.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

/** The names a module exports, loaded by a plain `node` (no source condition) from the repository root. */
function exportsOf(specifier: string): string[] {
  const out = execFileSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()))`], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

/** Every module a compiled entry loads through relative requires. */
function compiledClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/require\("(\.[^"]+)"\)/g)) visit(resolve(dirname(file), `${m[1]}.js`));
  };
  visit(entry);
  return [...seen];
}

test('@attestor/sdk exposes the client, its helpers and the protocol constants', () => {
  expect(exportsOf('@attestor/sdk')).toEqual(
    expect.arrayContaining(['AttestorClient', 'AttestorError', 'bytesPackageSource', 'memoryKeyStore', 'SDK_VERSION', 'TOKEN_HEADER_NAME', 'NONCE_BYTES']),
  );
});

test('@attestor/sdk/node exposes the Node helpers', () => {
  expect(exportsOf('@attestor/sdk/node')).toEqual(expect.arrayContaining(['filePackageSource', 'fileKeyStore', 'nodeSignalProvider']));
});

test('the built SDK core is one file that requires nothing at all, not even a Node built-in', () => {
  const source = readFileSync(join(root, 'packages', 'sdk', 'dist', 'index.js'), 'utf8');
  expect(source).not.toMatch(/require\(/);
  expect(source).toContain('attestor-measurement-v1');
});

test('@attestor/verify exposes verifyToken, createVerifier and the middleware', () => {
  expect(exportsOf('@attestor/verify')).toEqual(expect.arrayContaining(['verifyToken', 'createVerifier', 'attestorMiddleware', 'TokenVerificationError']));
});

test('@attestor/verify/aws exposes attestorSecrets, and @attestor/verify itself loads no AWS SDK', () => {
  expect(exportsOf('@attestor/verify/aws')).toEqual(['attestorSecrets']);
  const files = compiledClosure(join(root, 'packages', 'verify', 'dist', 'index.js'));
  expect(files.length).toBeGreaterThan(3);
  for (const file of files) expect(readFileSync(file, 'utf8')).not.toMatch(/require\("@aws-sdk|require\("@smithy/);
});

test('@attestor/cdk exposes the stack and the authorizer construct', () => {
  expect(exportsOf('@attestor/cdk')).toEqual(expect.arrayContaining(['AttestorStack', 'AttestationAuthorizer', 'AttestationKeySource']));
});
