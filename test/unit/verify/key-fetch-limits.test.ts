/**
 * Key fetches against hostile key servers, over real HTTP: a body past the size
 * limit is not read beyond it (nor at all when its Content-Length says so), and no key fetch
 * follows a redirect, so keys are never taken from, and signed headers never sent to, the origin a
 * redirect names. Covers fetchJson (JwksKeySource, createVerifier's jwksUrl), sigV4Fetch and
 * RemoteKeySource's routes (the test secrets' only for a verifier that accepts test tokens).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KMSClient } from '@aws-sdk/client-kms';
import { fetchJson, JwksKeySource } from '../../../packages/verify/src/jwks';
import { RemoteKeySource } from '../../../packages/verify/src/aws/remote-key-source';
import { sigV4Fetch } from '../../../packages/verify/src/aws/sigv4-fetch';
import { generateTestKey } from '../../support/memory';
import { startJwksServer, type JwksServer } from './jwks-server';

const MiB = 1024 * 1024;
const LIMIT = 65536;

/** A key server the test scripts per request; it records what each request carried. */
interface ScriptedServer {
  readonly url: string;
  readonly received: Array<{ path: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startScripted(answer: (path: string, res: ServerResponse) => void): Promise<ScriptedServer> {
  const received: ScriptedServer['received'] = [];
  const server = createServer((req, res) => {
    received.push({ path: req.url!, headers: req.headers });
    answer(req.url!, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const started = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(started);
  return started;
}

async function jwksServer(): Promise<JwksServer> {
  const server = await startJwksServer([generateTestKey()]);
  servers.push(server);
  return server;
}

describe('size', () => {
  it('stops reading a body at the limit: a 64 MiB JWKS streamed slowly costs the server little more than the limit', async () => {
    // Prepare: 16 KiB every 5 ms, without Content-Length, until the client hangs up or 64 MiB are out.
    const total = 64 * MiB;
    let sent = 0;
    let hungUp!: () => void;
    const closed = new Promise<void>((resolve) => (hungUp = resolve));
    const server = await startScripted((_path, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const head = '{"keys":[],"pad":"';
      sent += head.length;
      res.write(head);
      const chunk = Buffer.alloc(16 * 1024, 'x');
      const timer = setInterval(() => {
        if (sent >= total) {
          res.end('"}');
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      }, 5);
      res.on('close', () => {
        clearInterval(timer);
        hungUp();
      });
    });
    // Act
    const outcome = await new JwksKeySource({ url: `${server.url}/jwks.json`, timeoutMs: 2000 }).keys().catch((e: unknown) => e);
    await closed;
    // Assess
    expect((outcome as Error).message).toMatch(`is larger than ${LIMIT} bytes`);
    expect(sent).toBeGreaterThan(LIMIT);
    expect(sent).toBeLessThan(8 * LIMIT);
  });

  it('refuses a body whose Content-Length is over the limit without waiting for it', async () => {
    // Prepare: the server announces 64 MiB and sends none of it.
    const server = await startScripted((_path, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * MiB) });
      res.flushHeaders();
    });
    const started = Date.now();
    // Act
    const outcome = await fetchJson(`${server.url}/jwks.json`, 'JWKS', { timeoutMs: 2000 }).catch((e: unknown) => e);
    // Assess
    expect((outcome as Error).message).toBe(`JWKS ${server.url}/jwks.json is larger than ${LIMIT} bytes`);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('still reads a body of exactly the limit', async () => {
    const body = JSON.stringify({ keys: [], pad: '' });
    const padded = body.replace('""', `"${'x'.repeat(LIMIT - body.length)}"`);
    const server = await startScripted((_path, res) => res.end(padded));
    await expect(fetchJson(`${server.url}/jwks.json`, 'JWKS')).resolves.toEqual({ keys: [], pad: expect.any(String) });
  });
});

describe('redirects', () => {
  it('a JWKS redirect to another origin is a fetch error naming that origin; its keys are never fetched', async () => {
    // Prepare
    const elsewhere = await jwksServer();
    const origin = new URL(elsewhere.url).origin;
    const server = await startScripted((_path, res) => res.writeHead(302, { location: elsewhere.url }).end());
    // Act / Assess
    await expect(new JwksKeySource({ url: `${server.url}/jwks.json` }).keys()).rejects.toThrow(
      `JWKS ${server.url}/jwks.json redirected to ${origin}: key fetches do not follow redirects`,
    );
    expect(elsewhere.hits).toBe(0);
  });

  it('a same-origin redirect is refused too: the URL configured is the one trusted', async () => {
    const server = await startScripted((path, res) => (path === '/old' ? res.writeHead(301, { location: '/jwks.json' }).end() : res.end('{"keys":[]}')));
    await expect(fetchJson(`${server.url}/old`, 'JWKS')).rejects.toThrow(`redirected to ${server.url}`);
    expect(server.received.map((r) => r.path)).toEqual(['/old']);
  });

  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-of-the-role' };

  it('the signed fetch sends its security token to the URL it signed, never to a redirect target', async () => {
    // Prepare
    const elsewhere = await jwksServer();
    const server = await startScripted((_path, res) => res.writeHead(307, { location: elsewhere.url }).end());
    const signed = sigV4Fetch({ region: 'eu-west-1', credentials });
    // Act
    const init = { method: 'GET', headers: {}, signal: AbortSignal.timeout(2000), redirect: 'manual' } as const;
    const direct = await signed(`${server.url}/v1/admin/keys/jwks`, init).catch((e: unknown) => e);
    // Assess
    expect((direct as Error).message).toMatch(`redirected to ${new URL(elsewhere.url).origin}`);
    expect(server.received[0]!.headers['x-amz-security-token']).toBe(credentials.sessionToken);
    expect(elsewhere.hits).toBe(0);
  });

  it.each(['/v1/admin/keys/secrets', '/v1/admin/keys/jwks'])('RemoteKeySource: %s redirected elsewhere fails the load; nothing reaches it', async (route) => {
    // Prepare: the other route answers as the admin API would.
    const elsewhere = await jwksServer();
    const api = await startScripted((path, res) => {
      if (path === route) res.writeHead(302, { location: `${elsewhere.url}?route=${encodeURIComponent(route)}` }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    const kms = { send: () => Promise.reject(new Error('not reached')) } as unknown as KMSClient;
    const source = new RemoteKeySource({ apiUrl: `${api.url}/`, tenantId: 'acme', fetch: sigV4Fetch({ region: 'eu-west-1', credentials }), kms });
    // Act / Assess
    await expect(source.keys()).rejects.toThrow(`redirected to ${new URL(elsewhere.url).origin}`);
    expect(api.received.find((r) => r.path === route)?.headers['x-amz-security-token']).toBe(credentials.sessionToken);
    expect(elsewhere.hits).toBe(0);
  });

  it('RemoteKeySource reads the test secrets route only when told to (a verifier that accepts test tokens)', async () => {
    // Prepare: an admin API with no secrets at all, so nothing reaches KMS.
    const api = await startScripted((_path, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}'));
    const kms = { send: () => Promise.reject(new Error('not reached')) } as unknown as KMSClient;
    const source = (testSecrets: boolean) =>
      new RemoteKeySource({ apiUrl: `${api.url}/`, tenantId: 'acme', fetch: sigV4Fetch({ region: 'eu-west-1', credentials }), kms, testSecrets });
    // Act
    const production = await source(false).keys();
    const routesOf = () => api.received.splice(0).map((r) => r.path).sort();
    const productionRoutes = routesOf();
    const ci = await source(true).keys();
    // Assess
    expect(productionRoutes).toEqual(['/v1/admin/keys/jwks', '/v1/admin/keys/secrets']);
    expect(production).not.toHaveProperty('testSecrets');
    expect(routesOf()).toEqual(['/v1/admin/keys/jwks', '/v1/admin/keys/secrets', '/v1/admin/tokens/test/secrets']);
    expect(ci.testSecrets).toEqual([]);
  });
});
