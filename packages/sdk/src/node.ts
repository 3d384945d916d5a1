/**
 * Node-only helpers of the SDK (`@attestor/sdk/node`; Node 20+, Electron main process): a
 * streaming package digest, file stores for the install key and the hardware key record, and the
 * Node signal provider. Kept apart from
 * ./index so the portable core never reaches a `node:` module.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import inspector from 'node:inspector';
import { arch, release, type as osType } from 'node:os';
import { dirname, resolve } from 'node:path';
import { canonicalRecord, isHardwareKeyRecord, type HardwareKeyRecord, type HardwareKeyStore } from './hardware';
import { isStoredInstallKey, type KeyStore, type StoredInstallKey } from './install-key';
import type { PackageSource } from './package-source';
import type { DeviceInfo, DeviceSignals, SignalProvider } from './signals';

/** Two buffers of this size: 2 MiB of memory, however large the package. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Digests by absolute path: a running app's package does not change, so it is hashed once per process. */
const fileDigests = new Map<string, Promise<Uint8Array>>();

/**
 * SHA-256 of a file read in chunks into two buffers in turn: the next chunk is read (on libuv's
 * thread pool) while this one is hashed, so reading and hashing overlap. Measured on a 100 MiB file:
 * about 65 ms, where a read stream took 125–140 ms and readFileSync then one hash 125 ms
 * (`npm run bench -- sdk`).
 */
async function hashFile(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffers = [Buffer.allocUnsafe(READ_CHUNK_BYTES), Buffer.allocUnsafe(READ_CHUNK_BYTES)] as const;
    let position = 0;
    let turn = 0;
    let reading = file.read(buffers[0], 0, READ_CHUNK_BYTES, 0);
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      const filled = buffers[turn]!;
      position += bytesRead;
      turn ^= 1;
      // Into the other buffer: `filled` is hashed (synchronously, copied into the hash) meanwhile.
      reading = file.read(buffers[turn]!, 0, READ_CHUNK_BYTES, position);
      hash.update(filled.subarray(0, bytesRead));
    }
    return new Uint8Array(hash.digest());
  } finally {
    await file.close();
  }
}

/**
 * A PackageSource over a file: SHA-256 computed by streaming, so memory stays flat however large
 * the package is (an Electron app.asar, a bundled executable). The digest is computed once per
 * process for each path and shared by every source and client over that path; a failed read is
 * not remembered.
 * @example
 * ```ts
 * import { app } from 'electron';
 * const packageSource = filePackageSource(path.join(process.resourcesPath, 'app.asar'));
 * ```
 */
