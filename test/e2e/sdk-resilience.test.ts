/**
 * The SDK against the local cloud through a fault proxy (test/support/fault-proxy.ts) while the
 * service is stopped and restarted, slowed, erroring and dropping connections. The app's own API
 * (a small recording server that stays up) shows that every app request still goes out, marked
 * with `Attestor-Status` while no token can be had, and that tokens come back, and open the
 * service's protected route, once the service is back. The client's clock and sleeps are
 * injected, so backoff and cool-downs cost no real time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { AttestorClient, bytesPackageSource, memoryKeyStore, type AttestorClientOptions } from '../../packages/sdk/src/index';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { registerBuildForTest } from '../support/local-admin';
import { clientClock } from '../support/client-clock';

const APP = 'com.example.resilient';
const VERSION = '3.1.0';

let dataDir: string;
let cloud: LocalCloud;
let proxy: FaultProxy;
let api: Server;
let apiOrigin: string;
let build: Buffer;
/** Headers of every request the app's API received. */
const received: IncomingHttpHeaders[] = [];

/** The client's clock: real time at the start, then moved only by the test and by the client's own sleeps. */
const clock = clientClock(Date.now());
const { sleeps, events } = clock;

function newClient(overrides: Partial<AttestorClientOptions> = {}): AttestorClient {
  return new AttestorClient({
    endpoint: proxy.endpoint,
    appId: APP,
    appVersion: VERSION,
    packageSource: bytesPackageSource(build),
    keyStore: memoryKeyStore(),
    hosts: [apiOrigin],
    ...clock.options,
    ...overrides,
  });
}

/** The app calls its API through the SDK; returns what the API saw. */
async function appRequest(client: AttestorClient): Promise<{ status: number; token?: string; attestorStatus?: string }> {
  const response = await client.fetch(`${apiOrigin}/orders`, { headers: { 'x-app-request': String(received.length) } });
  expect(response.status).toBe(200);
  const seen = received[received.length - 1]!;
  expect(seen['x-app-request']).toBe(String(received.length - 1));
  return {
    status: response.status,
    ...(typeof seen['attestor-token'] === 'string' ? { token: seen['attestor-token'] } : {}),
    ...(typeof seen['attestor-status'] === 'string' ? { attestorStatus: seen['attestor-status'] } : {}),
  };
}

