/**
 * AttestorClient against an in-process service made of the real core and the real HTTP handlers
 * (./in-process-service.ts): protocol, caching, binding, install keys, typed errors.
 */
import { createHash } from 'node:crypto';
import { attest as coreAttest } from '../../../packages/service/src/core/attestation';
import { TokenVerificationError } from '../../../packages/verify/src/core/verify';
import {
  bytesPackageSource,
  jwkThumbprint,
  memoryKeyStore,
  SDK_VERSION,
  type AttestorEvent,
  type KeyStore,
  type PackageSource,
  type StoredInstallKey,
} from '../../../packages/sdk/src/index';
import vectors from '../../vectors/protocol-v2.json';
import { APP_ID, APP_VERSION, decodeClaims, GENUINE, inProcessService, ISSUER, rejection, TAMPERED, TENANT } from './in-process-service';

jest.mock('../../../packages/service/src/core/attestation', () => {
  // Spy on the real attest() so tests can see what the service decided without changing it.
  const actual = jest.requireActual('../../../packages/service/src/core/attestation');
  return { ...actual, attest: jest.fn(actual.attest) };
});

const service = inProcessService;

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
    expect(claims).toMatchObject({ iss: ISSUER, sub: APP_ID, ver: APP_VERSION, did, cnf: { jkt: did } });
    expect(claims).not.toHaveProperty('aud');
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims).not.toHaveProperty('pay');
    expect(claims).not.toHaveProperty('lut');
    expect(s.requests).toEqual(['/v1/challenge', '/v1/attest']);
    const [, request] = (coreAttest as jest.Mock).mock.calls[0]!;
    expect(request).toMatchObject({
      sdkVersion: SDK_VERSION,
      device: { platform: 'unknown', signals: { rooted: false, emulator: false, debugger: false, hooked: false } },
    });
  });

  it('a tampered package gets a decoy token of the same shape that does not verify', async () => {
    const s = service();
    const genuine = await s.client().getToken();
    const tampered = await s.client({ packageSource: bytesPackageSource(TAMPERED) }).getToken();

    expect([await s.passed(genuine), await s.passed(tampered)]).toEqual([true, false]);
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
    expect(await s.passed(await s.client({ signals }).getToken())).toBe(false);
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

  it('getLimitedUseToken asks for a single-use token every time and never touches the cache', async () => {
    const s = service();
    const client = s.client();
    const first = await client.getLimitedUseToken();
    const second = await client.getLimitedUseToken({ binding: 'Bearer abc' });
    const [a, b] = [await s.verify(first), await s.verify(second)];
    expect(a.lut).toBe(true);
    expect(a).not.toHaveProperty('pay');
    expect(b).toMatchObject({ lut: true, pay: createHash('sha256').update('Bearer abc').digest('base64url') });
    expect(a.jti).not.toBe(b.jti);
    const cached = await client.getToken();
    expect(await s.verify(cached)).not.toHaveProperty('lut');
    expect(s.requests).toHaveLength(6);
  });

  it('a binding value gets its own token, reused for the same value; a new value forces a new token', async () => {
    const s = service();
    const client = s.client();
    const unbound = await client.getToken();
    const boundA = await client.getToken({ binding: 'Bearer A' });
    const boundAagain = await client.getToken({ binding: 'Bearer A' });
    const boundB = await client.getToken({ binding: 'Bearer B' });
    expect(boundAagain).toBe(boundA);
    expect(new Set([unbound, boundA, boundB]).size).toBe(3);
    expect((await s.verify(unbound)).pay).toBeUndefined();
    expect((await s.verify(boundA)).pay).toBe(createHash('sha256').update('Bearer A').digest('base64url'));
    expect((await s.verify(boundB)).pay).toBe(createHash('sha256').update('Bearer B').digest('base64url'));
    expect(await client.getToken()).toBe(unbound);
    expect(s.requests).toHaveLength(6);
    // The raw binding value never leaves the device, only its hash.
    const [, request] = (coreAttest as jest.Mock).mock.calls[1]!;
    expect(JSON.stringify(request)).not.toContain('Bearer A');
  });

  it('a binding that is not a string is refused without a request', async () => {
    const s = service();
    const error = await rejection(s.client().getToken({ binding: 42 as unknown as string }));
    expect(error).toMatchObject({ code: 'invalid_request', field: 'binding' });
    expect(s.requests).toEqual([]);
  });

  it('hashes the package once per client', async () => {
    const s = service();
    const inner = bytesPackageSource(GENUINE);
    const packageSource: PackageSource = { digest: jest.fn(() => inner.digest()) };
    const client = s.client({ packageSource });
    await client.getToken();
    await client.getLimitedUseToken();
    await client.getLimitedUseToken();
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
    // The emoji is one code point outside printable ASCII: one '?', which still fits.
    expect(request.device).toMatchObject({ platform: 'p'.repeat(32), osVersion: 'o'.repeat(64), model: `${'m'.repeat(127)}?` });
  });

  it('replaces what the service refuses in device fields (control characters, non-ASCII) instead of getting the request rejected', async () => {
    const s = service();
    const token = await s.client({ device: { platform: 'android\u202e', osVersion: '14\u009b2J', model: 'Pixel\u001b]52;c;cm0gLXJm\u0007 8' } }).getToken();
    await s.verify(token);
    const [, request] = (coreAttest as jest.Mock).mock.calls[0]!;
    expect(request.device).toMatchObject({ platform: 'android?', osVersion: '14?2J', model: 'Pixel?]52;c;cm0gLXJm? 8' });
  });
});

