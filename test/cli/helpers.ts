/** A tiny HTTP server for CLI tests, and an independent SigV4 check of what it receives. */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { run } from '../../packages/cli/src/main';

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Reply {
  readonly status?: number;
  readonly json?: unknown;
  readonly text?: string;
}

export interface FakeServer {
  readonly endpoint: string;
  readonly received: Received[];
  close(): Promise<void>;
}

export async function startFakeServer(
  reply: (req: Received, server: { endpoint: string }) => Reply | Promise<Reply>,
  options: { keepBodies?: boolean } = {},
): Promise<FakeServer> {
  const received: Received[] = [];
  const info = { endpoint: '' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (options.keepBodies !== false) chunks.push(c);
    });
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      Promise.resolve(reply(r, info)).then(
        (out) => {
          res.writeHead(out.status ?? 200, { 'content-type': out.json !== undefined ? 'application/json' : 'text/plain' });
          res.end(out.json !== undefined ? JSON.stringify(out.json) : (out.text ?? ''));
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  info.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint: info.endpoint,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on: bound once, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const TEST_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly region: string } = {
  accessKeyId: 'AKTESTCLI0000001',
  secretAccessKey: 'test-secret-do-not-use',
  region: 'eu-west-3',
};

/** Writes the credential file the local cloud would, so the CLI finds it through ATTESTOR_HOME. */
export function writeLocalCredentials(dataDir: string, creds = TEST_CREDENTIALS): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'admin-credentials.json'), JSON.stringify({ ...creds, tenantId: 'default' }));
}

/**
 * Recomputes the signature of a received request from scratch: the signed header set and date
 * come from the request, the payload hash from the bytes that actually arrived.
 */
export async function verifyReceived(
  req: Received,
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; region: string },
  service = 'execute-api',
): Promise<{ ok: boolean; reason?: string }> {
  const auth = String(req.headers['authorization'] ?? '');
  const m = auth.match(/^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/);
  if (!m) return { ok: false, reason: `malformed authorization: ${auth}` };
  const [, keyId, , region, signedService, signedList, signature] = m as unknown as string[];
  if (keyId !== creds.accessKeyId || region !== creds.region || signedService !== service) return { ok: false, reason: 'wrong scope' };
  const names = signedList!.split(';');
  for (const required of ['host', 'x-amz-date']) if (!names.includes(required)) return { ok: false, reason: `${required} not signed` };
  const bodyHash = createHash('sha256').update(req.body).digest('hex');
  if (req.headers['x-amz-content-sha256'] !== undefined && req.headers['x-amz-content-sha256'] !== bodyHash) return { ok: false, reason: 'body hash mismatch' };
  const headers: Record<string, string> = {};
  // A signed x-amz-content-sha256 was checked against the received bytes above; without one the signer hashes them.
  for (const name of names) headers[name] = String(req.headers[name] ?? '');
  const amzDate = String(req.headers['x-amz-date']);
  const d = amzDate.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!d) return { ok: false, reason: 'bad x-amz-date' };
  const signingDate = new Date(Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!));
  const url = new URL(req.url, 'http://placeholder');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    query[key] = all.length === 1 ? all[0]! : all;
  }
  const [hostname, port] = String(req.headers['host']).split(':');
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
    },
    region: creds.region,
    service,
    sha256: Sha256,
  });
  const expected = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: hostname!, ...(port ? { port: Number(port) } : {}), path: url.pathname, query, headers, body: req.body },
    { signingDate, signableHeaders: new Set(names) },
  );
  const expectedSig = String(expected.headers['authorization']).match(/Signature=([0-9a-f]{64})$/)?.[1];
  const expectedList = String(expected.headers['authorization']).match(/SignedHeaders=([a-z0-9;-]+)/)?.[1];
  if (expectedList !== signedList) return { ok: false, reason: `signed headers differ: ${expectedList} vs ${signedList}` };
  return expectedSig === signature ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}

/** Collects what the CLI writes to a stream. */
export class Capture {
  chunks: string[] = [];
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l.length > 0);
  }
}

/** What one in-process run of the CLI wrote and returned. */
export interface CliRun {
  code: number;
  stdout: Capture;
  stderr: Capture;
  json<T = Record<string, unknown>>(): T;
}

/** Runs the CLI in process against `endpoint` (a local cloud), with its home (and working directory) in `dataDir`. */
export async function runCliAgainst(endpoint: string, dataDir: string, argv: string[]): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await run({ argv, env: { ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: endpoint }, cwd: dataDir, stdout, stderr });
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout.text) as T };
}
