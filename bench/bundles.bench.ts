/**
 * The Lambda bundles, built by the function @attestor/cdk's build uses (buildFunction in
 * packages/cdk/scripts/build-functions.ts), so these are the bytes a deployment runs:
 * 1. size of each index.js: at most 100 KB, attest's 190 KB (room for hardware evidence). Both were
 *    40 KB lower (60 and 150) before every function logged and counted through Powertools for AWS
 *    Lambda: its Logger, Metrics and their commons add about 37 KB to each bundle (measured: demoHello
 *    5.1 -> 41.8 KB, revocationList 8.2 -> 44.7 KB, challenge 35.8 -> 72.6 KB; the two alone, minified:
 *    33.8 KB and about 10 ms to require, median of 7). The rest is each function's own code and
 *    valibot's request schemas: the build marks schema calls pure (build-functions.ts
 *    pureSchemaCalls), so a function keeps only the schemas its routes use (zod/mini, used before,
 *    put 27 KB into every function that validates input). A function whose cold init misses 100 ms
 *    is one whose AWS SDK clients alone take about that long here: the detail names the clients it
 *    requires while loading and times them alone (DynamoDB's 60 to 80 ms, S3's another 25 to 37);
 * 2. cold init: `require()` of the bundle in a fresh `node` process with the function's
 *    environment set and the network cut off (sockets, DNS and fetch throw): at most 100 ms,
 *    median of several processes. The AWS SDK is external, as in Lambda, and resolves through
 *    NODE_PATH (Lambda: /var/runtime/node_modules; here: this project's node_modules), so its load
 *    time is part of the figure; the detail shows how much of it the SDK alone takes.
 * 3. a function's lazy modules (build-functions.ts LAZY_MODULES: attest's hardware verifier), which
 *    index.js loads on the first request that needs them: size (at most 200 KB), and the time of that
 *    first require after index.js, at most 100 ms. The detail compares the alternative, the verifier
 *    bundled into index.js (size and cold init), which is why it is split off.
 * Network calls attempted during the synchronous require fail the target; calls a function
 * starts in the background at init (the authorizer warms its key cache) are reported only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { buildFunction, type BuiltFunction } from '../packages/cdk/scripts/build-functions';
import {
  ADMIN_CATALOG_CONFIG,
  ADMIN_KEYS_CONFIG,
  ADMIN_UPLOADS_CONFIG,
  ATTEST_CONFIG,
  AUTHORIZER_CONFIG,
  CHALLENGE_CONFIG,
  CONFIG_DEFAULTS,
  DEMO_HELLO_CONFIG,
  REGISTER_CONFIG,
  REVOCATION_LIST_CONFIG,
} from '../packages/contracts/src/config';
import { LAMBDAS, type LambdaName } from '../packages/contracts/src/routes';
import type { BenchResult } from './index';

/** The repository's node_modules: where the AWS SDK resolves from, as /var/runtime/node_modules does in Lambda. */
const NODE_MODULES = resolve(__dirname, '..', 'node_modules');
/** 60 KB of the function's own code and libraries, and 40 KB for Powertools' Logger and Metrics. */
const MAX_BUNDLE_KB = 100;
/** Per function where it differs: attest verifies hardware evidence (150 KB, and Powertools' 40). */
const BUNDLE_TARGET_KB: Readonly<Partial<Record<LambdaName, number>>> = { attest: 190 };
const MAX_LAZY_MODULE_KB = 200;
const MAX_COLD_INIT_MS = 100;
/** Fresh processes per bundle; the median is reported, so one neighbour's burst does not decide. */
const RUNS = 7;

/**
 * Plausible settings for each function, written by its own record (@attestor/contracts/config) as the
 * CDK stack writes them, so the bundle reads at cold start what it would in AWS; nothing is contacted.
 */