describe('install key', () => {
  it('is generated once, persisted, and reused by the next client', async () => {
    const s = service();
    const keyStore = memoryKeyStore();
    const save = jest.spyOn(keyStore, 'save');
    const first = s.client({ keyStore });
    await Promise.all([first.getLimitedUseToken(), first.getLimitedUseToken(), first.getLimitedUseToken()]);
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
    const lenient = jest
      .spyOn(subtle, 'importKey')
      .mockImplementation(((format: string, keyData: JsonWebKey, ...rest: unknown[]) =>
        realImport(
          format,
          format === 'jwk' && keyData.d === keyB.d ? { ...keyData, x: keyB.x, y: keyB.y } : keyData,
          ...rest,
        )) as unknown as typeof subtle.importKey);
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

  it('a key store that cannot be read: attests with an in-memory key and leaves the store alone', async () => {
    const s = service();
    let readable = false;
    const stored = memoryKeyStore(vectors.cases[0]!.input.installKey as StoredInstallKey);
    const keyStore: KeyStore = { load: async () => (readable ? stored.load() : Promise.reject(new Error('EIO: keychain locked'))), save: jest.fn() };
    const events: AttestorEvent[] = [];
    const client = s.client({ keyStore, onEvent: (e) => events.push(e) });

    const first = await s.verify(await client.getLimitedUseToken());
    const second = await s.verify(await client.getLimitedUseToken());
    expect(keyStore.save).not.toHaveBeenCalled();
    expect(second.did).toBe(first.did); // one identity per process while storage is broken
    expect(first.did).not.toBe(vectors.cases[0]!.expected.thumbprint);
    expect(events).toContainEqual({ type: 'install_key', outcome: 'ephemeral', problem: 'key store could not be read: EIO: keychain locked' });

    readable = true; // the store works again: the install's own key is back
    expect((await s.verify(await client.getLimitedUseToken())).did).toBe(vectors.cases[0]!.expected.thumbprint);
  });

  it('a key store that cannot save: the new key is used, and saved by a later attestation', async () => {
    const s = service();
    let stored: StoredInstallKey | undefined;
    let failSave = true;
    const keyStore: KeyStore = {
      load: async () => stored,
      save: jest.fn(async (key: StoredInstallKey) => {
        if (failSave) throw new Error('ENOSPC');
        stored = key;
      }),
    };
    const events: AttestorEvent[] = [];
    const client = s.client({ keyStore, onEvent: (e) => events.push(e) });
    const first = await s.verify(await client.getLimitedUseToken());
    failSave = false;
    const second = await s.verify(await client.getLimitedUseToken());
    expect(second.did).toBe(first.did);
    expect(first.did).toBe(await jwkThumbprint({ kty: 'EC', crv: 'P-256', x: stored!.x, y: stored!.y }));
    expect(events.filter((e) => e.type === 'install_key')).toEqual([
      { type: 'install_key', outcome: 'ephemeral', problem: 'key store could not save the new key: ENOSPC' },
      { type: 'install_key', outcome: 'created' },
    ]);
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
