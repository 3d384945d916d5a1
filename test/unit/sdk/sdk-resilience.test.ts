/**
 * Resilience of AttestorClient against the in-process service with injected faults: retries with
 * full-jitter backoff, Retry-After, the total deadline, the circuit breaker, background refresh
 * and stale tokens. Time is injected (the client's `now` and `sleep`), so nothing here waits.
 */
import { AttestorError, type AttestorClientOptions, type AttestorEvent } from '../../../packages/sdk/src/index';
import { backoffDelayMs, DEFAULT_RETRY, parseRetryAfter } from '../../../packages/sdk/src/resilience';
import { clientClock } from '../../support/client-clock';
import { inProcessService, rejection, type Fault, type Route } from './in-process-service';

/** A service whose faults follow a script, and a client on a local clock that only `sleep` moves. */
function rig(script: Fault[] = [], overrides: Partial<AttestorClientOptions> = {}) {
  const s = inProcessService();
  const queue = [...script];
  s.hooks.fault = (route: Route) => (route === '/v1/challenge' ? queue.shift() : undefined);
  const clock = clientClock(1_000_000);
  const client = s.client({ ...clock.options, ...overrides });
  const advance = (ms: number) => {
    clock.advance(ms);
    s.clock.advance(Math.floor(ms / 1000));
  };
  return { ...s, client, sleeps: clock.sleeps, events: clock.events, advance, queue, nowMs: clock.nowMs };
}

const status = (code: number, headers: Record<string, string> = {}) => new Response(JSON.stringify({ error: 'x' }), { status: code, headers });

