/** `attestor console` run in-process for tests, and raw HTTP requests that may lie about their Host. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { run, type CliContext } from '../../packages/cli/src/main';
import { Capture } from '../cli/helpers';

export interface RunningConsole {
  /** The link the console printed: origin + `/?token=…`. */
  readonly loginUrl: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  readonly stdout: Capture;
  readonly stderr: Capture;
  /** Ctrl-C: resolves with the exit code. */
  stop(): Promise<number>;
}

export async function startConsole(env: NodeJS.ProcessEnv, cwd: string, args: string[] = [], ctx: Partial<CliContext> = {}): Promise<RunningConsole> {
  const stdout = new Capture();
  const stderr = new Capture();
  const interrupt = new AbortController();
  const exited = run({ argv: ['console', '--no-open', ...args], env, cwd, stdout, stderr, signal: interrupt.signal, ...ctx });
  const deadline = Date.now() + 15_000;
  let link: string | undefined;
  while (!(link = stdout.lines.find((l) => l.includes('/?token=')))) {
    const early = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(resolve, 20))]);
    if (early !== undefined) throw new Error(`attestor console exited with ${early}: ${stderr.text}`);
    if (Date.now() > deadline) throw new Error(`attestor console printed no link: ${stderr.text}`);
  }
  const url = new URL(link);
  return {
    loginUrl: link,
    origin: url.origin,
    port: Number(url.port),
    token: url.searchParams.get('token')!,
    stdout,
    stderr,
    stop: async () => {
      interrupt.abort();
      return exited;
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** An HTTP request with exactly these headers (fetch would not let a test set Host). */
export function rawRequest(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      // No keep-alive: a pooled socket would outlive a stopped console and hide that its port closed.
      {
        host: '127.0.0.1',
        port,
        agent: false,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
