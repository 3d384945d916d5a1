/**
 * The console's local HTTP server: 127.0.0.1 only, one session token, and three kinds of answers:
 * the page and its assets; the admin routes the page uses, signed here with the CLI's credential
 * (the browser never sees it); and the console's own endpoints for uploads and the verdict charts.
 * No new endpoint exists anywhere else and no new kind of credential: what the page can do is what
 * `attestor` can do with the same credential, and only from the page this server serves (guard.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_HARDWARE_POLICY } from '@attestor/contracts/admin-api';
import type { AdminClient } from '../admin-client';
import { isLocalEndpoint } from '../credentials';
import { CliError, HttpStatusError, InterruptedError, oneLine } from '../errors';
import { MAX_BUILD_BYTES } from '../upload';
import { consoleRoute } from './admin-routes';
import { loadAssets } from './assets';
import { checkRequest, newSessionToken, sessionCookie, sessionCookieName, type GuardSettings } from './guard';
import { FORBIDDEN_HTML, INDEX_HTML, LOGIN_HTML } from './page';
import { UploadJobs } from './uploads';
import { MAX_RANGE_SECONDS, VerdictTimeline } from './verdicts';

/** The admin API's own request limit (docs/ADMIN_API.md §1): nothing larger is worth reading. */
const MAX_JSON_BYTES = 16_384;

/** Only this server's own files run or style the page; it cannot be framed or send data elsewhere. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface ConsoleServerOptions {
  /** The CLI's admin client (SigV4 with the operator's credential); `fetch` replaces its transport. */
  readonly adminClient: (transport?: typeof globalThis.fetch) => AdminClient;
  /** The admin API the console works against, shown on the page. */
  readonly endpoint: URL;
  /** 0 (the default) takes a free port. */
  readonly port?: number;
  /** How often the chart page polls. */
  readonly pollSeconds: number;
  /** One line per event; the caller's sink (it must never see the token: command.ts redacts it). */
  readonly log: (line: string) => void;
  /** Used for uploads to storage and admin calls; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  readonly registerTimeoutMs?: number;
  /** Where the page's modules are; tests of a source tree leave it. */
  readonly webDir?: string;
}

