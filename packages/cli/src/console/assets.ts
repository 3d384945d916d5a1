/**
 * What the console's page is made of: its HTML and CSS (page.ts), its modules (web/, compiled into
 * dist/console/web as ES modules, since web/package.json says "module"), and uPlot from
 * node_modules. Nothing comes from a CDN (the operator's machine may be offline, and a CDN would
 * be code from elsewhere running with the operator's credential). Everything is read once, at
 * start, and served from memory under a fixed list of names, so no request names a file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../errors';
import { CONSOLE_CSS } from './page';

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Loads every asset; `webDir` is where the page's modules are (tests point it elsewhere). */
export function loadAssets(webDir = join(__dirname, 'web')): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  assets.set('console.css', { contentType: CSS, body: Buffer.from(CONSOLE_CSS) });
  assets.set('uplot.js', { contentType: JS, body: readFileSync(vendorFile('uplot/dist/uPlot.iife.min.js')) });
  assets.set('uplot.css', { contentType: CSS, body: readFileSync(vendorFile('uplot/dist/uPlot.min.css')) });
  for (const [name, body] of webModules(webDir)) assets.set(name, { contentType: JS, body });
  return assets;
}

function vendorFile(request: string): string {
  try {
    return require.resolve(request);
  } catch {
    throw new CliError(`cannot find ${request.split('/')[0]}, a dependency of @attestor/cli: install the CLI again (npm install @attestor/cli)`);
  }
}

/**
 * The page's modules: the compiled .js of an installed CLI, or, run from the repository's sources
 * (tests, tsx), the .ts transpiled here, so the page always matches the code beside it.
 */
function webModules(webDir: string): Map<string, Buffer> {
  const files = readdirSync(webDir);
  const modules = new Map<string, Buffer>();
  const compiled = files.filter((f) => /^[a-z-]+\.js$/.test(f));
  if (compiled.length > 0) {
    for (const f of compiled) modules.set(f, readFileSync(join(webDir, f)));
    return modules;
  }
  const sources = files.filter((f) => /^[a-z-]+\.ts$/.test(f));
  if (sources.length === 0) throw new CliError(`no console page modules in ${webDir}: build the CLI again (npm run build)`);
  /* eslint-disable-next-line @typescript-eslint/no-require-imports */
  const ts = require('typescript') as typeof import('typescript');
  for (const f of sources) {
    const output = ts.transpileModule(readFileSync(join(webDir, f), 'utf8'), {
      fileName: f,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, isolatedModules: true },
    });
    modules.set(f.replace(/\.ts$/, '.js'), Buffer.from(output.outputText));
  }
  return modules;
}
