/**
 * AttestorClient against an in-process service made of the real core and the real HTTP handlers
 * (issueChallenge/attest behind challengeHandler/attestHandler), wired to the client through its
 * `fetch` option. Only the ports are fakes (test/support/memory.ts).
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { attest as coreAttest, cryptoRandom, type AttestationDeps } from '../../../src/core/attestation';
import type { TokenClaims } from '../../../src/core/token';
import { TokenVerificationError, verifyTokenWithKeys } from '../../../src/core/verify';
import { attestHandler } from '../../../src/handlers/attest';
import { challengeHandler } from '../../../src/handlers/challenge';
import { silentLogger } from '../../../src/handlers/log';
import {
  AttestorClient,
  AttestorError,
  bytesPackageSource,
  jwkThumbprint,
  memoryKeyStore,
  SDK_VERSION,
  type AttestorClientOptions,
  type KeyStore,
  type PackageSource,
  type StoredInstallKey,
} from '../../../src/sdk';
import vectors from '../../vectors/protocol-v1.json';
import { ManualClock, MemoryNonceStore, MemoryRegistry, MemorySigner } from '../../support/memory';

jest.mock('../../../src/core/attestation', () => {
  // Spy on the real attest() so tests can see what the service decided without changing it.
  const actual = jest.requireActual('../../../src/core/attestation');
  return { ...actual, attest: jest.fn(actual.attest) };
});

const APP_ID = 'com.example.shop';
const APP_VERSION = '2.3.1';
const TENANT = 'tenant-shop';
const ISSUER = 'attestor-test';
const GENUINE = new TextEncoder().encode('the genuine build of com.example.shop 2.3.1');
const TAMPERED = new TextEncoder().encode('the genuine build of com.example.shop 2.3.1 + a hook');

type Route = '/v1/challenge' | '/v1/attest';

function decodeClaims(token: string): TokenClaims & Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

function service() {
  const clock = new ManualClock();
  const registry = new MemoryRegistry();
  const signer = new MemorySigner();
  const deps: AttestationDeps = { nonces: new MemoryNonceStore(), registry, signer, clock, random: cryptoRandom, issuer: ISSUER, defaultTenantId: 'default' };
  registry.apps.set(APP_ID, { appId: APP_ID, tenantId: TENANT, createdAt: clock.now });
  registry.registrations.set(`${APP_ID}\0${APP_VERSION}`, {
    appId: APP_ID,
    version: APP_VERSION,
    sha256: createHash('sha256').update(GENUINE).digest('hex'),
    size: GENUINE.length,
    objectKey: 'builds/x',
    registeredAt: clock.now,
  });
  const handlers = { '/v1/challenge': challengeHandler(deps, silentLogger), '/v1/attest': attestHandler(deps, silentLogger) };
  const requests: Route[] = [];
  /** Lets a test change a request body on its way in, or act between the two requests. */
  const hooks: { beforeRequest?: (route: Route, body: Record<string, unknown>) => void } = {};

  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    expect(url.origin).toBe('https://attestor.test');
    expect(init?.method).toBe('POST');
    const route = url.pathname as Route;
    requests.push(route);
    const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
    hooks.beforeRequest?.(route, body);
    const event = { body: JSON.stringify(body), isBase64Encoded: false, httpMethod: 'POST', path: route, resource: route, headers: {} } as unknown as APIGatewayProxyEvent;
    const result = await handlers[route](event);
    return new Response(result.body, { status: result.statusCode, headers: result.headers as Record<string, string> });
  };

  const verify = async (token: string): Promise<TokenClaims> => {
    const keys = await signer.keys(TENANT);
    return verifyTokenWithKeys(token, (kid) => keys.get(kid), { issuer: ISSUER, audience: TENANT, nowSeconds: clock.now });
  };

  const client = (options: Partial<AttestorClientOptions> = {}) =>
    new AttestorClient({
      endpoint: 'https://attestor.test/',
      appId: APP_ID,
      appVersion: APP_VERSION,
      packageSource: bytesPackageSource(GENUINE),
      fetch: fetchFn,
      now: () => clock.now * 1000,
      ...options,
    });

  return { clock, registry, signer, requests, hooks, fetchFn, verify, client };
}

async function rejection(promise: Promise<unknown>): Promise<AttestorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttestorError);
  return error as AttestorError;
}