export function filePackageSource(path: string): PackageSource {
  const absolute = resolve(path);
  return {
    digest: async () => {
      let pending = fileDigests.get(absolute);
      if (!pending) {
        const started = hashFile(absolute);
        pending = started;
        fileDigests.set(absolute, started);
        started.catch(() => {
          if (fileDigests.get(absolute) === started) fileDigests.delete(absolute);
        });
      }
      // A copy, so no caller can change the digest every other caller shares.
      return new Uint8Array(await pending);
    },
  };
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** A JSON file's value; undefined when the file is missing or not JSON. Other read errors (EACCES, EIO) are thrown. */
async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Replaces `path` with `text`, readable by the owner only: written to a temporary file in the same
 * directory, fsynced and renamed over the old one, so a crash leaves the old content or the new,
 * never half a file.
 */
async function writePrivateFile(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // 'wx': never follow or reuse a file someone else put at the temporary name.
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  // Make the rename itself durable; not every platform can fsync a directory, which is harmless.
  try {
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // best effort
  }
}

/**
 * A KeyStore in a JSON file, readable by the owner only (mode 0600). Writes go to a temporary
 * file in the same directory that is fsynced and renamed over the old one, so a crash mid-write
 * leaves either the old key or the new one, never half a file. A missing or corrupt file loads
 * as undefined (the client then makes a new key); other read errors, such as EACCES, are thrown
 * so a transient problem does not replace the install's identity.
 * @example
 * ```ts
 * const keyStore = fileKeyStore(path.join(app.getPath('userData'), 'attestor-install-key.json'));
 * ```
 */
export function fileKeyStore(path: string): KeyStore {
  return {
    async load(): Promise<StoredInstallKey | undefined> {
      const value = await readJsonFile(path);
      return isStoredInstallKey(value) ? value : undefined;
    },

    async save(key: StoredInstallKey): Promise<void> {
      const { kty, crv, x, y, d } = key;
      await writePrivateFile(path, `${JSON.stringify({ kty, crv, x, y, d })}\n`);
    },
  };
}

/**
 * A HardwareKeyStore in a JSON file, written like fileKeyStore's (mode 0600, temporary file, fsync,
 * rename). For an Electron app or a Node host that bridges a hardware provider; a missing or corrupt
 * file loads as undefined (the client then makes a new hardware key), other read errors are thrown
 * (the client then goes on with what it holds in memory).
 * @example
 * ```ts
 * const hardwareKeyStore = fileHardwareKeyStore(path.join(app.getPath('userData'), 'attestor-hardware-key.json'));
 * ```
 */
export function fileHardwareKeyStore(path: string): HardwareKeyStore {
  return {
    async load(): Promise<HardwareKeyRecord | undefined> {
      const value = await readJsonFile(path);
      return isHardwareKeyRecord(value) ? canonicalRecord(value) : undefined;
    },

    async save(record: HardwareKeyRecord): Promise<void> {
      await writePrivateFile(path, `${JSON.stringify(canonicalRecord(record))}\n`);
    },
  };
}

/**
 * One preloaded module found on the command line or in NODE_OPTIONS.
 * @example
 * ```ts
 * const preload: NodePreload = { flag: '--require', specifier: '/opt/hook.js', source: 'NODE_OPTIONS' };
 * ```
 */
export interface NodePreload {
  /** `--require`, `-r`, `--import`, `--loader` or `--experimental-loader`. */
  readonly flag: string;
  /** The module as given (a path, a package name or a file: URL). */
  readonly specifier: string;
  readonly source: 'execArgv' | 'NODE_OPTIONS';
}

/**
 * What the Node provider observed, for logs and support (no secrets: flags and module paths only).
 * @example
 * ```ts
 * const { inspectorUrl, inspectFlags, preloads } = inspectNodeRuntime();
 * ```
 */
export interface NodeRuntimeFindings {
  /** The inspector's WebSocket URL when it is open (started by a flag, SIGUSR1 or inspector.open()). */
  readonly inspectorUrl: string | undefined;
  /** `--inspect`-style flags in execArgv or NODE_OPTIONS (and, in Electron, argv, including `--remote-debugging-port`). */
  readonly inspectFlags: readonly string[];
  /** Every preloaded module, allowed or not. */
  readonly preloads: readonly NodePreload[];
}

/**
 * Where the provider looks; defaults to the running process. Tests and tools pass their own.
 * @example
 * ```ts
 * inspectNodeRuntime({ execArgv: ['--require', './hook.js'], nodeOptions: '', argv: [], electron: false, inspectorUrl: undefined });
 * ```
 */
export interface NodeRuntime {
  readonly execArgv: readonly string[];
  readonly nodeOptions: string | undefined;
  readonly argv: readonly string[];
  /** Whether this is Electron, where Chromium and Node switches arrive in argv. */
  readonly electron: boolean;
  readonly inspectorUrl: string | undefined;
}

function currentRuntime(): NodeRuntime {
  return {
    execArgv: process.execArgv,
    nodeOptions: process.env['NODE_OPTIONS'],
    argv: process.argv,
    electron: typeof process.versions['electron'] === 'string',
    inspectorUrl: inspector.url(),
  };
}

const PRELOAD_FLAGS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);
const INSPECT_FLAG = /^--inspect(-brk|-wait)?(=|$)/;
const ELECTRON_DEBUG_FLAG = /^(--inspect(-brk)?|--remote-debugging-port|--remote-debugging-pipe)(=|$)/;

/**
 * Splits NODE_OPTIONS as Node does: on white space, with double quotes grouping and a backslash
 * escaping the next character inside them.
 * @example
 * ```ts
 * splitNodeOptions('--require "/opt/my hooks/a.js" --max-old-space-size=4096'); // ['--require', '/opt/my hooks/a.js', '--max-old-space-size=4096']
 * ```
 */
export function splitNodeOptions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let inQuotes = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuotes) {
      if (c === '\\' && i + 1 < text.length) current += text[++i];
      else if (c === '"') inQuotes = false;
      else current += c;
    } else if (c === '"') {
      inQuotes = true;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

function scanFlags(args: readonly string[], source: NodePreload['source']): { preloads: NodePreload[]; inspect: string[] } {
  const preloads: NodePreload[] = [];
  const inspect: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (INSPECT_FLAG.test(arg)) inspect.push(arg);
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!PRELOAD_FLAGS.has(flag)) continue;
    const specifier = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (specifier !== undefined) preloads.push({ flag, specifier, source });
  }
  return { preloads, inspect };
}

