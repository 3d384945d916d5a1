/**
 * The Lambda bundles, built by the function @attestor/cdk's build uses (buildFunction in
 * packages/cdk/scripts/build-functions.ts), so these are the bytes a deployment runs:
 * 1. size of each index.js: at most 60 KB;
 * 2. cold init: `require()` of the bundle in a fresh `node` process with the function's
 *    environment set and the network cut off (sockets, DNS and fetch throw): at most 100 ms,
 *    median of several processes. The AWS SDK is external, as in Lambda, and resolves through
 *    NODE_PATH (Lambda: /var/runtime/node_modules; here: this project's node_modules), so its load
 *    time is part of the figure; the detail shows how much of it the SDK alone takes.
 * Network calls attempted during the synchronous require fail the target; calls a function
 * starts in the background at init (the authorizer warms its key cache) are reported only.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { buildFunction } from '../packages/cdk/scripts/build-functions';
import { LAMBDAS, type LambdaName } from '../packages/contracts/src/routes';
import type { BenchResult } from './index';

/** The repository's node_modules: where the AWS SDK resolves from, as /var/runtime/node_modules does in Lambda. */
const NODE_MODULES = resolve(__dirname, '..', 'node_modules');
const MAX_BUNDLE_KB = 60;
const MAX_COLD_INIT_MS = 100;
/** Fresh processes per bundle; the median is reported, so one neighbour's burst does not decide. */
const RUNS = 7;

/** Plausible values for every variable each function's parser requires; nothing is contacted. */
const ENVIRONMENTS: Readonly<Record<LambdaName, Record<string, string>>> = (() => {
  const base = { NONCES_TABLE: 'bench-nonces', REGISTRY_TABLE: 'bench-registry' };
  const role = (name: string) => `arn:aws:iam::123456789012:role/bench-${name}`;
  const keys = { DECOY_KEY_ID: 'alias/attestor/decoy', TENANT_KEY_ALIAS_PREFIX: 'alias/attestor/tenant/' };
  // As lib/attestor-stack.ts names them on each key-creating function (the creator discards).
  const keyPolicy = (creator: string) => ({
    TENANT_KEY_SIGNER_ROLE_ARN: role('attest'),
    TENANT_KEY_VERIFIER_ROLE_ARNS: role('authorizer'),
    TENANT_KEY_ADMIN_ROLE_ARN: role(creator),
  });
  return {
    challenge: base,
    attest: { ...base, ATTESTATION_LOG_TABLE: 'bench-log', ATTESTOR_ISSUER: 'attestor', ATTESTOR_TOKEN_TTL_SECONDS: '300', DECOY_KEY_ID: 'alias/attestor/decoy', TENANT_KEY_ALIAS_PREFIX: 'alias/attestor/tenant/' },
    register: { ...base, ATTESTATION_LOG_TABLE: 'bench-log', BUILDS_BUCKET: 'bench-builds' },
    adminCatalog: { ...base, ATTESTATION_LOG_TABLE: 'bench-log' },
    adminKeys: { ...base, ...keys, ...keyPolicy('adminKeys') },
    adminUploads: { ...base, ...keys, BUILDS_BUCKET: 'bench-builds', ...keyPolicy('adminUploads') },
    authorizer: {
      ATTESTOR_ISSUER: 'attestor',
      AUTHORIZER_TENANT: 'default',
      AUTHORIZER_MODE: 'enforce',
      TOKEN_HEADER: 'Attestor-Token',
      REQUIRE_BINDING: 'false',
      LIMITED_USE: 'true',
      REQUIRE_PROOF: 'false',
      TOKEN_LEDGER_TABLE: 'bench-ledger',
      KEY_SOURCE: 'kms',
      REGISTRY_TABLE: 'bench-registry',
    },
    demoHello: {},
  };
})();

/**
 * Runs in each fresh process: cuts the network off, then times require() of the bundle (or of the
 * SDK packages alone, for the baseline). Prints one JSON line.
 */
const LOADER = `
const net = require('node:net'), tls = require('node:tls'), dns = require('node:dns');
let phase = 'init', during = 0, after = 0;
const attempt = (what) => { if (phase === 'init') during++; else after++; return new Error('network is off in this benchmark: ' + what); };
net.Socket.prototype.connect = function () { throw attempt('connect'); };
net.connect = net.createConnection = () => { throw attempt('net.connect'); };
tls.connect = () => { throw attempt('tls.connect'); };
dns.lookup = (host, options, callback) => { const cb = typeof options === 'function' ? options : callback; process.nextTick(() => cb(attempt('dns ' + host))); };
globalThis.fetch = async () => { throw attempt('fetch'); };
process.on('unhandledRejection', () => {});
const [mode, ...targets] = process.argv.slice(2);
const started = performance.now();
for (const target of targets) require(target);
const ms = performance.now() - started;
phase = 'after';
setTimeout(() => { process.stdout.write(JSON.stringify({ ms, during, after }) + '\\n'); process.exit(0); }, 200);
`;

interface LoadResult {
  readonly ms: number;
  readonly during: number;
  readonly after: number;
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

/** The external packages the bundle requires at load time (the SDK clients it uses). */
function externals(metafile: Metafile): string[] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined)!;
  return [...new Set(output.imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path))].sort();
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'attestor-bundles-bench-'));
  const results: BenchResult[] = [];
  try {
    const loader = join(dir, 'loader.cjs');
    writeFileSync(loader, LOADER);
    for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
      const outfile = join(dir, name, 'index.js');
      const metafile = await buildFunction(name, join(dir, name));
      const bytes = statSync(outfile).size;
      results.push({
        name: `${name}: bundle size`,
        value: kb(bytes),
        unit: 'KB',
        target: `<= ${MAX_BUNDLE_KB} KB`,
        pass: kb(bytes) <= MAX_BUNDLE_KB,
        detail: weights(metafile),
      });

      const sdk = externals(metafile);
      const env = ENVIRONMENTS[name];
      const bundleRuns: LoadResult[] = [];
      const sdkRuns: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        bundleRuns.push(await load(loader, [outfile], env));
        if (sdk.length > 0) sdkRuns.push((await load(loader, sdk, {})).ms);
      }
      const ms = median(bundleRuns.map((r) => r.ms));
      const during = Math.max(...bundleRuns.map((r) => r.during));
      const after = Math.max(...bundleRuns.map((r) => r.after));
      const sdkMs = sdkRuns.length > 0 ? median(sdkRuns) : 0;
      results.push({
        name: `${name}: cold init (require, no network)`,
        value: ms,
        unit: 'ms',
        target: `<= ${MAX_COLD_INIT_MS} ms, no network call`,
        pass: ms <= MAX_COLD_INIT_MS && during === 0,
        detail:
          `median of ${RUNS}, Node ${process.versions.node}; AWS SDK alone ${sdkMs.toFixed(1)} ms (${sdk.join(' ') || 'none'}); ` +
          `network calls during require: ${during}${after > 0 ? `, started in the background at init: ${after}` : ''}`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
