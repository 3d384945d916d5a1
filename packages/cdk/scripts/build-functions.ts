/**
 * Builds the Lambda code @attestor/cdk deploys: one esbuild bundle per function of LAMBDAS, from
 * @attestor/service's entry modules, into functions/<name>/index.js. The package ships these
 * bundles, so a customer's `cdk synth` needs neither esbuild nor Docker nor this repository, and
 * every deployment of one version runs the same bytes. bench/bundles.bench.ts measures bundles
 * built by this very function.
 *
 * The AWS SDK v3 (and the Smithy and AWS crypto packages it is built on) ship with the Lambda
 * Node.js runtime, so they stay external: a bundle holds only our code and the few packages it
 * needs (zod/mini), which keeps it under 60 KB and its cold start short.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { FUNCTION_NODE_MAJOR, LAMBDAS, type LambdaName } from '@attestor/contracts/routes';

/** Where the bundles go: functions/<name>/ beside src/ and dist/, which ServiceFunction reads. */
export const FUNCTIONS_DIR = resolve(__dirname, '..', 'functions');

/** The entry module of a function, from the service package's sources. */
function entryOf(name: LambdaName): string {
  const servicePackage = dirname(require.resolve('@attestor/service/package.json'));
  return join(servicePackage, 'src', 'lambdas', `${LAMBDAS[name].entry}.ts`);
}

/** Bundles one function into `outdir`/index.js (with a source map without sources); returns esbuild's metafile. */
export async function buildFunction(name: LambdaName, outdir: string): Promise<Metafile> {
  const { metafile } = await build({
    entryPoints: [entryOf(name)],
    outfile: join(outdir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // The Lambda runtime (FUNCTION_RUNTIME in src/service-function.ts).
    target: `node${FUNCTION_NODE_MAJOR}`,
    minify: true,
    // Stack traces map back to files and lines; the sources themselves stay out of the asset.
    sourcemap: true,
    sourcesContent: false,
    // Prefer packages' ESM builds: they tree-shake, where CJS builds are bundled whole.
    mainFields: ['module', 'main'],
    // The packages' TypeScript sources, as everywhere in this repository (their "@attestor/source" export).
    conditions: ['@attestor/source'],
    external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'],
    metafile: true,
    logLevel: 'error',
  });
  return metafile;
}

async function main(): Promise<void> {
  rmSync(FUNCTIONS_DIR, { recursive: true, force: true });
  for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
    const outdir = join(FUNCTIONS_DIR, name);
    mkdirSync(outdir, { recursive: true });
    await buildFunction(name, outdir);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