/**
 * Reads the debugger and preload evidence of a Node (or Electron main) process.
 * @example
 * ```ts
 * const findings = inspectNodeRuntime();
 * if (findings.preloads.length > 0) log.warn('preloaded modules', findings.preloads);
 * ```
 */
export function inspectNodeRuntime(runtime: NodeRuntime = currentRuntime()): NodeRuntimeFindings {
  const fromArgv = scanFlags(runtime.execArgv, 'execArgv');
  const fromEnv = scanFlags(splitNodeOptions(runtime.nodeOptions ?? ''), 'NODE_OPTIONS');
  const electronFlags = runtime.electron ? runtime.argv.filter((a) => ELECTRON_DEBUG_FLAG.test(a)) : [];
  return {
    inspectorUrl: runtime.inspectorUrl,
    inspectFlags: [...fromArgv.inspect, ...fromEnv.inspect, ...electronFlags],
    preloads: [...fromArgv.preloads, ...fromEnv.preloads],
  };
}

/**
 * Preloads that tsx (the TypeScript runner behind `npm start` and the local tools) adds to every
 * process it starts. For development only: pass it to nodeSignalProvider's `allowPreloads` to run
 * an app under tsx without reporting `hooked`; never in a release build.
 * @example
 * ```ts
 * const signals = nodeSignalProvider({ allowPreloads: process.env.NODE_ENV === 'development' ? [TSX_PRELOADS] : [] });
 * ```
 */
export const TSX_PRELOADS = /^(file:\/\/\/?)?([A-Za-z]:)?[\\/].*[\\/]node_modules[\\/]tsx[\\/]dist[\\/](preflight\.cjs|loader\.mjs)$/;

/**
 * Options of nodeSignalProvider.
 * @example
 * ```ts
 * const options: NodeSignalOptions = { allowPreloads: ['/opt/app/apm-agent.js'] };
 * ```
 */
export interface NodeSignalOptions {
  /**
   * Preloaded modules that do not count as hooks: a string matches a specifier exactly, a RegExp
   * tests it. Use it for an APM agent you ship yourself, or TSX_PRELOADS in development.
   * @default none: every preload reports `hooked`
   */
  readonly allowPreloads?: readonly (string | RegExp)[];
  /** Where to look. @default the running process, read afresh on each attestation */
  readonly runtime?: () => NodeRuntime;
}

/**
 * The signal provider for Node and the Electron main process. Each attestation it reports:
 * - `debugger`: the inspector is open (`inspector.url()`; catches `--inspect`, SIGUSR1 and
 *   `inspector.open()`), or an `--inspect`/`--inspect-brk`/`--inspect-wait` flag is present in
 *   execArgv or NODE_OPTIONS (in Electron also argv, with `--remote-debugging-port`);
 * - `hooked`: a module is preloaded with `--require`/`-r`, `--import`, `--loader` or
 *   `--experimental-loader` in execArgv or NODE_OPTIONS, unless `allowPreloads` lets it pass.
 *
 * `rooted` and `emulator` are left to other providers. Under tsx every process has two preloads,
 * so `hooked` is true unless TSX_PRELOADS is allowed: that is the honest answer, since tsx
 * rewrites every module the app loads.
 * @example
 * ```ts
 * const attestor = new AttestorClient({ ...options, signals: nodeSignalProvider() });
 * ```
 */
export function nodeSignalProvider(options: NodeSignalOptions = {}): SignalProvider {
  const allowed = options.allowPreloads ?? [];
  const isAllowed = (specifier: string) => allowed.some((rule) => (typeof rule === 'string' ? rule === specifier : rule.test(specifier)));
  const runtime = options.runtime ?? currentRuntime;
  return {
    signals: async (): Promise<Partial<DeviceSignals>> => {
      const findings = inspectNodeRuntime(runtime());
      return {
        debugger: findings.inspectorUrl !== undefined || findings.inspectFlags.length > 0,
        hooked: findings.preloads.some((p) => !isAllowed(p.specifier)),
      };
    },
  };
}

/**
 * DeviceInfo of this Node or Electron process for the `device` option, so the attestation log
 * tells desktop installs apart: platform `node` or `electron`, the OS and its release, the CPU
 * architecture.
 * @example
 * ```ts
 * const attestor = new AttestorClient({ ...options, device: nodeDeviceInfo() });
 * // device: { platform: 'electron', osVersion: 'Darwin 23.4.0', model: 'arm64' }
 * ```
 */
export function nodeDeviceInfo(): DeviceInfo {
  return {
    platform: typeof process.versions['electron'] === 'string' ? 'electron' : 'node',
    osVersion: `${osType()} ${release()}`,
    model: arch(),
  };
}
