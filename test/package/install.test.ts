/**
 * The packages install piece by piece: each workspace is packed and installed from its tarball
 * into projects of its own outside the repository (test/package/scratch.ts), and the examples of
 * the docs run there against a local cloud that the installed @attestor/local serves:
 * - the operator's installed CLI registers a build, from a subdirectory of the app's project,
 *   finding the running service by itself, and prints the tenant's secrets;
 * - the README's app, with @attestor/sdk installed alone, gets a token and a 200 from the
 *   protected route, on Node 20.19, the oldest Node the client packages support;
 * - docs/ENFORCEMENT.md's backend, with @attestor/verify installed alone, verifies that token
 *   (and refuses a forged one) on Node 20.19, and @attestor/verify/aws does with its peers;
 * - @attestor/hardware's README example runs on Node 20.19.
 * The service side (local cloud, CLI) runs on the repository's Node, the Lambda runtime's major.
 * Targets: the SDK tarball at most 100 KB with no dependencies; @attestor/verify alone pulls no
 * AWS SDK and no local-cloud package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freshProject,
  installedPackages,
  installInto,
  isolated,
  keptProject,
  lockedVersion,
  nodeBinary,
  pack,
  repositoryNode,
  ROOT,
  run,
  runOk,
  tarballFiles,
  type Held,
  type Packed,
  type Run,
} from './scratch';

/** The engines floor of @attestor/sdk, /verify, /contracts and /hardware (their package.json). */
const OLDEST_CLIENT_NODE = '20.19.0';
const SDK_MAX_BYTES = 100 * 1024;
const NOT_FOR_VERIFIERS = /^(@aws-sdk\/|@smithy\/|@aws-crypto\/|dynalite$|s3rver$|@attestor\/(local|service|cli)$)/;
const APP_ID = 'com.example.quickstart';
const EXAMPLES = join(__dirname, 'examples');

let packDir: string;
let packed: Map<string, Packed>;
const fresh: string[] = [];
const held: Held[] = [];
let sdkDir: string;
let verifyDir: string;
let hardwareDir: string;
let verifyAwsDir: string;
let cliDir: string;
let localDir: string;
let node20: string;
let node24: string;
let cloud: ChildProcess | undefined;
let endpoint: string;
/** The compiled examples. */
let app: string;
let backend: string;
let backendAws: string;
let hardware: string;
const phases: string[] = [];

/** What children see of this environment: nothing of the test's own ATTESTOR_* or npm settings. */
const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'] });

const tarball = (name: string): Packed => {
  const p = packed.get(name);
  if (!p) throw new Error(`${name} was not packed`);
  return p;
};

/**
 * Places an example in a project with a tsconfig that compiles it against the project's installed
 * packages (their declarations included) and Node's types; returns the tsconfig and the output.
 */
