/**
 * Builds the Lambda code @attestor/cdk deploys: one esbuild bundle per function of LAMBDAS, from
 * @attestor/service's entry modules, into functions/<name>/index.js. The package ships these
 * bundles, so a customer's `cdk synth` needs neither esbuild nor Docker nor this repository, and
 * every deployment of one version runs the same bytes. bench/bundles.bench.ts measures bundles
 * built by this very function.
 *
 * The AWS SDK v3 (and the Smithy and AWS crypto packages it is built on) ship with the Lambda
 * Node.js runtime, so they stay external: a bundle holds only our code and the few packages it
 * needs (valibot, Powertools' Logger and Metrics), which keeps its cold start short
 * (bench/bundles.bench.ts states each function's size target and measures it).
 *
 * A module a function needs only for some requests (LAZY_MODULES) is bundled into a file of its own
 * beside index.js, and the entry's `require()` of it resolves to that file at run time: attest's
 * hardware verifier (about 180 KB of ASN.1 parsers) loads on the first request with evidence, not at
 * cold start (bench/bundles.bench.ts measures both ways).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import ts from 'typescript';
import { FUNCTION_NODE_MAJOR, LAMBDAS, type LambdaName } from '@attestor/contracts/routes';

/** Where the bundles go: functions/<name>/ beside src/ and dist/, which ServiceFunction reads. */
export const FUNCTIONS_DIR = resolve(__dirname, '..', 'functions');

/** The entry module of a function, from the service package's sources. */
function entryOf(name: LambdaName): string {
  const servicePackage = dirname(require.resolve('@attestor/service/package.json'));
  return join(servicePackage, 'src', 'lambdas', `${LAMBDAS[name].entry}.ts`);
}

/** A module of @attestor/service (path under src/, without extension) that a function loads on demand, and the file it becomes. */
export interface LazyModule {
  readonly module: string;
  readonly file: string;
}

export const LAZY_MODULES: Readonly<Partial<Record<LambdaName, readonly LazyModule[]>>> = {
  attest: [{ module: 'core/hardware/verifier', file: 'hardware-verifier.js' }],
};

export interface BuiltFunction {
  /** esbuild's metafile of index.js. */
  readonly metafile: Metafile;
  /** The function's lazy modules, each with its metafile. */
  readonly lazy: ReadonlyArray<LazyModule & { readonly metafile: Metafile }>;
}

function serviceSource(module: string): string {
  return join(dirname(require.resolve('@attestor/service/package.json')), 'src', module);
}

/** Resolves `require()`s of the lazy modules to their own files, left for Node to load at run time. */
function lazyModules(modules: readonly LazyModule[]): Plugin {
  const byPath = new Map(modules.map((m) => [serviceSource(m.module), m.file]));
  return {
    name: 'attestor-lazy-modules',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        const file = byPath.get(resolve(args.resolveDir, args.path).replace(/\.(ts|js)$/, ''));
        return file === undefined ? undefined : { path: `./${file}`, external: true };
      });
    },
  };
}

/** The schema modules: @attestor/contracts' sources that import valibot. */
function schemaModules(): Map<string, string> {
  const dir = join(dirname(require.resolve('@attestor/contracts/package.json')), 'src');
  const modules = new Map<string, string>();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.ts')) continue;
    const source = readFileSync(join(dir, file), 'utf8');
    if (source.includes(VALIBOT_IMPORT)) modules.set(join(dir, file), source);
  }
  return modules;
}
const VALIBOT_IMPORT = "import * as v from 'valibot';";

/**
 * Marks calls pure in the schema modules, so that a bundle keeps only the schemas its function
 * uses. Valibot declares all of its functions free of side effects (`@__NO_SIDE_EFFECTS__`), and so
 * do the schema modules their helpers (object, typeError, b64uBytes...), but esbuild honours that
 * only for calls in the file that declares the function: without this, every schema of a module a
 * function imports stays in its bundle (the attest request's in every admin function). Marking a
 * call pure only lets the bundler drop it when its result is unused. The calls are found by
 * TypeScript's parser, so text in strings, comments and patterns is never touched.
 */
export function pureSchemaCalls(): Plugin {
  const modules = schemaModules();
  const helpers = new Set<string>();
  for (const source of modules.values()) {
    for (const m of source.matchAll(/\/\* @__NO_SIDE_EFFECTS__ \*\/\s*(?:export )?(?:const|function) ([A-Za-z_$][\w$]*)/g)) helpers.add(m[1]!);
  }
  return {
    name: 'attestor-pure-schema-calls',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const source = modules.get(args.path);
        return source === undefined ? undefined : { contents: markPureCalls(args.path, source, helpers), loader: 'ts' };
      });
    },
  };
}

/** `source` with `/* @__PURE__ *\/` before every call of a valibot function (`v.name(...)`) or of one of `helpers`. */
export function markPureCalls(file: string, source: string, helpers: ReadonlySet<string>): string {
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const starts: number[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isValibot = ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'v';
      if (isValibot || (ts.isIdentifier(callee) && helpers.has(callee.text))) starts.push(node.getStart(tree));
    }
    ts.forEachChild(node, visit);
  };
  visit(tree);
  let marked = source;
  for (const at of [...new Set(starts)].sort((x, y) => y - x)) marked = `${marked.slice(0, at)}/* @__PURE__ */ ${marked.slice(at)}`;
  return marked;
}

const COMMON: BuildOptions = {
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
  conditions: ['@attestor/source', 'module'],
  external: ['@aws-sdk/*', '@smithy/*', '@aws-crypto/*'],
  metafile: true,
  logLevel: 'error',
};

/**
 * Bundles one function into `outdir`/index.js (with a source map without sources), and each of its
 * lazy modules into its own file there. `inlineLazy` bundles them into index.js instead (for the
 * benchmark's comparison only; deployments never do).
 */
export async function buildFunction(name: LambdaName, outdir: string, options: { readonly inlineLazy?: boolean } = {}): Promise<BuiltFunction> {
  const modules = options.inlineLazy ? [] : (LAZY_MODULES[name] ?? []);
  const { metafile } = await build({
    ...COMMON,
    entryPoints: [entryOf(name)],
    outfile: join(outdir, 'index.js'),
    plugins: [lazyModules(modules), pureSchemaCalls()],
  });
  const lazy = [];
  for (const module of modules) {
    const built = await build({
      ...COMMON,
      entryPoints: [`${serviceSource(module.module)}.ts`],
      outfile: join(outdir, module.file),
      plugins: [pureSchemaCalls()],
    });
    lazy.push({ ...module, metafile: built.metafile! });
  }
  return { metafile: metafile!, lazy };
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