export interface ConsoleServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The link to open: the origin with the session token. */
  readonly loginUrl: string;
  readonly token: string;
  close(): Promise<void>;
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const assets = loadAssets(options.webDir);
  const token = newSessionToken();
  const client = options.adminClient();
  const uploads = new UploadJobs({
    client,
    log: options.log,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.registerTimeoutMs !== undefined ? { registerTimeoutMs: options.registerTimeoutMs } : {}),
  });
  const timeline = new VerdictTimeline({ client, minRefreshMs: Math.min(options.pollSeconds * 500, 5000) });
  let guard: GuardSettings | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const verdict = checkRequest({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, guard!);
    if (!verdict.allowed) {
      // Only the method and path: a query could hold a token someone mistyped.
      options.log(`refused ${req.method} ${pathOf(req.url).slice(0, 100)}: ${verdict.reason}`);
      req.resume();
      return send(res, 403, FORBIDDEN_HTML, 'text/html; charset=utf-8');
    }
    if (verdict.login) {
      return send(res, 200, LOGIN_HTML, 'text/html; charset=utf-8', { 'set-cookie': sessionCookie(guard!) });
    }
    const url = new URL(req.url ?? '/', guard!.origin);
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/') return send(res, 200, INDEX_HTML, 'text/html; charset=utf-8');
    const asset = method === 'GET' && url.pathname.startsWith('/assets/') ? assets.get(url.pathname.slice('/assets/'.length)) : undefined;
    if (asset) return send(res, 200, asset.body, asset.contentType);
    if (url.pathname.startsWith('/v1/admin/')) return proxy(req, res, url);
    if (method === 'GET' && url.pathname === '/console/session') {
      return json(res, 200, {
        endpoint: options.endpoint.origin + options.endpoint.pathname.replace(/\/+$/, ''),
        local: isLocalEndpoint(options.endpoint),
        pollSeconds: options.pollSeconds,
        maxBuildBytes: MAX_BUILD_BYTES,
        defaultHardwarePolicy: DEFAULT_HARDWARE_POLICY,
      });
    }
    if (method === 'GET' && url.pathname === '/console/verdicts') return verdicts(res, url);
    const build = url.pathname.match(/^\/console\/apps\/([^/]+)\/builds$/);
    if (method === 'POST' && build) return upload(req, res, safeDecode(build[1]!), url);
    const job = url.pathname.match(/^\/console\/jobs\/([A-Za-z0-9_-]{16})$/);
    if (method === 'GET' && job) {
      const found = uploads.get(job[1]!);
      return found ? json(res, 200, found) : json(res, 404, { error: 'not_found', message: 'no such upload in this console session' });
    }
    req.resume();
    return json(res, 404, { error: 'not_found', message: `the console has no ${method} ${url.pathname}` });
  };

  const proxy = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    const match = consoleRoute(method, url.pathname);
    if (!match) {
      req.resume();
      return json(res, 404, { error: 'not_found', message: `the console does not pass on ${method} ${url.pathname}` });
    }
    let body: unknown;
    if (method === 'POST' || method === 'PUT') {
      const text = await readText(req, MAX_JSON_BYTES);
      if (text === undefined) return json(res, 413, { error: 'body_too_large', message: `request bodies are at most ${MAX_JSON_BYTES} bytes` });
      try {
        body = text === '' ? {} : (JSON.parse(text) as unknown);
      } catch {
        return json(res, 400, { error: 'invalid_request', message: 'the body is not JSON' });
      }
    } else {
      req.resume();
    }
    const path = `${url.pathname}${match.keepQuery ? url.search : ''}`;
    // The service's own refusals (docs/ADMIN_API.md §1.3) go to the page as they are, with the
    // field they name; the client's wording is for a terminal and names CLI commands.
    let refusal: { status: number; text: string } | undefined;
    const base = options.fetch ?? fetch;
    const keepRefusal: typeof fetch = async (input, init) => {
      const response = await base(input, init);
      if (!response.ok) refusal = { status: response.status, text: await response.clone().text() };
      return response;
    };
    try {
      const answer = await options.adminClient(keepRefusal).request(method, path, body);
      if (method !== 'GET') options.log(`${method} ${url.pathname}: done`);
      return json(res, 200, answer);
    } catch (error) {
      const own = refusal && serviceError(refusal.text);
      if (error instanceof HttpStatusError && refusal && own) return json(res, refusal.status, own);
      return failed(res, error, `${method} ${url.pathname}`);
    }
  };

  const verdicts = async (res: ServerResponse, url: URL): Promise<void> => {
    const appId = url.searchParams.get('appId') || undefined;
    const range = Number(url.searchParams.get('rangeSeconds') ?? 3600);
    if (!Number.isInteger(range) || range < 60 || range > MAX_RANGE_SECONDS) {
      const message = `rangeSeconds must be a whole number from 60 to ${MAX_RANGE_SECONDS}`;
      return json(res, 400, { error: 'invalid_request', field: 'rangeSeconds', message });
    }
    try {
      return json(res, 200, await timeline.snapshot({ ...(appId !== undefined ? { appId } : {}), rangeSeconds: range }));
    } catch (error) {
      return failed(res, error, 'reading the attestation log');
    }
  };

  const upload = async (req: IncomingMessage, res: ServerResponse, appId: string, url: URL): Promise<void> => {
    const params = uploads.check(appId, url.searchParams, req.headers['content-length']);
    if ('status' in params) {
      // Answer before the body arrives, and close the connection rather than read a build for nothing.
      res.setHeader('connection', 'close');
      json(res, params.status, { error: params.status === 413 ? 'body_too_large' : 'invalid_request', ...params });
      res.on('finish', () => req.destroy());
      return;
    }
    try {
      const job = await uploads.receive(req, params);
      return json(res, 202, job);
    } catch (error) {
      return failed(res, error, 'receiving the build');
    }
  };

  const failed = (res: ServerResponse, error: unknown, what: string): void => {
    if (error instanceof HttpStatusError) return json(res, error.status, { error: 'admin_error', message: oneLine(error.message) });
    if (error instanceof InterruptedError) return json(res, 503, { error: 'stopping', message: 'the console is stopping' });
    if (error instanceof CliError) return json(res, 502, { error: 'unavailable', message: oneLine(error.message) });
    options.log(`${what} failed unexpectedly: ${oneLine(String((error as Error)?.stack ?? error)).slice(0, 500)}`);
    return json(res, 500, { error: 'internal_error', message: 'unexpected failure; see the terminal running `attestor console`' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log(`unexpected failure: ${oneLine(String((error as Error)?.stack ?? error)).slice(0, 500)}`);
      if (!res.headersSent) json(res, 500, { error: 'internal_error', message: 'unexpected failure' });
      else res.destroy();
    });
  });
  // Headers and bodies that trickle in must not hold the server; a build may take long, but not idly.
  server.headersTimeout = 20_000;
  server.requestTimeout = 0;
  await listen(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  guard = { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, token, cookieName: sessionCookieName(port) };
  return {
    origin: guard.origin,
    loginUrl: `${guard.origin}/?token=${token}`,
    token,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await uploads.close();
    },
  };
}

/** Listens on 127.0.0.1 only: the console is never reachable from another machine. */
function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why: Record<string, string> = {
        EADDRINUSE: `port ${port} on 127.0.0.1 is in use: choose another with --port, or leave --port out for a free one`,
        EACCES: `port ${port} needs privileges: choose a port above 1023 with --port`,
      };
      const message = error.code !== undefined ? why[error.code] : undefined;
      reject(message !== undefined ? new CliError(message) : error);
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function send(res: ServerResponse, status: number, body: string | Buffer, contentType: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body), 'application/json; charset=utf-8');
}

/** The body as text, or undefined when it is larger than `max` bytes. */
async function readText(req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit (keeping nothing), so the answer reaches a client still sending.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= max) chunks.push(chunk as Buffer);
  }
  return size > max ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** A malformed escape becomes a value no schema accepts, rather than an exception. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

/** `{"error", "field"?, "message"}` as the admin handlers answer, or undefined for anything else (a gateway's 403, a proxy's page). */
function serviceError(text: string): { error: string; field?: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; field?: unknown; message?: unknown };
    if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string') return undefined;
    return { error: parsed.error, ...(typeof parsed.field === 'string' ? { field: parsed.field } : {}), message: oneLine(parsed.message) };
  } catch {
    return undefined;
  }
}

/** The path of a request target, without its query (which could hold a mistyped token), for log lines. */
function pathOf(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://console.invalid').pathname;
  } catch {
    return '(malformed)';
  }
}
