/**
 * AttestorClient.fetch, the drop-in wrapper: which requests get tokens, what headers go out, how
 * binding and proofs are made (checked with the service's own proof verifier and with jose), and
 * that the app's request always goes out, with `Attestor-Status` when no token could be had.
 */
import { createHash } from 'node:crypto';
import { compactVerify, EmbeddedJWK } from 'jose';
import { checkProof } from '../../../packages/verify/src/core/proof';
import { hostAllowed, parseHostRule, type AttestorClientOptions, type AttestorEvent } from '../../../packages/sdk/src/index';
import { ENDPOINT, inProcessService } from './in-process-service';

const API = 'https://api.example.com';

function rig(overrides: Partial<AttestorClientOptions> = {}) {
  const s = inProcessService({ api: () => new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } }) });
  const events: AttestorEvent[] = [];
  const client = s.client({ hosts: ['api.example.com'], onEvent: (e) => events.push(e), ...overrides });
  const last = () => s.apiRequests[s.apiRequests.length - 1]!;
  return { ...s, client, events, last };
}

describe('which requests get a token', () => {
  it('a request to a configured host gets a token that verifies; the response is the API response', async () => {
    const r = rig();
    const response = await r.client.fetch(`${API}/orders?page=2`);
    expect(await response.json()).toEqual({ ok: true });
    const token = r.last().headers.get('attestor-token')!;
    await r.verify(token);
    expect(r.last().headers.has('attestor-status')).toBe(false);
    expect(r.last().headers.has('attestor-proof')).toBe(false);
  });

  it('requests to other hosts go out untouched and cause no attestation', async () => {
    const r = rig();
    await r.client.fetch('https://analytics.example.net/collect', { method: 'POST', body: 'x' });
    await r.client.fetch('https://example.com/');
    await r.client.fetch('https://api.example.com.evil.test/');
    expect(r.apiRequests.map((q) => q.headers.has('attestor-token') || q.headers.has('attestor-status'))).toEqual([false, false, false]);
    expect(r.requests).toEqual([]);
  });

  it('a bare host entry is https only: a token never travels in clear text by accident', async () => {
    const r = rig();
    await r.client.fetch('http://api.example.com/orders');
    expect(r.last().headers.has('attestor-token')).toBe(false);
    expect(r.requests).toEqual([]);
  });

  it('an origin entry allows exactly that scheme, host and port (plain http for development)', async () => {
    const r = rig({ hosts: ['http://10.0.2.2:3000'] });
    await r.client.fetch('http://10.0.2.2:3000/orders');
    await r.client.fetch('http://10.0.2.2:3001/orders');
    expect(r.apiRequests.map((q) => q.headers.has('attestor-token'))).toEqual([true, false]);
  });

  it('by default only the endpoint origin gets tokens', async () => {
    const r = rig({ hosts: undefined });
    await r.client.fetch(`${API}/orders`);
    expect(r.last().headers.has('attestor-token')).toBe(false);
    expect(r.requests).toEqual([]);
    const s = inProcessService();
    const client = s.client();
    // The endpoint answers its own routes only; a 403 here still shows the header went out.
    await client.fetch(`${ENDPOINT}/v1/challenge`, { method: 'POST', body: '{"appId":"com.example.shop"}' });
    expect(s.requests).toEqual(['/v1/challenge', '/v1/attest', '/v1/challenge']);
  });

  it.each([
    ['api.example.com', 'https://api.example.com/x', true],
    ['api.example.com', 'https://API.Example.com:8443/x', true],
    ['api.example.com:8443', 'https://api.example.com:8443/x', true],
    ['api.example.com:8443', 'https://api.example.com/x', false],
    ['*.example.com', 'https://eu.api.example.com/x', true],
    ['*.example.com', 'https://example.com/x', false],
    ['*.example.com', 'https://badexample.com/x', false],
    ['*.example.com', 'http://eu.example.com/x', false],
    ['https://api.example.com', 'https://api.example.com:443/x', true],
    ['https://api.example.com', 'http://api.example.com/x', false],
  ])('host rule %s for %s: %p', (rule, url, expected) => {
    expect(hostAllowed([parseHostRule(rule)!], new URL(url))).toBe(expected);
  });

  it.each(['', 'https://api.example.com/v1', 'ftp://files.example.com', 'api.example.com/path', '*.', 'user@api.example.com', 'two words'])(
    'the hosts entry %p is refused by the constructor',
    (entry) => {
      expect(() => rig({ hosts: [entry] })).toThrow(expect.objectContaining({ code: 'invalid_request', field: 'hosts' }));
    },
  );
});