describe('retries', () => {
  it('network errors are retried with full-jitter exponential backoff, then succeed', async () => {
    const r = rig(['network', 'network', 'network']);
    const token = await r.client.getToken();
    await r.verify(token);
    // random() = 0.5 of caps 250, 500, 1000 ms.
    expect(r.sleeps).toEqual([125, 250, 500]);
    expect(r.events.filter((e) => e.type === 'retry')).toEqual([
      { type: 'retry', attempt: 1, delayMs: 125, code: 'network' },
      { type: 'retry', attempt: 2, delayMs: 250, code: 'network' },
      { type: 'retry', attempt: 3, delayMs: 500, code: 'network' },
    ]);
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'token_issued', attempts: 4 }));
  });

  it('gives up after maxAttempts with the last error', async () => {
    const r = rig(['network', 'network', 'network', 'network', 'network']);
    const error = await rejection(r.client.getToken());
    expect(error.code).toBe('network');
    expect(r.requests).toEqual(['/v1/challenge', '/v1/challenge', '/v1/challenge', '/v1/challenge']);
    expect(r.events).toContainEqual(expect.objectContaining({ type: 'attestation_failed', code: 'network', attempts: 4 }));
  });

  it.each([500, 502, 503, 504, 408])('HTTP %i is retried', async (code) => {
    const r = rig([status(code)]);
    await r.verify(await r.client.getToken());
    expect(r.requests).toEqual(['/v1/challenge', '/v1/challenge', '/v1/attest']);
  });

  it.each([
    [400, 'invalid_request'],
    [403, 'service_error'],
    [404, 'service_error'],
  ])('HTTP %i is not retried (%s)', async (code, expected) => {
    const r = rig([status(code)]);
    const error = await rejection(r.client.getToken());
    expect(error).toMatchObject({ code: expected, status: code });
    expect(r.requests).toEqual(['/v1/challenge']);
    expect(r.sleeps).toEqual([]);
  });

  it('a 200 that does not follow the protocol is not retried', async () => {
    const r = rig([new Response('{"nonce":"short","expiresAt":1}', { status: 200 })]);
    expect((await rejection(r.client.getToken())).code).toBe('service_error');
    expect(r.requests).toEqual(['/v1/challenge']);
  });

  it('409 nonce_invalid starts over at once with a fresh challenge', async () => {
    const r = rig();
    let expireNext = true;
    r.hooks.beforeRequest = (route) => {
      if (route === '/v1/attest' && expireNext) {
        expireNext = false;
        r.clock.advance(61);
      }
    };
    await r.verify(await r.client.getToken());
    expect(r.requests).toEqual(['/v1/challenge', '/v1/attest', '/v1/challenge', '/v1/attest']);
    expect(r.sleeps).toEqual([]);
    expect(r.events).toContainEqual({ type: 'retry', attempt: 1, delayMs: 0, code: 'nonce_invalid', status: 409 });
  });

  it('429 waits for Retry-After (seconds) instead of the backoff', async () => {
    const r = rig([status(429, { 'retry-after': '3' })]);
    await r.verify(await r.client.getToken());
    expect(r.sleeps).toEqual([3000]);
  });

  it('503 with Retry-After as an HTTP date waits until then', async () => {
    const r = rig();
    r.queue.push(status(503, { 'retry-after': new Date(r.nowMs() + 2000).toUTCString() }));
    await r.verify(await r.client.getToken());
    expect(r.sleeps).toHaveLength(1);
    expect(r.sleeps[0]).toBeGreaterThan(1000);
    expect(r.sleeps[0]).toBeLessThanOrEqual(2000);
  });

  it('a Retry-After beyond the deadline gives up as rate_limited and holds every call until then', async () => {
    const r = rig([status(429, { 'retry-after': '60' })]);
    const error = await rejection(r.client.getToken());
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryAtMs: r.nowMs() + 60_000 });
    expect(r.sleeps).toEqual([]);

    const held = await rejection(r.client.getToken());
    expect(held).toMatchObject({ code: 'circuit_open', retryAtMs: r.nowMs() + 60_000 });
    expect(held.cause).toBe(error);
    expect(r.requests).toEqual(['/v1/challenge']);

    r.advance(60_000);
    await r.verify(await r.client.getToken());
  });

  it('no retry runs past timeoutMs: the whole attestation has one budget', async () => {
    // random() = 1: waits of 250, 500, then 1000 ms, which would end past the 1000 ms budget.
    const r = rig(['network', 'network', 'network', 'network'], { timeoutMs: 1000, random: () => 1 });
    const error = await rejection(r.client.getToken());
    expect(error.code).toBe('network');
    expect(r.sleeps).toEqual([250, 500]);
    expect(r.requests).toHaveLength(3);
  });

  it('a request that hangs past the budget is aborted as timeout', async () => {
    let aborted = false;
    const client = inProcessService().client({
      timeoutMs: 30,
      now: Date.now,
      fetch: (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => {
            aborted = true;
            reject(new DOMException('aborted', 'AbortError'));
          });
        }),
    });
    expect((await rejection(client.getToken())).code).toBe('timeout');
    expect(aborted).toBe(true);
  });

  it('a package source slower than the budget times out without calling the service', async () => {
    const r = rig([], { timeoutMs: 20, now: Date.now, packageSource: { digest: () => new Promise<Uint8Array>(() => undefined) } });
    expect((await rejection(r.client.getToken())).code).toBe('timeout');
    expect(r.requests).toEqual([]);
  });

  it('the backoff is full jitter: anywhere from 0 to the capped exponential', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelayMs(DEFAULT_RETRY, attempt, () => 0.999999))).toEqual([249, 499, 999, 1999, 3999, 3999, 3999]);
    expect(backoffDelayMs(DEFAULT_RETRY, 3, () => 0)).toBe(0);
  });

  it.each([
    ['120', 120_000],
    ['0', 0],
    [new Date(1_000_000 + 5_000).toUTCString(), 5_000],
    [new Date(1_000_000 - 5_000).toUTCString(), 0],
    ['soon', undefined],
    ['-3', undefined],
  ])('Retry-After %p is %p ms', (header, expected) => {
    // HTTP dates have whole seconds; pick "now" on a second boundary.
    expect(parseRetryAfter(header, 1_000_000)).toBe(expected);
  });
});

