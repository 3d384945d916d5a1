/**
 * The published entry points resolve by package name (Node's self-reference through "exports"),
 * from the compiled dist/ that `npm test` builds first, as an app or backend would import them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

function exportsOf(specifier: string): string[] {
  const out = execFileSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()))`], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(out) as string[];
}

/** Every module the compiled entry loads through relative requires. */
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

test('attestor/sdk exposes the client and its helpers', () => {
  expect(exportsOf('attestor/sdk')).toEqual(expect.arrayContaining(['AttestorClient', 'AttestorError', 'bytesPackageSource', 'memoryKeyStore', 'SDK_VERSION']));
});

test('attestor/sdk/node exposes the Node helpers', () => {
  expect(exportsOf('attestor/sdk/node')).toEqual(expect.arrayContaining(['filePackageSource', 'fileKeyStore', 'nodeSignalProvider']));
});

test('attestor/verify exposes verifyToken, createVerifier and the middleware', () => {
  expect(exportsOf('attestor/verify')).toEqual(expect.arrayContaining(['verifyToken', 'createVerifier', 'attestorMiddleware']));
});

test('attestor/verify/aws exposes attestorSecrets, and attestor/verify itself loads no AWS SDK', () => {
  expect(exportsOf('attestor/verify/aws')).toEqual(['attestorSecrets']);
  const files = compiledClosure(join(root, 'dist', 'verify', 'index.js'));
  for (const file of files) expect(readFileSync(file, 'utf8')).not.toMatch(/require\("@aws-sdk|require\("@smithy/);
});

test('the compiled SDK core requires no Node built-in', () => {
  const files = compiledClosure(join(root, 'dist', 'sdk', 'index.js'));
  expect(files.length).toBeGreaterThan(3);
  for (const file of files) expect(readFileSync(file, 'utf8')).not.toMatch(/require\("(node:|fs|path|crypto|os|http)/);
});
