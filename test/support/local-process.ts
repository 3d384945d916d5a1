/**
 * `npm start` as real processes, for tests of what only a process shows: its output, its exit, a
 * port or a data directory held by another process, a kill. Each runs packages/local/src/start.ts
 * through tsx with the sources' export condition, exactly what `npm start` runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { run, type CliContext } from '../../packages/cli/src/main';

const ROOT = resolve(__dirname, '..', '..');
const START = [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), '--conditions=@attestor/source', join(ROOT, 'packages', 'local', 'src', 'start.ts')];

/** Only what a user's shell would pass: no ATTESTOR_* of the test's own environment. */
const cleanEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'], HOME: process.env['HOME'], TMPDIR: process.env['TMPDIR'], ...env });

export interface RunningService {
  readonly child: ChildProcess;
  readonly endpoint: string;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the output once it matches, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Ctrl-C's signal; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `npm start` in `cwd` and resolves once it printed its ready line; rejects with its output if it exits first. */
export function startService(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunningService> {
  const child = spawn(process.execPath, START, { cwd, env: cleanEnv({ PORT: '0', ...env }) });
  let out = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const waitFor = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolveWait, reject) => {
      const check = () => {
        if (pattern.test(out)) {
          done();
          resolveWait(out);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} in ${timeoutMs} ms; output:\n${out}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      void exited.then(() => {
        if (listeners.has(check)) {
          done();
          reject(new Error(`exited before printing ${pattern}; output:\n${out}`));
        }
      });
      check();
    });
  return waitFor(/Attestor ready on (http:\/\/\S+) /).then((text) => ({
    child,
    endpoint: /Attestor ready on (http:\/\/\S+) /.exec(text)![1]!,
    output: () => out,
    waitFor,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  }));
}

/** Runs `npm start` expecting it to refuse: resolves with its exit code and output. */
export function refusedStart(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, START, { cwd, env: cleanEnv({ PORT: '0', ...env }), timeout: 30_000 }, (error, stdout, stderr) =>
      resolveRun({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** Collects what the CLI writes. */
class Lines {
  text = '';
  readonly isTTY = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** The CLI, in this process, as a user runs it in `cwd` with nothing but `env` set. */
export async function attestor(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Lines();
  const stderr = new Lines();
  const ctx: CliContext = { argv, env: cleanEnv(env), cwd, stdout, stderr };
  const code = await run(ctx);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
