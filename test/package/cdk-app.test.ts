/**
 * A customer's CDK app installs @attestor/cdk from its tarball (with aws-cdk-lib and constructs, its
 * peers) outside the repository, imports AttestorStack and AttestationAuthorizer from it, and
 * synthesizes with the aws-cdk CLI, offline: the Lambda code ships prebuilt in the package, so no
 * bundler runs (none is installed) and the assets are the package's own bundles, for nodejs24.x.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LAMBDAS } from '@attestor/contracts/routes';
import { DEMO_FUNCTIONS } from '../../packages/cdk/src/attestor-stack';
import {
  freshProject,
  installedPackages,
  installInto,
  isolated,
  keptProject,
  lockedVersion,
  pack,
  repositoryNode,
  ROOT,
  runOk,
  type Held,
  type Packed,
} from './scratch';

type Json = Record<string, any>;

let held: Held;
let packDir: string;
let dir: string;
let cdk: Packed;
const phases: string[] = [];

const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const start = Date.now();
  const result = await work();
  phases.push(`${label} ${((Date.now() - start) / 1000).toFixed(1)}s`);
  return result;
};

beforeAll(async () => {
  const node = repositoryNode();
  packDir = freshProject('packs-cdk');
  const packed = await timed('pack', () => pack(['@attestor/cdk', '@attestor/contracts'], packDir));
  cdk = packed.get('@attestor/cdk')!;
  held = await keptProject('cdk-app');
  dir = held.dir;
  await timed('install', () =>
    installInto(dir, [...packed.values()], { 'aws-cdk-lib': lockedVersion('aws-cdk-lib'), constructs: lockedVersion('constructs') }),
  );

  copyFileSync(join(__dirname, 'examples', 'cdk-app.ts'), join(dir, 'cdk-app.ts'));
  const compilerOptions = {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    lib: ['ES2022'],
    strict: true,
    // aws-cdk-lib's declarations take longer to check than everything else in the suite.
    skipLibCheck: true,
    outDir: 'out',
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['cdk-app.ts'] }, null, 2));
  await timed('compile', () => runOk(node, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir }));

  // The CLI's three calls home, all off (TOOLCHAIN.md): notices, version reporting, telemetry; and its version check.
  const cdkJson = { app: 'node out/cdk-app.js', notices: false, versionReporting: false, context: { 'cli-telemetry': false } };
  writeFileSync(join(dir, 'cdk.json'), JSON.stringify(cdkJson, null, 2));
  rmSync(join(dir, 'cdk.out'), { recursive: true, force: true });
  await timed('cdk synth', () =>
    runOk(node, [join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--quiet'], {
      cwd: dir,
      // `node` in cdk.json's app is the repository's Node, the Lambda runtime's major.
      env: { PATH: `${dirname(node)}:${process.env['PATH']}`, HOME: process.env['HOME'], CDK_DISABLE_VERSION_CHECK: '1' },
      timeoutMs: 120_000,
    }),
  );
}, 300_000);

afterAll(() => {
  held?.release();
  if (packDir) rmSync(packDir, { recursive: true, force: true });
  process.stdout.write(`test/package/cdk-app.test.ts phases: ${phases.join(', ')}\n`);
});

const template = (stack: string): Json => JSON.parse(readFileSync(join(dir, 'cdk.out', `${stack}.template.json`), 'utf8')) as Json;
const resourcesOf = (t: Json, type: string): Json[] => Object.values(t['Resources'] as Record<string, Json>).filter((r) => r['Type'] === type);

it('installs @attestor/cdk with its peers and @attestor/contracts only: no bundler, no AWS SDK, outside the repository', () => {
  expect(dir.startsWith(ROOT)).toBe(false);
  expect(isolated(dir)).toBe(true);
  expect(Object.keys(cdk.manifest['dependencies'] ?? {})).toEqual(['@attestor/contracts']);
  expect(Object.keys(cdk.manifest['peerDependencies'] ?? {}).sort()).toEqual(['aws-cdk-lib', 'constructs']);
  const installed = installedPackages(dir);
  expect(installed).toEqual(expect.arrayContaining(['@attestor/cdk', '@attestor/contracts', 'aws-cdk-lib', 'constructs']));
  expect(installed.filter((n) => /^(esbuild|@esbuild\/.*|@aws-sdk\/.*|cdk-nag|@attestor\/(service|local|cli))$/.test(n))).toEqual([]);
});

/** The package's bundles, by content: function name of each functions/<name>/index.js. */
function bundles(): Map<string, string> {
  const root = join(dir, 'node_modules', '@attestor', 'cdk', 'functions');
  return new Map(readdirSync(root).map((name) => [readFileSync(join(root, name, 'index.js'), 'utf8'), name]));
}

/** Which bundle of the package a synthesized function runs, from its asset in cdk.out (undefined: not one of ours). */
function bundleOf(fn: Json, byContent: Map<string, string>): string | undefined {
  const key = fn['Properties']['Code']?.['S3Key'];
  if (typeof key !== 'string') return undefined;
  try {
    return byContent.get(readFileSync(join(dir, 'cdk.out', `asset.${key.replace(/\.zip$/, '')}`, 'index.js'), 'utf8'));
  } catch {
    return undefined;
  }
}

it('AttestorStack synthesizes its functions from the prebuilt bundles in the package, for nodejs24.x on arm64', () => {
  const byContent = bundles();
  expect([...byContent.values()].sort()).toEqual(Object.keys(LAMBDAS).sort());
  const ours = resourcesOf(template('Attestor'), 'AWS::Lambda::Function').filter((fn) => bundleOf(fn, byContent) !== undefined);
  // Every function of the service but the demo route's two (its backend and authorizer), which a
  // deployment has only with demoRoute; the package ships their bundles all the same (the Orders
  // stack below runs the authorizer's).
  const demoFunctions: readonly string[] = DEMO_FUNCTIONS;
  expect(new Set(ours.map((fn) => bundleOf(fn, byContent)))).toEqual(new Set(Object.keys(LAMBDAS).filter((name) => !demoFunctions.includes(name))));
  for (const fn of ours) expect(fn['Properties']).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
});

it('AttestationAuthorizer from the package guards the customer\'s route, with the remote key source and monitor mode', () => {
  const orders = template('Orders');
  const [authorizer] = resourcesOf(orders, 'AWS::ApiGateway::Authorizer');
  expect(authorizer?.['Properties']).toMatchObject({ Type: 'REQUEST' });
  const [method] = resourcesOf(orders, 'AWS::ApiGateway::Method').filter((m) => m['Properties']['HttpMethod'] === 'GET');
  expect(method?.['Properties']).toMatchObject({ AuthorizationType: 'CUSTOM' });
  const [fn, ...others] = resourcesOf(orders, 'AWS::Lambda::Function').filter((f) => bundleOf(f, bundles()) === 'authorizer');
  expect(others).toEqual([]);
  expect(fn?.['Properties']['Runtime']).toBe('nodejs24.x');
  expect(fn?.['Properties']['Environment']['Variables']).toMatchObject({
    KEY_SOURCE: 'remote',
    ATTESTOR_API_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/',
    AUTHORIZER_MODE: 'monitor',
    AUTHORIZER_TENANT: 'acme',
  });
});