describe('circuit breaker', () => {
  const down = (): Fault => 'network';

  it('opens after two failed attestations, fails fast while open, lets one trial through after the cool-down', async () => {
    const r = rig([], { retry: { maxAttempts: 1 } });
    r.hooks.fault = down;
    await rejection(r.client.getToken());
    expect(r.client.status()).toMatchObject({ circuit: 'closed', consecutiveFailures: 1, lastError: { code: 'network' } });
    await rejection(r.client.getToken());
    // cool-down 5000 ms jittered to 0.5 + 0.5 * random() = 75%.
    expect(r.client.status()).toMatchObject({ circuit: 'open', retryAtMs: r.nowMs() + 3750, consecutiveFailures: 2 });
    expect(r.events).toContainEqual({ type: 'circuit', state: 'open', retryAtMs: r.nowMs() + 3750 });

    const fast = await rejection(r.client.getToken());
    expect(fast).toMatchObject({ code: 'circuit_open', retryAtMs: r.nowMs() + 3750 });
    expect((fast.cause as AttestorError).code).toBe('network');
    expect(r.requests).toHaveLength(2);

    r.advance(3750);
    expect(r.client.status().circuit).toBe('half_open');
    await rejection(r.client.getToken()); // the trial fails: open again, twice as long
    expect(r.requests).toHaveLength(3);
    expect(r.client.status()).toMatchObject({ circuit: 'open', retryAtMs: r.nowMs() + 7500 });

    r.advance(7500);
    r.hooks.fault = undefined;
    await r.verify(await r.client.getToken());
    expect(r.client.status()).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
    expect(r.events.filter((e) => e.type === 'circuit').map((e) => (e as { state: string }).state)).toEqual([
      'open',
      'half_open',
      'open',
      'half_open',
      'closed',
    ]);
  });

  it('half-open admits a single trial; concurrent attestations fail fast', async () => {
    const r = rig([], { retry: { maxAttempts: 1 }, circuit: { failureThreshold: 1, cooldownMs: 1000 } });
    r.hooks.fault = down;
    await rejection(r.client.getToken());
    r.advance(1000);
    r.hooks.fault = undefined;
    const [trial, other] = await Promise.allSettled([r.client.getToken(), r.client.getLimitedUseToken()]);
    expect(trial.status).toBe('fulfilled');
    expect(other).toMatchObject({ status: 'rejected', reason: { code: 'circuit_open' } });
    await r.client.getLimitedUseToken();
  });

  it('failures on the device (package source) do not count against the service', async () => {
    const r = rig([], { packageSource: { digest: async () => Promise.reject(new Error('disk busy')) } });
    for (let i = 0; i < 5; i++) expect((await rejection(r.client.getToken())).code).toBe('local_error');
    expect(r.client.status()).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
    expect(r.requests).toEqual([]);
  });

  it('a signal provider that throws fails locally instead of reporting a clean device', async () => {
    const r = rig([], { signals: { signals: async () => Promise.reject(new Error('root check crashed')) } });
    const error = await rejection(r.client.getToken());
    expect(error).toMatchObject({ code: 'local_error', message: 'a signal provider failed: root check crashed' });
    expect(r.requests).toEqual([]);
  });

  it.each([
    ['circuit.failureThreshold', { circuit: { failureThreshold: 0 } }],
    ['circuit.maxCooldownMs', { circuit: { cooldownMs: 10, maxCooldownMs: 5 } }],
    ['retry.maxAttempts', { retry: { maxAttempts: 1.5 } }],
    ['retry.baseDelayMs', { retry: { baseDelayMs: -1 } }],
    ['retry.maxDelayMs', { retry: { baseDelayMs: 100, maxDelayMs: 50 } }],
  ])('an invalid %s is refused by the constructor', (field, options) => {
    expect(() => rig([], options as Partial<AttestorClientOptions>)).toThrow(expect.objectContaining({ code: 'invalid_request', field }));
  });
});