const ENVIRONMENTS: Readonly<Record<LambdaName, Record<string, string>>> = (() => {
  const role = (name: string) => `arn:aws:iam::123456789012:role/bench-${name}`;
  const keys = { decoyKeyId: CONFIG_DEFAULTS.decoyKeyId, tenantKeyAliasPrefix: CONFIG_DEFAULTS.tenantKeyAliasPrefix };
  const admin = { registryTable: 'bench-registry', defaultTenantId: CONFIG_DEFAULTS.defaultTenantId };
  // As the stack names them on each key-creating function (the creator discards).
  const keyPolicy = (creator: string) => ({ signerRoleArn: role('attest'), verifierRoleArns: [role('authorizer')], adminRoleArn: role(creator) });
  return {
    challenge: CHALLENGE_CONFIG.toEnv({ noncesTable: 'bench-nonces' }),
    attest: ATTEST_CONFIG.toEnv({
      noncesTable: 'bench-nonces',
      registryTable: 'bench-registry',
      attestationLogTable: 'bench-log',
      issuer: CONFIG_DEFAULTS.issuer,
      tokenTtlSeconds: CONFIG_DEFAULTS.tokenTtlSeconds,
      defaultTenantId: CONFIG_DEFAULTS.defaultTenantId,
      ...keys,
      hardwareDevicesTable: 'bench-hardware-devices',
      revocationList: { bucket: 'bench-builds' },
    }),
    register: REGISTER_CONFIG.toEnv({
      registryTable: 'bench-registry',
      attestationLogTable: 'bench-log',
      buildsBucket: 'bench-builds',
      maxBuildBytes: CONFIG_DEFAULTS.maxBuildBytes,
      defaultTenantId: CONFIG_DEFAULTS.defaultTenantId,
    }),
    adminCatalog: ADMIN_CATALOG_CONFIG.toEnv({ ...admin, attestationLogTable: 'bench-log' }),
    adminKeys: ADMIN_KEYS_CONFIG.toEnv({
      ...admin,
      ...keys,
      tenantKeyPolicyRoles: keyPolicy('adminKeys'),
      attestationLogTable: 'bench-log',
      issuer: CONFIG_DEFAULTS.issuer,
    }),
    adminUploads: ADMIN_UPLOADS_CONFIG.toEnv({
      ...admin,
      ...keys,
      tenantKeyPolicyRoles: keyPolicy('adminUploads'),
      buildsBucket: 'bench-builds',
      maxBuildBytes: CONFIG_DEFAULTS.maxBuildBytes,
      registerFailures: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/bench-failures', registerFunction: 'bench-register' },
    }),
    authorizer: AUTHORIZER_CONFIG.toEnv({
      issuer: CONFIG_DEFAULTS.issuer,
      tenantId: CONFIG_DEFAULTS.defaultTenantId,
      mode: 'enforce',
      tokenHeader: CONFIG_DEFAULTS.tokenHeader,
      requireBinding: false,
      limitedUse: true,
      requireProof: false,
      tokenLedgerTable: 'bench-ledger',
      keySource: { kind: 'kms', registryTable: 'bench-registry', ...keys },
      cacheSeconds: 0,
    }),
    demoHello: DEMO_HELLO_CONFIG.toEnv({}),
    revocationList: REVOCATION_LIST_CONFIG.toEnv({ bucket: 'bench-builds', url: CONFIG_DEFAULTS.attestationStatusUrl }),
  };
})();

/**
 * Runs in each fresh process: cuts the network off, then times require() of the bundle (or of the
 * SDK packages alone, for the baseline), noting the external packages required while it loads.
 * Prints one JSON line.
 */