function example(dir: string, file: string, lib: string[], checkDeclarations = true): { tsconfig: string; output: string } {
  copyFileSync(join(EXAMPLES, file), join(dir, file));
  const tsconfig = join(dir, `tsconfig.${file}.json`);
  const compilerOptions = {
    target: 'ES2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    lib,
    strict: true,
    noUncheckedIndexedAccess: true,
    // The packages' declarations are checked too, as a consumer's strict compiler reads them.
    skipLibCheck: !checkDeclarations,
    outDir: 'out',
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
  };
  writeFileSync(tsconfig, JSON.stringify({ compilerOptions, files: [file] }, null, 2));
  return { tsconfig, output: join(dir, 'out', file.replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs')) };
}

/**
 * Runs a client example on Node 20. Node 20 can deadlock when a freshly generated key is exported
 * during a garbage collection (packages/local/src/kms/p256.ts), which the SDK's first run does; a
 * run killed by its timeout is run once more, and only then counts as a failure.
 */
async function onNode20(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  const first = await run(node20, args, { ...options, timeoutMs: 30_000 });
  return first.signal === 'SIGKILL' ? run(node20, args, { ...options, timeoutMs: 30_000 }) : first;
}

const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const start = Date.now();
  const result = await work();
  phases.push(`${label} ${((Date.now() - start) / 1000).toFixed(1)}s`);
  return result;
};

beforeAll(async () => {
  node24 = repositoryNode();
  packDir = freshProject('packs');
  fresh.push(packDir);
  packed = await timed('pack', () =>
    pack(['@attestor/contracts', '@attestor/sdk', '@attestor/verify', '@attestor/hardware', '@attestor/service', '@attestor/local', '@attestor/cli'], packDir),
  );

  const contracts = tarball('@attestor/contracts');
  const verify = tarball('@attestor/verify');
  sdkDir = freshProject('app');
  verifyDir = freshProject('backend');
  hardwareDir = freshProject('hardware');
  fresh.push(sdkDir, verifyDir, hardwareDir);
  const kept = await Promise.all([keptProject('verify-aws'), keptProject('cli'), keptProject('local')]);
  held.push(...kept);
  [verifyAwsDir, cliDir, localDir] = kept.map((k) => k.dir) as [string, string, string];
  const awsPeers = ['@aws-sdk/client-kms', '@aws-sdk/credential-provider-node', '@smithy/signature-v4', '@aws-crypto/sha256-js'];
  [node20] = await timed('install', () =>
    Promise.all([
      nodeBinary(OLDEST_CLIENT_NODE),
      installInto(sdkDir, [tarball('@attestor/sdk')]),
      installInto(verifyDir, [verify, contracts]),
      installInto(hardwareDir, [tarball('@attestor/hardware')]),
      installInto(verifyAwsDir, [verify, contracts], Object.fromEntries(awsPeers.map((n) => [n, lockedVersion(n)]))),
      installInto(cliDir, [tarball('@attestor/cli'), verify, contracts]),
      installInto(localDir, [tarball('@attestor/local'), tarball('@attestor/service'), tarball('@attestor/hardware'), verify, contracts]),
    ]),
  );

  // DOM: the SDK's declarations name fetch's and WebCrypto's types (RequestInfo, CryptoKey) as the DOM library has them.
  const examples = [
    example(sdkDir, 'app.mts', ['ES2022', 'DOM']),
    example(verifyDir, 'backend.cts', ['ES2022', 'DOM']),
    // Not the declarations here: @attestor/verify's are checked above, and the AWS SDK's are not ours (and take seconds).
    example(verifyAwsDir, 'backend-aws.cts', ['ES2022', 'DOM'], false),
    example(hardwareDir, 'hardware.cts', ['ES2022']),
  ];
  [app, backend, backendAws, hardware] = examples.map((e) => e.output) as [string, string, string, string];
  // With the repository's TypeScript, one compiler per project, side by side.
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await timed('compile examples', () => Promise.all(examples.map((e) => runOk(node24, [tsc, '-p', e.tsconfig], { cwd: sdkDir }))));

  // The app's project is where the operator runs the local cloud: its .attestor/ lands there.
  cloud = spawn(node24, [join(localDir, 'node_modules', '.bin', 'attestor-local')], { cwd: sdkDir, env: { ...baseEnv(), PORT: '0' } });
  endpoint = await timed('local cloud start', () => readyEndpoint(cloud as ChildProcess));
}, 300_000);

afterAll(async () => {
  if (cloud && cloud.exitCode === null) {
    const exited = new Promise((resolve) => cloud?.once('exit', resolve));
    cloud.kill('SIGTERM');
    await exited;
  }
  for (const h of held) h.release();
  for (const dir of fresh) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`test/package/install.test.ts phases: ${phases.join(', ')}\n`);
});