describe('what goes out', () => {
  it('keeps method, body and headers of a Request input', async () => {
    const r = rig();
    const request = new Request(`${API}/orders`, { method: 'POST', headers: { 'x-app': '1', 'content-type': 'application/json' }, body: '{"n":1}' });
    await r.client.fetch(request);
    expect(r.last().method).toBe('POST');
    expect(await r.last().text()).toBe('{"n":1}');
    expect(r.last().headers.get('x-app')).toBe('1');
    expect(r.last().headers.has('attestor-token')).toBe(true);
  });

  it.each([
    ['a plain object', { 'X-App': '1' }],
    ['an array of pairs', [['X-App', '1']] as [string, string][]],
    ['a Headers', new Headers({ 'X-App': '1' })],
  ])('keeps init.headers given as %s', async (_what, headers) => {
    const r = rig();
    await r.client.fetch(new URL(`${API}/orders`), { headers });
    expect(r.last().headers.get('x-app')).toBe('1');
    expect(r.last().headers.has('attestor-token')).toBe(true);
  });

  it('leaves a request that already has an Attestor-Token as it is', async () => {
    const r = rig();
    await r.client.fetch(`${API}/orders`, { headers: { 'Attestor-Token': 'my-own' } });
    expect(r.last().headers.get('attestor-token')).toBe('my-own');
    expect(r.requests).toEqual([]);
  });

  it('works detached from the client, as a plain function typed like fetch', async () => {
    const r = rig();
    const attestedFetch: typeof fetch = r.client.fetch;
    await attestedFetch(`${API}/orders`);
    expect(r.last().headers.has('attestor-token')).toBe(true);
  });

  it('reuses the cached token across requests', async () => {
    const r = rig();
    await Promise.all([r.client.fetch(`${API}/a`), r.client.fetch(`${API}/b`), r.client.fetch(`${API}/c`)]);
    expect(new Set(r.apiRequests.map((q) => q.headers.get('attestor-token'))).size).toBe(1);
    expect(r.requests).toEqual(['/v1/challenge', '/v1/attest']);
  });

  it('bindTo authorization binds each token to the request Authorization header', async () => {
    const r = rig({ bindTo: 'authorization' });
    await r.client.fetch(`${API}/a`, { headers: { authorization: 'Bearer alice' } });
    await r.client.fetch(`${API}/b`, { headers: { authorization: 'Bearer bob' } });
    await r.client.fetch(`${API}/c`);
    const [alice, bob, none] = await Promise.all(r.apiRequests.map((q) => r.verify(q.headers.get('attestor-token')!)));
    expect(alice!.pay).toBe(createHash('sha256').update('Bearer alice').digest('base64url'));
    expect(bob!.pay).toBe(createHash('sha256').update('Bearer bob').digest('base64url'));
    expect(none!.pay).toBeUndefined();
  });

  it('per-request options override the client: bindTo none, limitedUse', async () => {
    const r = rig({ bindTo: 'authorization' });
    await r.client.fetch(`${API}/a`, { headers: { authorization: 'Bearer alice' }, attestor: { bindTo: 'none' } });
    await r.client.fetch(`${API}/transfer`, { method: 'POST', attestor: { limitedUse: true } });
    await r.client.fetch(`${API}/transfer`, { method: 'POST', attestor: { limitedUse: true } });
    const [unbound, once, twice] = await Promise.all(r.apiRequests.map((q) => r.verify(q.headers.get('attestor-token')!)));
    expect(unbound!.pay).toBeUndefined();
    expect([once!.lut, twice!.lut]).toEqual([true, true]);
    expect(once!.jti).not.toBe(twice!.jti);
  });

  it('a proof of possession passes the service verifier and is a valid JWS signed by the install key', async () => {
    const r = rig({ proof: true });
    await r.client.fetch(`${API}/orders/7?expand=items#top`, { method: 'POST', body: '{}' });
    const token = r.last().headers.get('attestor-token')!;
    const proof = r.last().headers.get('attestor-proof')!;
    const claims = await r.verify(token);
    const checked = checkProof(proof, token, claims, { method: 'POST', url: `${API}/orders/7?other=query` }, r.clock.now);
    expect(checked.jkt).toBe(claims.did);

    const { payload, protectedHeader } = await compactVerify(proof, EmbeddedJWK);
    expect(protectedHeader).toEqual({
      typ: 'attestor-proof+jwt',
      alg: 'ES256',
      jwk: { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String) },
    });
    const body = JSON.parse(new TextDecoder().decode(payload));
    expect(body).toEqual({
      htm: 'POST',
      htu: `${API}/orders/7`,
      iat: r.clock.now,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      ath: createHash('sha256').update(token).digest('base64url'),
    });
    await r.client.fetch(`${API}/orders/7`, { method: 'POST', body: '{}' });
    expect(JSON.parse(Buffer.from(r.last().headers.get('attestor-proof')!.split('.')[1]!, 'base64url').toString()).jti).not.toBe(body.jti);
  });

  it('a proof for a lower-case method sends the method upper case, as the proof says', async () => {
    const r = rig();
    await r.client.fetch(`${API}/orders/7`, { method: 'patch', body: '{}', attestor: { proof: true } });
    expect(r.last().method).toBe('PATCH');
    const token = r.last().headers.get('attestor-token')!;
    expect(() =>
      checkProof(r.last().headers.get('attestor-proof')!, token, decodeToken(token), { method: 'PATCH', url: `${API}/orders/7` }, r.clock.now),
    ).not.toThrow();
  });
});

