/**
 * AttestorClient.fetch across redirects, against real HTTP servers: the token
 * and proof reach only the hops inside `hosts` (re-checked at every hop, as the first URL is),
 * method and body change as the Fetch spec says, and a caller's own `redirect` mode keeps its
 * meaning. Plain fetch against the same servers is the reference for everything but the
 * SDK's headers.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkProof } from '../../../packages/verify/src/core/proof';
import { PROOF_HEADER_NAME, TOKEN_HEADER_NAME } from '../../../packages/sdk/src/index';
import { ENDPOINT, inProcessService } from './in-process-service';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Answer {
  readonly status: number;
  readonly location?: string;
  readonly body?: string;
}

/** A real HTTP origin on loopback that records every request and answers with `route`. */
interface Origin {
  readonly url: string;
  readonly received: Received[];
  route: (request: Received) => Answer;
  close(): Promise<void>;
}

const origins: Origin[] = [];

async function startOrigin(): Promise<Origin> {
  const received: Received[] = [];
  const origin = {
    url: '',
    received,
    route: (_request: Received): Answer => ({ status: 200, body: 'ok' }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const answer = origin.route(request);
      res.writeHead(answer.status, answer.location === undefined ? {} : { location: answer.location });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const started: Origin = Object.assign(origin, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  origins.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(origins.splice(0).map((o) => o.close()));
});

const urlOf = (input: RequestInfo | URL) => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);

/** A client whose attestations go to the in-process service and whose app requests go over real HTTP. */
function clientFor(hosts: string[], proof = false) {
  const service = inProcessService();
  const transport: typeof fetch = (input, init) => (urlOf(input).startsWith(ENDPOINT) ? service.fetchFn(input, init) : fetch(input, init));
  return { service, client: service.client({ hosts, proof, fetch: transport }) };
}

const SDK_HEADERS = [TOKEN_HEADER_NAME, PROOF_HEADER_NAME, 'Attestor-Status'].map((h) => h.toLowerCase());
const sdkHeadersOf = (r: Received) => SDK_HEADERS.filter((name) => r.headers[name] !== undefined);
/** What a request carried apart from the SDK's headers and the connection's own. */
const appHeadersOf = (r: Received) =>
  Object.fromEntries(Object.entries(r.headers).filter(([name]) => !SDK_HEADERS.includes(name) && !['host', 'content-length', 'connection'].includes(name)));

describe('a redirect out of the allowed hosts', () => {
  it('a 302 from an allowed origin to another: the token and proof stay behind, the request follows as plain fetch would', async () => {
    // Prepare
    const allowed = await startOrigin();
    const other = await startOrigin();
    allowed.route = () => ({ status: 302, location: `${other.url}/landing?x=1` });
    other.route = () => ({ status: 200, body: 'landed' });
    const { client } = clientFor([allowed.url], true);
    const headers = { authorization: 'Bearer session', 'x-app': '1' };
    // Act
    const response = await client.fetch(`${allowed.url}/start`, { headers });
    await fetch(`${allowed.url}/start`, { headers });
    // Assess
    expect(sdkHeadersOf(allowed.received[0]!)).toEqual(['attestor-token', 'attestor-proof']);
    expect(sdkHeadersOf(other.received[0]!)).toEqual([]);
    expect(appHeadersOf(other.received[0]!)).toEqual(appHeadersOf(other.received[1]!));
    // Authorization does not cross origins either, as with plain fetch.
    expect(other.received[0]!.headers['authorization']).toBeUndefined();
    expect(other.received[0]!.path).toBe('/landing?x=1');
    expect([response.status, await response.text(), response.url, response.redirected]).toEqual([200, 'landed', `${other.url}/landing?x=1`, true]);
  });

  it('the token is not picked up again when a later hop returns to an allowed origin', async () => {
    const allowed = await startOrigin();
    const other = await startOrigin();
    allowed.route = (r) => (r.path === '/start' ? { status: 307, location: `${other.url}/bounce` } : { status: 200, body: 'back' });
    other.route = () => ({ status: 302, location: `${allowed.url}/back` });
    const { client } = clientFor([allowed.url]);
    const response = await client.fetch(`${allowed.url}/start`);
    expect(await response.text()).toBe('back');
    expect(allowed.received.map((r) => [r.path, sdkHeadersOf(r)])).toEqual([
      ['/start', ['attestor-token']],
      ['/back', []],
    ]);
    expect(sdkHeadersOf(other.received[0]!)).toEqual([]);
  });

  it('Attestor-Status (no token could be had) does not leave the allowed hosts either', async () => {
    const allowed = await startOrigin();
    const other = await startOrigin();
    allowed.route = () => ({ status: 302, location: `${other.url}/` });
    const { client, service } = clientFor([allowed.url]);
    service.hooks.fault = () => 'network';
    await client.fetch(`${allowed.url}/`);
    expect(sdkHeadersOf(allowed.received[0]!)).toEqual(['attestor-status']);
    expect(sdkHeadersOf(other.received[0]!)).toEqual([]);
  });
});

describe('redirects inside the allowed hosts', () => {
  it('keep the token, and the proof is signed again for the new URL', async () => {
    // Prepare
    const allowed = await startOrigin();
    allowed.route = (r) => (r.path === '/v1/orders' ? { status: 308, location: '/v2/orders' } : { status: 201, body: 'created' });
    const { client, service } = clientFor([allowed.url], true);
    // Act
    const response = await client.fetch(`${allowed.url}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    // Assess
    expect(response.status).toBe(201);
    const [first, second] = allowed.received;
    expect([second!.method, second!.path, second!.body, second!.headers['content-type']]).toEqual(['POST', '/v2/orders', '{"n":1}', 'application/json']);
    const token = second!.headers['attestor-token'] as string;
    expect(token).toBe(first!.headers['attestor-token']);
    const claims = await service.verify(token);
    const proof = second!.headers['attestor-proof'] as string;
    expect(proof).not.toBe(first!.headers['attestor-proof']);
    expect(checkProof(proof, token, claims, { method: 'POST', url: `${allowed.url}/v2/orders` }, service.clock.now).jkt).toBe(claims.did);
  });

  it('and to another allowed origin: the token goes on, Authorization stays behind as fetch does', async () => {
    const first = await startOrigin();
    const second = await startOrigin();
    first.route = () => ({ status: 302, location: `${second.url}/next` });
    const { client } = clientFor([first.url, second.url]);
    await client.fetch(`${first.url}/`, { headers: { authorization: 'Bearer session' } });
    expect(sdkHeadersOf(second.received[0]!)).toEqual(['attestor-token']);
    expect(second.received[0]!.headers['authorization']).toBeUndefined();
  });

  it.each([
    [301, 'GET'],
    [302, 'GET'],
    [303, 'GET'],
    [307, 'POST'],
    [308, 'POST'],
  ])('a %i to a POST sends %s, with the body only if the method stays, as plain fetch does', async (status, method) => {
    const allowed = await startOrigin();
    allowed.route = (r) => (r.path === '/from' ? { status, location: '/to' } : { status: 200 });
    const { client } = clientFor([allowed.url]);
    const init = { method: 'POST', headers: { 'content-type': 'text/plain', 'x-app': '1' }, body: 'payload' };
    await client.fetch(`${allowed.url}/from`, init);
    await fetch(`${allowed.url}/from`, init);
    const [viaSdk, plain] = [allowed.received[1]!, allowed.received[3]!];
    expect([viaSdk.method, viaSdk.path, viaSdk.body]).toEqual([method, '/to', method === 'POST' ? 'payload' : '']);
    expect([viaSdk.method, viaSdk.body, appHeadersOf(viaSdk)]).toEqual([plain.method, plain.body, appHeadersOf(plain)]);
    expect(sdkHeadersOf(viaSdk)).toEqual(['attestor-token']);
  });

  it("a Request's body is sent again on a 307", async () => {
    const allowed = await startOrigin();
    allowed.route = (r) => (r.path === '/from' ? { status: 307, location: '/to' } : { status: 200 });
    const { client } = clientFor([allowed.url]);
    await client.fetch(new Request(`${allowed.url}/from`, { method: 'PUT', body: 'from a Request' }));
    expect(allowed.received.map((r) => [r.method, r.path, r.body, sdkHeadersOf(r)])).toEqual([
      ['PUT', '/from', 'from a Request', ['attestor-token']],
      ['PUT', '/to', 'from a Request', ['attestor-token']],
    ]);
  });

  it('a streamed body cannot be sent again: a 307 fails the request, as plain fetch fails it', async () => {
    const allowed = await startOrigin();
    allowed.route = (r) => (r.path === '/from' ? { status: 307, location: '/to' } : { status: 200 });
    const { client } = clientFor([allowed.url]);
    const stream = () => new Blob(['streamed']).stream();
    const init = () => ({ method: 'POST', body: stream(), duplex: 'half' }) as RequestInit;
    const plain = await fetch(`${allowed.url}/from`, init()).catch((e: unknown) => e);
    const viaSdk = await client.fetch(`${allowed.url}/from`, init()).catch((e: unknown) => e);
    expect([(viaSdk as Error).name, (plain as Error).name]).toEqual(['TypeError', 'TypeError']);
    expect(allowed.received.map((r) => r.path)).toEqual(['/from', '/from']);
  });

  it('a redirect loop ends after as many hops as plain fetch allows', async () => {
    const allowed = await startOrigin();
    allowed.route = () => ({ status: 302, location: '/again' });
    const { client } = clientFor([allowed.url]);
    const plain = await fetch(`${allowed.url}/`).catch((e: unknown) => e);
    const plainHops = allowed.received.length;
    const viaSdk = await client.fetch(`${allowed.url}/`).catch((e: unknown) => e);
    expect([(viaSdk as Error).name, (plain as Error).name]).toEqual(['TypeError', 'TypeError']);
    expect(allowed.received.length - plainHops).toBe(plainHops);
    expect(plainHops).toBe(21);
  });

  it('a redirect that is not followed (304, or a 3xx without Location) is the response', async () => {
    const allowed = await startOrigin();
    allowed.route = (r) => (r.path === '/304' ? { status: 304 } : { status: 302, body: 'nowhere' });
    const { client } = clientFor([allowed.url]);
    expect((await client.fetch(`${allowed.url}/304`)).status).toBe(304);
    const response = await client.fetch(`${allowed.url}/302`);
    expect([response.status, await response.text(), response.redirected]).toEqual([302, 'nowhere', false]);
  });
});

describe("the caller's own redirect mode", () => {
  it.each([
    ['init', (url: string) => [url, { redirect: 'manual' }] as const],
    ['a Request', (url: string) => [new Request(url, { redirect: 'manual' })] as const],
  ])("'manual' given in %s answers the 3xx itself; nothing reaches the Location", async (_where, args) => {
    const allowed = await startOrigin();
    const other = await startOrigin();
    allowed.route = () => ({ status: 302, location: `${other.url}/` });
    const { client } = clientFor([allowed.url]);
    const [input, init] = args(`${allowed.url}/`);
    const response = await client.fetch(input, init);
    expect([response.status, response.headers.get('location')]).toEqual([302, `${other.url}/`]);
    expect(sdkHeadersOf(allowed.received[0]!)).toEqual(['attestor-token']);
    expect(other.received).toEqual([]);
  });

  it("'error' rejects on a redirect as plain fetch does; nothing reaches the Location", async () => {
    const allowed = await startOrigin();
    const other = await startOrigin();
    allowed.route = () => ({ status: 302, location: `${other.url}/` });
    const { client } = clientFor([allowed.url]);
    // (jest gives each test file its own TypeError, so compare by name.)
    await expect(client.fetch(`${allowed.url}/`, { redirect: 'error' })).rejects.toMatchObject({ name: 'TypeError' });
    expect(allowed.received).toHaveLength(1);
    expect(other.received).toEqual([]);
  });
});

describe('every hop meets the rules of the first URL', () => {
  // https origins through the in-process transport, which hands the SDK the 3xx as a platform fetch does.
  const rig = (hosts: string[], to: string) => {
    const service = inProcessService({ api: (request) => (request.url.endsWith('/a') ? Response.redirect(to, 302) : new Response('b')) });
    return { service, client: service.client({ hosts }) };
  };

  it.each([
    ['api.example.com', 'https://api.example.com/a', 'http://api.example.com/b', false],
    ['api.example.com', 'https://api.example.com/a', 'https://api.example.com:8443/b', true],
    ['*.example.com', 'https://eu.example.com/a', 'https://us.example.com/b', true],
    ['*.example.com', 'https://eu.example.com/a', 'https://example.com/b', false],
    ['https://api.example.com', 'https://api.example.com/a', 'https://api.example.com.evil.test/b', false],
    ['http://10.0.2.2:3000', 'http://10.0.2.2:3000/a', 'http://10.0.2.2:3000/b', true],
    ['http://10.0.2.2:3000', 'http://10.0.2.2:3000/a', 'http://10.0.2.2:3001/b', false],
  ])('hosts [%s]: %s redirected to %s carries the token: %p', async (hosts, from, to, carries) => {
    const { service, client } = rig([hosts], to);
    await client.fetch(from);
    expect(service.apiRequests.map((r) => [r.url, r.headers.has('attestor-token')])).toEqual([
      [from, true],
      [to, carries],
    ]);
  });
});

describe('where the platform hides redirects (browsers answer `manual` with an opaque redirect)', () => {
  /** What a browser's fetch answers a redirected request made with redirect: 'manual': no status, no Location. */
  const opaqueRedirect = () => Object.defineProperties(new Response(null), { type: { value: 'opaqueredirect' }, status: { value: 0 } });
  const rig = () => {
    const service = inProcessService({ api: (request) => (request.redirect === 'manual' ? opaqueRedirect() : new Response('followed')) });
    return { service, client: service.client({ hosts: ['api.example.com'] }) };
  };

  it('a GET is sent again without the token and the platform follows it', async () => {
    const { service, client } = rig();
    const response = await client.fetch('https://api.example.com/a', { headers: { 'x-app': '1' } });
    expect(await response.text()).toBe('followed');
    expect(service.apiRequests.map((r) => [r.redirect, r.headers.has('attestor-token'), r.headers.get('x-app')])).toEqual([
      ['manual', true, '1'],
      ['follow', false, '1'],
    ]);
  });

  it('any other method is not repeated: the caller gets the opaque redirect', async () => {
    const { service, client } = rig();
    const response = await client.fetch('https://api.example.com/a', { method: 'POST', body: 'once' });
    expect(response.type).toBe('opaqueredirect');
    expect(service.apiRequests).toHaveLength(1);
  });
});