describe('refresh', () => {
  it('with a third of its life left the cached token is returned and one refresh runs in the background', async () => {
    const s = inProcessService();
    const events: AttestorEvent[] = [];
    const client = s.client({ onEvent: (e) => events.push(e) });
    const first = await client.getToken();
    s.clock.advance(201); // 99 of 300 s left: under a third, over 20%
    expect(client.status().token).toBe('refresh_due');
    const [a, b] = await Promise.all([client.getToken(), client.getToken()]);
    expect([a, b]).toEqual([first, first]);
    await client.prefetch(); // waits for the background refresh
    expect(s.requests).toEqual(['/v1/challenge', '/v1/attest', '/v1/challenge', '/v1/attest']);
    const second = await client.getToken();
    expect(second).not.toBe(first);
    expect((await s.verify(second)).iat).toBe(s.clock.now);
    expect(events.filter((e) => e.type === 'token_issued').map((e) => (e as { background: boolean }).background)).toEqual([false, true]);
    expect(client.status().token).toBe('fresh');
  });

  it('a failed background refresh keeps the cached token and is reported', async () => {
    const s = inProcessService();
    const events: AttestorEvent[] = [];
    const client = s.client({ onEvent: (e) => events.push(e), retry: { maxAttempts: 1 } });
    const first = await client.getToken();
    s.clock.advance(210);
    s.hooks.fault = () => 'network';
    expect(await client.getToken()).toBe(first);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toContainEqual(expect.objectContaining({ type: 'attestation_failed', code: 'network', background: true }));
  });

  it('no background refresh is attempted while the circuit is open', async () => {
    const s = inProcessService();
    const events: AttestorEvent[] = [];
    const client = s.client({ onEvent: (e) => events.push(e), retry: { maxAttempts: 1 }, circuit: { failureThreshold: 1, cooldownMs: 3_600_000 } });
    const first = await client.getToken();
    await client.getLimitedUseToken({ binding: 'x' });
    s.hooks.fault = () => 'network';
    await client.getLimitedUseToken().catch(() => undefined); // opens the circuit
    s.clock.advance(210);
    const before = s.requests.length;
    for (let i = 0; i < 5; i++) expect(await client.getToken()).toBe(first);
    await new Promise((resolve) => setImmediate(resolve));
    expect(s.requests.length).toBe(before);
    expect(events.filter((e) => e.type === 'attestation_failed')).toHaveLength(1);
  });

  it('below 20% a failed refresh still hands out the unexpired token (stale_token), and nothing once it expired', async () => {
    const s = inProcessService();
    const events: AttestorEvent[] = [];
    const client = s.client({ onEvent: (e) => events.push(e), retry: { maxAttempts: 1 }, circuit: { failureThreshold: 10 } });
    const first = await client.getToken();
    s.clock.advance(250);
    s.hooks.fault = () => 'network';
    expect(client.status().token).toBe('expiring');
    expect(await client.getToken()).toBe(first);
    expect(events).toContainEqual({ type: 'stale_token', code: 'network', expiresInMs: 50_000 });
    s.clock.advance(50);
    expect(client.status().token).toBe('none');
    expect((await rejection(client.getToken())).code).toBe('network');
  });

  it('prefetch warms the package digest, the key and the token, and never rejects', async () => {
    const s = inProcessService();
    const broken = s.client({ packageSource: { digest: () => Promise.reject(new Error('no package')) } });
    await expect(broken.prefetch()).resolves.toBeUndefined();

    const client = s.client();
    await client.prefetch();
    expect(s.requests).toEqual(['/v1/challenge', '/v1/attest']);
    await client.getToken();
    expect(s.requests).toHaveLength(2);
  });

  it('invalidate forgets cached tokens', async () => {
    const s = inProcessService();
    const client = s.client();
    const first = await client.getToken();
    const bound = await client.getToken({ binding: 'b' });
    client.invalidate();
    expect(await client.getToken()).not.toBe(first);
    expect(await client.getToken({ binding: 'b' })).not.toBe(bound);
    expect(s.requests).toHaveLength(8);
  });
});

describe('events', () => {
  it('a listener that throws does not break attestation; onEvent returns an unsubscribe', async () => {
    const s = inProcessService();
    const client = s.client({
      onEvent: () => {
        throw new Error('logger down');
      },
    });
    const seen: string[] = [];
    const stop = client.onEvent((e) => seen.push(e.type));
    await s.verify(await client.getToken());
    stop();
    await client.getLimitedUseToken();
    expect(seen).toEqual(['install_key', 'token_issued']);
  });

  it('no event carries a token, nonce, proof, binding value or debug secret', async () => {
    const s = inProcessService();
    const debugSecret = Buffer.alloc(32, 7).toString('base64url');
    const events: AttestorEvent[] = [];
    const sent: string[] = [];
    s.hooks.beforeRequest = (_route, body) => sent.push(String(body['nonce'] ?? ''), String(body['installProof'] ?? ''), String(body['measurement'] ?? ''));
    const client = s.client({ debugSecret, onEvent: (e) => events.push(e), retry: { maxAttempts: 1 } });
    const token = await client.getToken({ binding: 'Bearer secret-session' });
    s.hooks.fault = () => 'network';
    await client.getLimitedUseToken().catch(() => undefined);
    const text = JSON.stringify(events);
    for (const secret of [token, debugSecret, 'secret-session', ...sent.filter((x) => x.length > 0)]) expect(text).not.toContain(secret);
    expect(events.length).toBeGreaterThan(2);
  });
});