function decodeToken(token: string) {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
}

describe('when no token can be had the request still goes out', () => {
  const cases: Array<[string, Partial<AttestorClientOptions>, (s: ReturnType<typeof rig>) => void, string]> = [
    ['the service is unreachable', {}, (s) => (s.hooks.fault = () => 'network'), 'no_network'],
    ['the service fails', {}, (s) => (s.hooks.fault = () => new Response('{"error":"internal_error"}', { status: 500 })), 'service_error'],
    ['the service rate-limits', {}, (s) => (s.hooks.fault = () => new Response('{}', { status: 429, headers: { 'retry-after': '600' } })), 'rate_limited'],
    ['the request is rejected as invalid', {}, (s) => (s.hooks.fault = () => new Response('{"error":"invalid_request"}', { status: 400 })), 'client_error'],
    ['the package cannot be read', { packageSource: { digest: () => Promise.reject(new Error('EACCES')) } }, () => undefined, 'client_error'],
    ['the service is too slow', { timeoutMs: 20, now: Date.now }, (s) => (s.hooks.fault = () => 'hang'), 'timeout'],
  ];

  it.each(cases)('%s: Attestor-Status tells the backend, no token is sent', async (_what, options, breakIt, expected) => {
    const r = rig({ retry: { maxAttempts: 2 }, ...options });
    breakIt(r);
    const response = await r.client.fetch(`${API}/orders`, { headers: { 'x-app': '1' } });
    expect(response.status).toBe(200);
    expect(r.apiRequests).toHaveLength(1);
    expect(r.last().headers.get('attestor-status')).toBe(expected);
    expect(r.last().headers.has('attestor-token')).toBe(false);
    expect(r.last().headers.has('attestor-proof')).toBe(false);
    expect(r.last().headers.get('x-app')).toBe('1');
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'request_without_token', status: expected, host: 'api.example.com' }));
  });

  it('with the circuit open the status names the failure that opened it, and no time is spent', async () => {
    const r = rig({ retry: { maxAttempts: 1 } });
    r.hooks.fault = () => 'network';
    await r.client.fetch(`${API}/1`);
    await r.client.fetch(`${API}/2`);
    const before = r.requests.length;
    await r.client.fetch(`${API}/3`);
    expect(r.requests.length).toBe(before);
    expect(r.last().headers.get('attestor-status')).toBe('no_network');
  });

  it('a failure of the app request itself rejects exactly like plain fetch', async () => {
    const failure = new TypeError('fetch failed');
    const s = inProcessService({
      api: () => {
        throw failure;
      },
    });
    const client = s.client({ hosts: ['api.example.com'] });
    await expect(client.fetch(`${API}/orders`)).rejects.toBe(failure);
  });

  it('headers plain fetch refuses are refused the same way', async () => {
    const r = rig();
    const plain = await fetch(`${API}/x`, { headers: { 'bad header': 'x' } }).catch((e: unknown) => e);
    const wrapped = await r.client.fetch(`${API}/x`, { headers: { 'bad header': 'x' } }).catch((e: unknown) => e);
    // (jest gives each test file its own TypeError, so compare by name.)
    expect((wrapped as Error).name).toBe('TypeError');
    expect((wrapped as Error).message).toBe((plain as Error).message);
    expect(r.apiRequests).toEqual([]);
  });

  it('an abort while waiting for a token rejects at once with the abort reason and sends nothing', async () => {
    const r = rig();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    r.hooks.fault = async () => {
      await gate;
      return undefined;
    };
    const controller = new AbortController();
    const pending = r.client.fetch(`${API}/orders`, { signal: controller.signal });
    controller.abort(new Error('user left the screen'));
    await expect(pending).rejects.toThrow('user left the screen');
    expect(r.apiRequests).toEqual([]);
    release();
    // The shared attestation still completes for the next request.
    await r.client.fetch(`${API}/orders`);
    expect(r.last().headers.has('attestor-token')).toBe(true);
  });
});