const LOADER = `
const net = require('node:net'), tls = require('node:tls'), dns = require('node:dns'), Module = require('node:module');
const external = new Set();
const loadModule = Module._load;
Module._load = function (request, parent, isMain) {
  if (phase === 'init' && /^@(aws-sdk|smithy|aws-crypto)\\//.test(request) && targets.includes(parent && parent.filename)) external.add(request);
  return loadModule.call(this, request, parent, isMain);
};
let phase = 'init', during = 0, after = 0;
const attempt = (what) => { if (phase === 'init') during++; else after++; return new Error('network is off in this benchmark: ' + what); };
net.Socket.prototype.connect = function () { throw attempt('connect'); };
net.connect = net.createConnection = () => { throw attempt('net.connect'); };
tls.connect = () => { throw attempt('tls.connect'); };
dns.lookup = (host, options, callback) => {
  const cb = typeof options === 'function' ? options : callback;
  process.nextTick(() => cb(attempt('dns ' + host)));
};
globalThis.fetch = async () => { throw attempt('fetch'); };
process.on('unhandledRejection', () => {});
const [mode, ...targets] = process.argv.slice(2);
const each = [];
for (const target of targets) { const started = performance.now(); require(target); each.push(performance.now() - started); }
const ms = each.reduce((a, b) => a + b, 0);
phase = 'after';
setTimeout(() => { process.stdout.write(JSON.stringify({ ms, each, during, after, external: [...external].sort() }) + '\\n'); process.exit(0); }, 200);
`;

interface LoadResult {
  readonly ms: number;
  /** Per target, in order. */
  readonly each: number[];
  readonly during: number;
  readonly after: number;
  /** The AWS SDK packages the targets required while loading (not those they load later, on demand). */
  readonly external: string[];
}