beforeEach(() => {
  (coreAttest as jest.Mock).mockClear();
});

describe('AttestorClient against the real core', () => {
  it('a genuine build gets a token signed by the tenant key that verifies', async () => {
    const s = service();
    const keyStore = memoryKeyStore();
    const token = await s.client({ keyStore }).getToken();

    const claims = await s.verify(token);
    const stored = (await keyStore.load())!;
    const did = await jwkThumbprint({ kty: 'EC', crv: 'P-256', x: stored.x, y: stored.y });
    expect(claims).toMatchObject({ iss: ISSUER, sub: APP_ID, aud: TENANT, ver: APP_VERSION, did, cnf: { jkt: did } });
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims).not.toHaveProperty('pay');
    expect(claims).not.toHaveProperty('lut');
    expect(s.signer.calls).toEqual(['tenant']);
    expect(s.requests).toEqual(['/v1/challenge', '/v1/attest']);
    const [, request] = (coreAttest as jest.Mock).mock.calls[0]!;
    expect(request).toMatchObject({ sdkVersion: SDK_VERSION, device: { platform: 'unknown', signals: { rooted: false, emulator: false, debugger: false, hooked: false } } });
  });

  it('a tampered package gets a decoy token of the same shape that does not verify', async () => {
    const s = service();
    const genuine = await s.client().getToken();
    const tampered = await s.client({ packageSource: bytesPackageSource(TAMPERED) }).getToken();

    expect(s.signer.calls).toEqual(['tenant', 'decoy']);
    const verdict = await (coreAttest as jest.Mock).mock.results[1]!.value;
    expect(verdict.verdict.reasons).toEqual(['measurement_mismatch']);
    await expect(s.verify(tampered)).rejects.toMatchObject({ code: 'bad_signature' });
    await expect(s.verify(tampered)).rejects.toBeInstanceOf(TokenVerificationError);
    // The client cannot tell: same header, same claim names.
    expect(tampered.split('.')[0]).toBe(genuine.split('.')[0]);
    expect(Object.keys(decodeClaims(tampered))).toEqual(Object.keys(decodeClaims(genuine)));
  });

  it('reported device signals reach the policy (hooked fails by default)', async () => {
    const s = service();
    const signals = { signals: async () => ({ rooted: false, emulator: false, debugger: false, hooked: true }) };
    await s.client({ signals }).getToken();
    expect(s.signer.calls).toEqual(['decoy']);
  });

  it('caches the token: a second getToken makes no request', async () => {
    const s = service();
    const client = s.client();
    const first = await client.getToken();
    const second = await client.getToken();
    expect(second).toBe(first);
    expect(s.requests).toHaveLength(2);
  });

  it('refreshes once less than 20% of the life is left', async () => {
    const s = service();
    const client = s.client();
    const first = await client.getToken();

    s.clock.advance(239); // 61 of 300 s left: more than 20%
    expect(await client.getToken()).toBe(first);
    expect(s.requests).toHaveLength(2);

    s.clock.advance(1); // exactly 20% left: no longer "more than"
    const second = await client.getToken();
    expect(second).not.toBe(first);
    expect(s.requests).toHaveLength(4);
    expect((await s.verify(second)).iat).toBe(s.clock.now);
  });

  it('attests again when the local clock goes backwards', async () => {
    const s = service();
    let offsetMs = 0;
    const client = s.client({ now: () => s.clock.now * 1000 + offsetMs });
    await client.getToken();
    offsetMs = -3_600_000;
    await client.getToken();
    expect(s.requests).toHaveLength(4);
  });

  it('single flight: 10 concurrent getToken calls share one challenge and one attest', async () => {
    const s = service();
    const client = s.client();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => client.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(s.requests).toEqual(['/v1/challenge', '/v1/attest']);
  });

  it('a failed attestation is given to every waiting caller and not cached', async () => {
    const s = service();
    let down = true;
    const client = s.client({ fetch: (input, init) => (down ? Promise.reject(new TypeError('fetch failed')) : s.fetchFn(input, init)) });
    const results = await Promise.allSettled([client.getToken(), client.getToken(), client.getToken()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    down = false;
    await s.verify(await client.getToken());
    expect(s.requests).toEqual(['/v1/challenge', '/v1/attest']);
  });

  it('attest() binds a value and asks for a single-use token, without touching the cache', async () => {
    const s = service();
    const client = s.client();
    const { token, expiresAt } = await client.attest({ bind: 'Bearer abc', limitedUse: true });
    const claims = await s.verify(token);
    expect(claims.pay).toBe(createHash('sha256').update('Bearer abc').digest('base64url'));
    expect(claims.lut).toBe(true);
    expect(expiresAt).toBe(claims.exp);
    await client.getToken();
    expect(s.requests).toHaveLength(4);
  });

  it('hashes the package once per client', async () => {
    const s = service();
    const inner = bytesPackageSource(GENUINE);
    const packageSource: PackageSource = { digest: jest.fn(() => inner.digest()) };
    const client = s.client({ packageSource });
    await client.getToken();
    await client.attest();
    await client.attest();
    expect(packageSource.digest).toHaveBeenCalledTimes(1);
  });

  it('retries the package digest after a failure instead of remembering it', async () => {
    const s = service();
    const inner = bytesPackageSource(GENUINE);
    const digest = jest.fn<Promise<Uint8Array>, []>().mockRejectedValueOnce(new Error('disk busy')).mockImplementation(() => inner.digest());
    const client = s.client({ packageSource: { digest } });
    await expect(client.getToken()).rejects.toThrow('disk busy');
    expect(s.requests).toEqual([]); // local failures spend no nonce
    await s.verify(await client.getToken());
  });

  it('clips overlong device fields instead of getting the request rejected', async () => {
    const s = service();
    const token = await s.client({ device: { platform: 'p'.repeat(40), osVersion: 'o'.repeat(70), model: `${'m'.repeat(127)}😀` } }).getToken();
    await s.verify(token);
    const [, request] = (coreAttest as jest.Mock).mock.calls[0]!;
    expect(request.device).toMatchObject({ platform: 'p'.repeat(32), osVersion: 'o'.repeat(64), model: 'm'.repeat(127) });
  });
});

describe('install key', () => {
  it('is generated once, persisted, and reused by the next client', async () => {
    const s = service();
    const keyStore = memoryKeyStore();
    const save = jest.spyOn(keyStore, 'save');
    const first = s.client({ keyStore });
    await Promise.all([first.attest(), first.attest(), first.attest()]);
    const again = await s.client({ keyStore }).getToken();
    const other = await s.client({ keyStore: memoryKeyStore() }).getToken();

    expect(save).toHaveBeenCalledTimes(1);
    const dids = new Set((coreAttest as jest.Mock).mock.calls.slice(0, 3).map(([, r]) => r.installKey.x));
    expect(dids.size).toBe(1);
    expect((await s.verify(again)).did).toBe(decodeClaims((await (coreAttest as jest.Mock).mock.results[0]!.value).token).did);
    expect((await s.verify(other)).did).not.toBe((await s.verify(again)).did);
  });

  it('uses a stored key as is', async () => {
    const s = service();
    const vector = vectors.cases[0]!;
    const token = await s.client({ keyStore: memoryKeyStore(vector.input.installKey as StoredInstallKey) }).getToken();
    expect((await s.verify(token)).did).toBe(vector.expected.thumbprint);
  });

  const [keyA, keyB] = [vectors.cases[0]!.input.installKey, vectors.cases[1]!.input.installKey];
  it.each([
    ['not an object', 'garbage'],
    ['null', null],
    ['a wrong curve', { ...keyA, crv: 'P-384' }],
    ['a truncated coordinate', { ...keyA, x: keyA.x.slice(1) }],
    ['a point off the curve', { ...keyA, y: keyB.y }],
    ['d of another key', { ...keyA, d: keyB.d }],
  ])('a corrupt stored key (%s) is replaced by a new one, not a crash', async (_what, corrupt) => {
    const s = service();
    let stored: unknown = corrupt;
    const keyStore: KeyStore = {
      load: async () => stored as StoredInstallKey,
      save: jest.fn(async (key: StoredInstallKey) => {
        stored = key;
      }),
    };
    const token = await s.client({ keyStore }).getToken();
    const claims = await s.verify(token);
    expect(keyStore.save).toHaveBeenCalledTimes(1);
    const saved = stored as StoredInstallKey;
    expect(saved.x).not.toBe(keyA.x);
    expect(claims.did).toBe(await jwkThumbprint({ kty: 'EC', crv: 'P-256', x: saved.x, y: saved.y }));
  });

  it('a stored key whose d does not match x/y is replaced even on a platform that imports it', async () => {
    // Node refuses such a JWK at import; some WebCrypto polyfills derive the public point from d
    // and ignore x/y. Emulate one: without the client's sign/verify self-test the install proof
    // would fail and every attestation would silently get a decoy token.
    const subtle = globalThis.crypto.subtle;
    const realImport = subtle.importKey.bind(subtle) as (...args: unknown[]) => Promise<CryptoKey>;
    const lenient = jest.spyOn(subtle, 'importKey').mockImplementation(((format: string, keyData: JsonWebKey, ...rest: unknown[]) =>
      realImport(format, format === 'jwk' && keyData.d === keyB.d ? { ...keyData, x: keyB.x, y: keyB.y } : keyData, ...rest)) as unknown as typeof subtle.importKey);
    try {
      const s = service();
      const keyStore = memoryKeyStore({ ...keyA, d: keyB.d } as StoredInstallKey);
      const token = await s.client({ keyStore }).getToken();
      await s.verify(token);
      expect((await keyStore.load())!.d).not.toBe(keyB.d);
    } finally {
      lenient.mockRestore();
    }
  });

  it('a key store that cannot be read fails the attestation instead of replacing the key', async () => {
    const s = service();
    const keyStore: KeyStore = { load: async () => Promise.reject(new Error('EIO')), save: jest.fn() };
    await expect(s.client({ keyStore }).getToken()).rejects.toThrow('EIO');
    expect(keyStore.save).not.toHaveBeenCalled();
  });
});

describe('typed errors', () => {
  it('409 from an expired nonce is nonce_invalid, and the message carries no nonce', async () => {
    const s = service();
    let nonce = '';
    s.hooks.beforeRequest = (route, body) => {
      if (route === '/v1/attest') {
        nonce = String(body['nonce']);
        s.clock.advance(61);
      }
    };
    const error = await rejection(s.client().getToken());
    expect(error).toMatchObject({ code: 'nonce_invalid', status: 409 });
    expect(nonce).toHaveLength(43);
    expect(`${error.message} ${error.stack}`).not.toContain(nonce);
  });

  it('400 is invalid_request naming the field the service rejected', async () => {
    const s = service();
    s.hooks.beforeRequest = (route, body) => {
      if (route === '/v1/attest') (body['installKey'] as Record<string, unknown>)['crv'] = 'P-384';
    };
    const error = await rejection(s.client().getToken());
    expect(error).toMatchObject({ code: 'invalid_request', status: 400, field: 'installKey.crv' });
    expect(error.message).toContain('installKey.crv must be "P-256"');
  });

  it('a rejected fetch is network', async () => {
    const s = service();
    const error = await rejection(s.client({ fetch: () => Promise.reject(new TypeError('fetch failed')) }).getToken());
    expect(error).toMatchObject({ code: 'network', status: undefined });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('a request slower than timeoutMs is timeout, and it is aborted', async () => {
    const s = service();
    let aborted = false;
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => {
          aborted = true;
          reject(new DOMException('aborted', 'AbortError'));
        });
      });
    const error = await rejection(s.client({ fetch: hanging, timeoutMs: 20 }).getToken());
    expect(error.code).toBe('timeout');
    expect(aborted).toBe(true);
  });

  it.each([
    ['a 500', () => new Response('{"error":"internal_error"}', { status: 500 })],
    ['a 502 without JSON', () => new Response('<html>bad gateway</html>', { status: 502 })],
    ['a 200 with a short nonce', () => new Response('{"nonce":"AAAA","expiresAt":1}', { status: 200 })],
    ['a 200 that is not JSON', () => new Response('ok', { status: 200 })],
  ])('%s is service_error', async (_what, respond) => {
    const s = service();
    const error = await rejection(s.client({ fetch: async () => respond() }).getToken());
    expect(error.code).toBe('service_error');
  });

  it.each([
    ['appId', { appId: 'shop' }],
    ['appVersion', { appVersion: '1.0 beta' }],
    ['endpoint', { endpoint: 'attestor.test' }],
    ['timeoutMs', { timeoutMs: 0 }],
  ])('bad %s is refused by the constructor before any request', (field, options) => {
    const s = service();
    expect(() => s.client(options)).toThrow(expect.objectContaining({ code: 'invalid_request', field }));
    expect(s.requests).toEqual([]);
  });
});