/** The endpoint of the "Attestor ready on ..." line; rejects with the output if the process exits first. */
function readyEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Attestor ready on (http:\/\/127\.0\.0\.1:\d+) /.exec(out);
      if (m) {
        child.stdout?.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the installed local cloud exited (${code}) before it was ready:\n${out}`)));
  });
}

describe('each package installs from its tarball into a project of its own', () => {
  it('every scratch project is outside the repository, with no node_modules above it to fall back on', () => {
    for (const dir of [sdkDir, verifyDir, hardwareDir, verifyAwsDir, cliDir, localDir]) {
      expect(dir.startsWith(ROOT)).toBe(false);
      expect(isolated(dir)).toBe(true);
    }
  });

  it('installs what was packed, not the repository: the installed dist/ is the one just built', () => {
    for (const [dir, name, file] of [
      [sdkDir, 'sdk', 'dist/index.js'],
      [verifyDir, 'verify', 'dist/index.js'],
      [localDir, 'local', 'dist/cloud.js'],
      [cliDir, 'cli', 'dist/main.js'],
    ] as const) {
      expect(readFileSync(join(dir, 'node_modules', '@attestor', name, file))).toEqual(readFileSync(join(ROOT, 'packages', name, file)));
    }
  });

  it(`@attestor/sdk: a tarball of at most ${SDK_MAX_BYTES / 1024} KB with no dependencies, installed alone`, () => {
    const sdk = tarball('@attestor/sdk');
    expect(sdk.size).toBeLessThanOrEqual(SDK_MAX_BYTES);
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies']) {
      expect(Object.keys(sdk.manifest[field] ?? {})).toEqual([]);
    }
    expect(installedPackages(sdkDir)).toEqual(['@attestor/sdk']);
  });

  it('@attestor/verify alone pulls no AWS SDK and no local-cloud package: only itself and @attestor/contracts', () => {
    const installed = installedPackages(verifyDir);
    expect(installed).toEqual(['@attestor/contracts', '@attestor/verify']);
    expect(installed.filter((name) => NOT_FOR_VERIFIERS.test(name))).toEqual([]);
  });

  it('@attestor/verify/aws without its optional peers says which to install, in one line', async () => {
    const result = await run(node20, ['-e', "require('@attestor/verify/aws')"], { cwd: verifyDir, env: baseEnv() });
    expect(result.code).toBe(1);
    const peers = ['@aws-sdk/client-kms', '@aws-sdk/credential-provider-node', '@smithy/signature-v4', '@aws-crypto/sha256-js'];
    expect(result.stderr).toContain(
      `Error: @attestor/verify/aws needs ${peers.join(', ')}, optional peer dependencies of @attestor/verify: npm install ${peers.join(' ')}\n`,
    );
  });

  it('the operator CLI pulls no local-cloud package, and the local cloud no CLI', () => {
    expect(installedPackages(cliDir).filter((n) => /^(dynalite|s3rver|@attestor\/(local|service))$/.test(n))).toEqual([]);
    expect(installedPackages(localDir).filter((n) => /^(cli-progress|@attestor\/cli)$/.test(n))).toEqual([]);
  });

  it('ships no build bookkeeping (.tsbuildinfo) and no sources', () => {
    for (const p of packed.values()) {
      const files = tarballFiles(p.file);
      expect(files.filter((f) => f.endsWith('.tsbuildinfo') || f.startsWith('src/'))).toEqual([]);
    }
  });
});

describe('the docs\' examples run from the installed packages against the installed local cloud', () => {
  const build = randomBytes(200_000);
  let token: string;
  let secrets: string;

  it('the installed CLI, run in a subdirectory of the project, finds the running service and registers a build', async () => {
    writeFileSync(join(sdkDir, 'my-app.bin'), build);
    const sub = join(sdkDir, 'src', 'deep');
    mkdirSync(sub, { recursive: true });
    const cli = join(cliDir, 'node_modules', '.bin', 'attestor');
    const register = [cli, 'register', '--app', APP_ID, '--version', '1.0.0', '../../my-app.bin'];
    const out = await timed('cli register', () => runOk(node24, register, { cwd: sub, env: baseEnv() }));
    expect(out).toMatch(new RegExp(`sha256\\s+${createHash('sha256').update(build).digest('hex')}`));
    secrets = await runOk(node24, [cli, 'keys', 'secret', '--json'], { cwd: sub, env: baseEnv() });
    expect((JSON.parse(secrets) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
  });

  it('the installed CLI serves `attestor console`: its help, its page and every module the page imports, from the tarball alone', async () => {
    const cli = join(cliDir, 'node_modules', '.bin', 'attestor');
    expect(await runOk(node24, [cli, 'console', '--help'], { cwd: sdkDir, env: baseEnv() })).toContain('Usage: attestor console [options]');
    const child = spawn(node24, [cli, 'console', '--no-open'], { cwd: sdkDir, env: baseEnv() });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const link = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /^(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43})$/m.exec(out);
          if (m) resolve(m[1]!);
        });
        child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.once('exit', (code) => reject(new Error(`attestor console exited (${code}):\n${out}`)));
      });
      const headers = { 'x-attestor-console-token': new URL(link).searchParams.get('token')! };
      const page = await fetch(new URL('/', link), { headers });
      expect(page.status).toBe(200);
      // Every file the page names, then every module those import, until none is new: all served.
      const pending = [...(await page.text()).matchAll(/(?:src|href)="(\/assets\/[\w.-]+)"/g)].map((m) => m[1]!);
      const served = new Set<string>();
      for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
        if (served.has(path)) continue;
        const res = await fetch(new URL(path, link), { headers });
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        served.add(path);
        for (const m of (await res.text()).matchAll(/from '\.\/([\w-]+\.js)'/g)) pending.push(`/assets/${m[1]}`);
      }
      expect([...served]).toEqual(expect.arrayContaining(['/assets/main.js', '/assets/verdicts-page.js', '/assets/uplot.js', '/assets/uplot.css']));
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  });

  it(`README's app (the SDK alone, Node ${OLDEST_CLIENT_NODE}) gets a token and a 200 from the protected route`, async () => {
    const result = await timed('app', () => onNode20([app, 'my-app.bin'], { cwd: sdkDir, env: { ...baseEnv(), ATTESTOR_ENDPOINT: endpoint } }));
    expect(result.stderr.replace(/.*ExperimentalWarning.*\n|.*node --trace-warnings.*\n/g, '')).toBe('');
    const lines = result.stdout.trim().split('\n');
    const hello = (line: string) => /^200 \{.*\}$/.test(line) ? (JSON.parse(line.slice(4)) as Record<string, string>) : undefined;
    expect(lines.map(hello)).toContainEqual({ hello: 'attested app', appId: APP_ID, did: expect.stringMatching(/^[\w-]{43}$/) });
    const tokenLine = lines.find((l) => l.startsWith('token: '));
    expect(tokenLine).toBeDefined();
    token = tokenLine!.slice('token: '.length);
    expect(token.split('.')).toHaveLength(3);
  });

  it(`docs/ENFORCEMENT.md's backend (@attestor/verify alone, Node ${OLDEST_CLIENT_NODE}) verifies that token and refuses a forged one`, async () => {
    const result = await timed('backend', () => onNode20([backend, token], { cwd: verifyDir, env: { ...baseEnv(), ATTESTOR_SECRETS: secrets } }));
    expect(result.stderr).toBe('');
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual({ verifier: { genuine: `valid ${APP_ID}`, forged: 'denied bad_signature' } });
    expect(lines).toContainEqual({ middleware: 'genuine', status: 200, body: JSON.stringify({ app: APP_ID }) });
    expect(lines).toContainEqual(expect.objectContaining({ middleware: 'forged', status: 401 }));
    expect(lines).toContainEqual(expect.objectContaining({ middleware: 'none', status: 401 }));
    expect(lines.filter((l) => 'onResult' in l).map((l) => l['onResult'])).toEqual(['valid', 'bad_signature', 'missing']);
  });

  it(`@attestor/verify/aws with its optional peers installed (Node ${OLDEST_CLIENT_NODE}) fetches the secrets and verifies the token`, async () => {
    const state = JSON.parse(readFileSync(join(sdkDir, '.attestor', 'local-cloud.json'), 'utf8')) as { kms: string };
    const admin = JSON.parse(readFileSync(join(sdkDir, '.attestor', 'admin-credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
    const result = await onNode20([backendAws, token], {
      cwd: verifyAwsDir,
      env: {
        ...baseEnv(),
        ATTESTOR_API_URL: `${endpoint}/`,
        ATTESTOR_KMS_ENDPOINT: state.kms,
        AWS_ACCESS_KEY_ID: admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
        // The AWS SDK's notice that its 2027 releases need Node 22 concerns this Node 20 run only.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ sub: APP_ID });
  });

  it(`@attestor/hardware's README example runs on Node ${OLDEST_CLIENT_NODE}: the test authority's evidence verifies against its root only`, async () => {
    const result = await onNode20([hardware], { cwd: hardwareDir, env: baseEnv() });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ environment: 'development', counter: 0, pinnedRoot: 'untrusted_chain' });
  });

  it('the Node versions are the ones claimed: clients on the oldest supported, the service on the Lambda runtime major', async () => {
    expect((await runOk(node20, ['--version'], { cwd: sdkDir })).trim()).toBe(`v${OLDEST_CLIENT_NODE}`);
    expect((await runOk(node24, ['--version'], { cwd: sdkDir })).trim()).toMatch(/^v24\./);
    for (const name of ['@attestor/sdk', '@attestor/verify', '@attestor/contracts', '@attestor/hardware']) {
      expect(tarball(name).manifest['engines']).toEqual({ node: `>=${OLDEST_CLIENT_NODE.replace(/\.0$/, '')}` });
    }
  });
});