function load(loader: string, targets: readonly string[], env: Record<string, string>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [loader, 'load', ...targets],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          NODE_PATH: NODE_MODULES,
          AWS_REGION: 'eu-west-1',
          // Static credentials, so that no credential provider looks for the instance metadata service.
          AWS_ACCESS_KEY_ID: 'AKIABENCHMARK0000000',
          AWS_SECRET_ACCESS_KEY: 'bench',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          NODE_OPTIONS: '--enable-source-maps',
          ...env,
        },
        maxBuffer: 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`loading ${targets.join(' ')} failed: ${stderr || error.message}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
      },
    );
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const kb = (bytes: number) => bytes / 1024;

/** Bytes in the output per package (node_modules/<pkg>) or `src`, largest first. */
function weights(metafile: Metafile): string {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = match ? match[1]! : input.replace(/\/[^/]+$/, '');
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([name, bytes]) => `${name} ${kb(bytes).toFixed(1)} KB`)
    .join(', ');
}

interface ColdInit {
  /** Median time of the targets together. */
  readonly ms: number;
  /** Median time of the last target alone, required after the others. */
  readonly lastMs: number;
  readonly sdkMs: number;
  /** Median time of the targets required after the SDK packages were: the function's own share. */
  readonly ownMs: number;
  /** What the baseline loads: the SDK packages the targets required while loading. */
  readonly sdk: readonly string[];
  readonly during: number;
  readonly after: number;
}

/**
 * RUNS fresh processes requiring `targets` in order, and alternately the SDK packages they required
 * while loading, alone (a client a function loads on demand, like adminUploads' KMS, is not in it),
 * and those packages followed by the targets, which times what the targets add to the SDK's load.
 */
async function coldInit(loader: string, targets: readonly string[], env: Record<string, string>, baseline = true): Promise<ColdInit> {
  const runs: LoadResult[] = [];
  const sdkRuns: number[] = [];
  const ownRuns: number[] = [];
  let sdk: readonly string[] = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await load(loader, targets, env));
    sdk = runs[0]!.external;
    if (baseline && sdk.length > 0) {
      sdkRuns.push((await load(loader, sdk, {})).ms);
      const afterSdk = await load(loader, [...sdk, ...targets], env);
      ownRuns.push(afterSdk.each.slice(sdk.length).reduce((a, b) => a + b, 0));
    }
  }
  return {
    ms: median(runs.map((r) => r.ms)),
    lastMs: median(runs.map((r) => r.each[r.each.length - 1] ?? 0)),
    sdkMs: sdkRuns.length > 0 ? median(sdkRuns) : 0,
    ownMs: ownRuns.length > 0 ? median(ownRuns) : median(runs.map((r) => r.ms)),
    sdk,
    during: Math.max(...runs.map((r) => r.during)),
    after: Math.max(...runs.map((r) => r.after)),
  };
}

/**
 * A function's lazy modules: size, and the first require after index.js. The detail measures the
 * alternative, the same module bundled into index.js, so the split can be judged by its numbers.
 */
async function lazyModuleResults(name: LambdaName, built: BuiltFunction, dir: string, loader: string, env: Record<string, string>): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const lazy of built.lazy) {
    const file = join(dir, name, lazy.file);
    const bytes = statSync(file).size;
    const split = await coldInit(loader, [join(dir, name, 'index.js'), file], env, false);
    const inlineDir = join(dir, `${name}-inline`);
    await buildFunction(name, inlineDir, { inlineLazy: true });
    const inlineBytes = statSync(join(inlineDir, 'index.js')).size;
    const inline = await coldInit(loader, [join(inlineDir, 'index.js')], env, false);
    const compared = `bundled into index.js instead: ${kb(inlineBytes).toFixed(1)} KB, cold init ${inline.ms.toFixed(1)} ms`;
    results.push({
      name: `${name}: ${lazy.file} size (loaded with the first request that needs it)`,
      value: kb(bytes),
      unit: 'KB',
      target: `<= ${MAX_LAZY_MODULE_KB} KB`,
      pass: kb(bytes) <= MAX_LAZY_MODULE_KB,
      detail: `${weights(lazy.metafile)}; ${compared}`,
    });
    results.push({
      name: `${name}: first load of ${lazy.file} after index.js (require, no network)`,
      value: split.lastMs,
      unit: 'ms',
      target: `<= ${MAX_COLD_INIT_MS} ms, no network call`,
      pass: split.lastMs <= MAX_COLD_INIT_MS && split.during === 0,
      detail: `median of ${RUNS}; index.js and ${lazy.file} together ${split.ms.toFixed(1)} ms; ${compared}`,
    });
  }
  return results;
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'attestor-bundles-bench-'));
  const results: BenchResult[] = [];
  try {
    const loader = join(dir, 'loader.cjs');
    writeFileSync(loader, LOADER);
    for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
      const outfile = join(dir, name, 'index.js');
      const built = await buildFunction(name, join(dir, name));
      const { metafile } = built;
      const bytes = statSync(outfile).size;
      const maxKb = BUNDLE_TARGET_KB[name] ?? MAX_BUNDLE_KB;
      results.push({
        name: `${name}: bundle size`,
        value: kb(bytes),
        unit: 'KB',
        target: `<= ${maxKb} KB`,
        pass: kb(bytes) <= maxKb,
        detail: weights(metafile),
      });

      const env = ENVIRONMENTS[name];
      const bundle = await coldInit(loader, [outfile], env);
      results.push({
        name: `${name}: cold init (require, no network)`,
        value: bundle.ms,
        unit: 'ms',
        target: `<= ${MAX_COLD_INIT_MS} ms, no network call`,
        pass: bundle.ms <= MAX_COLD_INIT_MS && bundle.during === 0,
        detail:
          `median of ${RUNS}, Node ${process.versions.node}; AWS SDK alone ${bundle.sdkMs.toFixed(1)} ms (${bundle.sdk.join(' ') || 'none'}), ` +
          `the function's own code after it ${bundle.ownMs.toFixed(1)} ms; ` +
          `network calls during require: ${bundle.during}${bundle.after > 0 ? `, started in the background at init: ${bundle.after}` : ''}`,
      });
      results.push(...(await lazyModuleResults(name, built, dir, loader, env)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