/** Whether the service's own protected route lets the token in. */
async function opensProtectedRoute(token: string | undefined): Promise<boolean> {
  expect(token).toEqual(expect.any(String));
  const res = await fetch(`${cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token! } });
  return res.status === 200;
}

const attestorTraffic = () => proxy.log.filter((e) => e.path.startsWith('/v1/'));

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-sdk-resilience-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
  build = randomBytes(64 * 1024);
  await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
  proxy = await startFaultProxy({ target: cloud.endpoint });
  api = createServer((req, res) => {
    received.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"orders":[]}');
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiOrigin = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await proxy?.close();
  api?.closeAllConnections();
  await new Promise((resolve) => api?.close(resolve));
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('stopped and restarted', () => {
  let shared: AttestorClient;
  const client = () => shared;

  test('while the service is up, app requests carry tokens that open the protected route', async () => {
    shared = newClient();
    const seen = await appRequest(client());
    expect(seen.attestorStatus).toBeUndefined();
    expect(await opensProtectedRoute(seen.token)).toBe(true);
  });

  test('with the service stopped, app requests still go out, marked no_network; the circuit stops the hammering', async () => {
    await cloud.stop();
    client().invalidate();
    const before = attestorTraffic().length;

    const first = await appRequest(client());
    expect(first).toEqual({ status: 200, attestorStatus: 'no_network' });
    // One attestation, four attempts, each a lost connection.
    expect(attestorTraffic().slice(before).map((e) => e.outcome)).toEqual(['upstream_down', 'upstream_down', 'upstream_down', 'upstream_down']);

    expect(await appRequest(client())).toEqual({ status: 200, attestorStatus: 'no_network' });
    expect(client().status().circuit).toBe('open');
    const whileOpen = attestorTraffic().length;
    expect(await appRequest(client())).toEqual({ status: 200, attestorStatus: 'no_network' });
    expect(attestorTraffic().length).toBe(whileOpen);
    expect(events).toContainEqual(expect.objectContaining({ type: 'request_without_token', status: 'no_network' }));
  });

  test('once the service is back and the cool-down is over, tokens return', async () => {
    cloud = await startLocalCloud({ dataDir, port: 0 });
    proxy.setTarget(cloud.endpoint);
    // Still cooling down: no call yet, the request goes out at once.
    expect((await appRequest(client())).attestorStatus).toBe('no_network');

    clock.advance(60_000);
    const seen = await appRequest(client());
    expect(seen.attestorStatus).toBeUndefined();
    expect(await opensProtectedRoute(seen.token)).toBe(true);
    expect(client().status()).toMatchObject({ circuit: 'closed', consecutiveFailures: 0, token: 'fresh' });
  });
});

describe('slowed', () => {
  test('a delay within the budget still yields a token; beyond it the request goes out marked timeout', async () => {
    // A budget generous for a loaded machine; the long delay is far beyond it, so the outcome never depends on speed.
    const client = newClient({ timeoutMs: 2_000 });
    const removeShortDelay = proxy.inject({ path: '/v1/', action: { kind: 'delay', ms: 100 } });
    const slowButFine = await appRequest(client);
    removeShortDelay();
    expect(await opensProtectedRoute(slowButFine.token)).toBe(true);

    const removeLongDelay = proxy.inject({ path: '/v1/', action: { kind: 'delay', ms: 60_000 } });
    client.invalidate();
    expect(await appRequest(client)).toEqual({ status: 200, attestorStatus: 'timeout' });
    removeLongDelay();

    const recovered = await appRequest(client);
    expect(await opensProtectedRoute(recovered.token)).toBe(true);
  });
});

describe('erroring', () => {
  test('5xx answers and dropped connections are retried until a token comes', async () => {
    const client = newClient();
    proxy.inject({ path: '/v1/challenge', times: 2, action: { kind: 'status', status: 503 } });
    proxy.inject({ path: '/v1/attest', times: 1, action: { kind: 'drop' } });
    const before = attestorTraffic().length;
    sleeps.length = 0;

    const seen = await appRequest(client);
    expect(await opensProtectedRoute(seen.token)).toBe(true);
    expect(attestorTraffic().slice(before).map((e) => `${e.path} ${e.outcome}`)).toEqual([
      '/v1/challenge 503',
      '/v1/challenge 503',
      '/v1/challenge 200',
      '/v1/attest dropped',
      '/v1/challenge 200',
      '/v1/attest 200',
    ]);
    // Full jitter (random 0.5) of 250, 500, 1000 ms.
    expect(sleeps).toEqual([125, 250, 500]);
  });

  test('429 is retried after its Retry-After', async () => {
    const client = newClient();
    proxy.inject({ path: '/v1/challenge', times: 1, action: { kind: 'status', status: 429, retryAfter: '2' } });
    sleeps.length = 0;
    const seen = await appRequest(client);
    expect(await opensProtectedRoute(seen.token)).toBe(true);
    expect(sleeps).toEqual([2000]);
  });

  test('400 is not retried: one request, and the app request goes out marked client_error', async () => {
    const client = newClient();
    proxy.inject({
      path: '/v1/challenge',
      times: 1,
      action: { kind: 'status', status: 400, body: '{"error":"invalid_request","field":"appId","message":"appId bad"}' },
    });
    const before = attestorTraffic().length;
    expect(await appRequest(client)).toEqual({ status: 200, attestorStatus: 'client_error' });
    expect(attestorTraffic().length - before).toBe(1);
  });

  test('a service that keeps failing gets service_error, then silence, then traffic again once it heals', async () => {
    const client = newClient({ retry: { maxAttempts: 2 } });
    const heal = proxy.inject({ path: '/v1/', action: { kind: 'status', status: 500, body: '{"error":"internal_error"}' } });
    expect(await appRequest(client)).toEqual({ status: 200, attestorStatus: 'service_error' });
    expect(await appRequest(client)).toEqual({ status: 200, attestorStatus: 'service_error' });
    const whileOpen = attestorTraffic().length;
    expect(await appRequest(client)).toEqual({ status: 200, attestorStatus: 'service_error' });
    expect(attestorTraffic().length).toBe(whileOpen);

    heal();
    clock.advance(60_000);
    const seen = await appRequest(client);
    expect(await opensProtectedRoute(seen.token)).toBe(true);
  });
});
