/**
 * The packages' entry points resolve by name from their built dist/ (which `npm test` builds
 * first), without the repository's "@attestor/source" condition: what an app or backend loads; and
 * every package declares what its built code loads. test/package/install.test.ts goes further and
 * installs the packed tarballs into projects of their own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { markPureCalls } from '../../packages/cdk/scripts/build-functions';

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

test('@attestor/verify/aws exposes attestorSecrets, attestorTestSecrets and sigV4Fetch, and @attestor/verify itself loads no AWS SDK', () => {
  expect(exportsOf('@attestor/verify/aws')).toEqual(['attestorSecrets', 'attestorTestSecrets', 'sigV4Fetch']);
  const files = compiledClosure(join(root, 'packages', 'verify', 'dist', 'index.js'));
  expect(files.length).toBeGreaterThan(3);
  for (const file of files) expect(readFileSync(file, 'utf8')).not.toMatch(/require\("@aws-sdk|require\("@smithy/);
});

test('@attestor/cdk exposes the stack and the authorizer construct', () => {
  expect(exportsOf('@attestor/cdk')).toEqual(expect.arrayContaining(['AttestorStack', 'AttestationAuthorizer', 'AttestationKeySource']));
});

/**
 * Bare specifiers a built file loads: tsc's and tsup's require("x"), and the ESM builds' import(...)
 * and `import ... from "x"` / `export ... from "x"` (the statement, so that a message in a string
 * that happens to end in "from " is not taken for one).
 */
function requiredModules(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\brequire\(|\bimport\(|\b(?:import|export)\b[^;"'`()]*?\bfrom ?)"([^".][^"]*)"/g)].map((m) => m[1]!);
}

/** The package a bare specifier names (`@scope/name` or `name`); undefined for a Node built-in. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function filesUnder(dir: string, match: RegExp): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => match.test(f))
    .map((f) => join(dir, f));
}

const PACKAGES = readdirSync(join(root, 'packages')).filter((p) => existsSync(join(root, 'packages', p, 'package.json')));

test.each(PACKAGES)('@attestor/%s loads only packages its package.json declares (dependencies or peers) and Node built-ins', (dir) => {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as {
    name: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const shipped = ['dist', 'bin'].map((d) => join(root, 'packages', dir, d)).filter((d) => existsSync(d));
  const undeclared = new Set<string>();
  for (const file of shipped.flatMap((d) => filesUnder(d, /\.(c|m)?js$/))) {
    for (const name of requiredModules(file).map(packageOf)) {
      if (name && name !== pkg.name && !declared.has(name)) undeclared.add(`${name} (${file.slice(root.length + 1)})`);
    }
  }
  expect([...undeclared]).toEqual([]);
});

test('each prebuilt Lambda bundle carries only the request schemas its own routes use', () => {
  // Prepare: one message from each schema family, and the functions whose routes check it.
  const bundle = (name: string) => readFileSync(join(root, 'packages', 'cdk', 'functions', name, 'index.js'), 'utf8');
  const schemas = [
    { message: 'must equal device.platform', in: ['attest'] }, // the attest request
    { message: 'must be an IAM principal ARN or', in: ['adminKeys'] }, // tenants and principals
    { message: 'empty builds cannot be registered', in: ['adminUploads'] }, // uploads
    { message: 'may be off only when hardware.ios', in: ['adminCatalog'] }, // policies
    { message: 'is not a field: give appId, ttlSeconds and claims', in: ['adminKeys'] }, // test tokens
  ];
  const functions = ['challenge', 'attest', 'adminCatalog', 'adminKeys', 'adminUploads'];

  // Act
  const found = schemas.map((s) => ({ message: s.message, in: functions.filter((name) => bundle(name).includes(s.message)) }));

  // Assess: the bundler drops a schema no route of the function uses (build-functions.ts pureSchemaCalls).
  expect(found).toEqual(schemas);
});

test('the prebuilt Lambda bundles load nothing but Node built-ins and the AWS SDK the Lambda runtime provides', () => {
  const bundles = filesUnder(join(root, 'packages', 'cdk', 'functions'), /index\.js$/);
  expect(bundles.length).toBeGreaterThan(0);
  const external = new Set(bundles.flatMap((file) => requiredModules(file).map(packageOf)).filter((n): n is string => n !== undefined));
  expect([...external].filter((n) => !/^@aws-sdk\/|^@smithy\/|^@aws-crypto\//.test(n))).toEqual([]);
});

test('the build marks schema calls pure in code only: strings, comments, patterns and declarations are left as they are', () => {
  // Prepare: every place a call's text can appear without being a call.
  const source = [
    "import * as v from 'valibot';",
    "/* @__NO_SIDE_EFFECTS__ */ export const typeError = (kind: string) => `must be ${kind}`;",
    "/* @__NO_SIDE_EFFECTS__ */ function object(e: unknown) { return v.object({}, 'v.string( in a string'); }",
    "// a comment about v.pipe( and typeError(",
    'export const pattern = /v\\.string\\(/;',
    "export const schema = v.pipe(v.string(typeError('a string')), v.regex(pattern, 'typeError( in a message'));",
    'export const other = object(1);',
    'export const method = [1].map((x) => x).join();',
  ].join('\n');

  // Act
  const marked = markPureCalls('schema.ts', source, new Set(['typeError', 'object']));

  // Assess: exactly the calls of valibot and of the declared helpers gained the mark, and nothing else changed.
  const PURE = '/* @__PURE__ */ ';
  expect(marked.replaceAll(PURE, '')).toBe(source);
  expect(marked.split('\n')).toEqual([
    "import * as v from 'valibot';",
    "/* @__NO_SIDE_EFFECTS__ */ export const typeError = (kind: string) => `must be ${kind}`;",
    `/* @__NO_SIDE_EFFECTS__ */ function object(e: unknown) { return ${PURE}v.object({}, 'v.string( in a string'); }`,
    '// a comment about v.pipe( and typeError(',
    'export const pattern = /v\\.string\\(/;',
    `export const schema = ${PURE}v.pipe(${PURE}v.string(${PURE}typeError('a string')), ${PURE}v.regex(pattern, 'typeError( in a message'));`,
    `export const other = ${PURE}object(1);`,
    'export const method = [1].map((x) => x).join();',
  ]);
});
