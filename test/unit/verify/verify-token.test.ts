/**
 * The `attestor/verify` library: verifyToken and createVerifier with keys from a real JWKS server
 * (or a given JWKS), every stable error code, and the security floor through the public API.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import {
  bindingOf,
  createVerifier,
  InMemoryReplayLedger,
  JwksKeySource,
  parseJwks,
  VERIFY_ERROR_CODES,
  verifyToken,
  type VerifierOptions,
  type VerifyErrorCode,
} from '../../../packages/verify/src/index';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { TEST_TOKEN_TYPE } from '../../../packages/contracts/src/test-tokens';
import { ManualClock, generateTestKey, type TestKey } from '../../support/memory';
import { highSTwin } from '../../support/es256';
import { makeProof } from '../../support/proof';
import { ISSUER, TENANT, b64uJson, claimsAt, es256, forge, newInstallKey, codeOf } from '../core/helpers';
import { publicJwk, startJwksServer, type JwksServer } from './jwks-server';

const tenant = generateTestKey();
const decoy = generateTestKey();
const attacker = generateTestKey();
let server: JwksServer;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock();
  server = await startJwksServer([tenant]);
});
afterEach(() => server.close());

const header = { alg: 'ES256', typ: 'JWT', kid: tenant.kid };
const tokenAt = (claims: Record<string, unknown> = {}, h: Record<string, unknown> = header, by: TestKey = tenant) =>
  forge(h, claimsAt(clock.now, { aud: TENANT, jti: randomBytes(16).toString('base64url'), ...claims }), es256(by.privateKey));
const options = (extra: Partial<VerifierOptions> = {}): VerifierOptions => ({ issuer: ISSUER, audience: TENANT, jwksUrl: server.url, clock, ...extra });

describe('verifyToken', () => {
  it('returns the typed claims of a genuine token', async () => {
    const claims = await verifyToken(tokenAt({ pay: bindingOf('x') }), options());
    expect(claims).toMatchObject({ iss: ISSUER, aud: TENANT, sub: 'com.example.app', ver: '1.2.3', cnf: { jkt: 'did-thumbprint' }, pay: bindingOf('x') });
    expect(claims.exp - claims.iat).toBe(300);
  });

  it('fetches the JWKS once for many calls with one options object', async () => {
    const opts = options();
    for (let i = 0; i < 20; i++) await verifyToken(tokenAt(), opts);
    expect(server.hits).toBe(1);
  });

  it('also shares one JWKS fetch between calls with fresh options objects for one URL', async () => {
    // No clock, fetch or cache size given: these share the process-wide ring for the URL.
    const now = Math.floor(Date.now() / 1000);
    const token = forge(header, claimsAt(now, { aud: TENANT }), es256(tenant.privateKey));
    for (let i = 0; i < 5; i++) await verifyToken(token, { issuer: ISSUER, audience: TENANT, jwksUrl: server.url });
    expect(server.hits).toBe(1);
  });

  it('has one stable code for each way of failing, all of them reachable', async () => {
    // Prepare: a verifier enforcing everything, and one request per code.
    const install = newInstallKey();
    const jkt = jwkThumbprint(install.jwk);
    const verifier = createVerifier(options({ requireBinding: true, requireProof: true, limitedUse: true, requireHardware: true }));
    const url = 'https://api.example.com/orders';
    const bound = (claims: Record<string, unknown> = {}) => tokenAt({ did: jkt, hw: 'android-key', cnf: { jkt }, pay: bindingOf('Bearer u'), ...claims });
    const request = (token: string, extra: Record<string, unknown> = {}) => ({
      binding: 'Bearer u',
      proof: makeProof({ key: install, token, method: 'GET', url, iat: clock.now }),
      method: 'GET',
      url,
      ...extra,
    });
    const used = bound();
    const testHeader = { alg: 'HS256', typ: TEST_TOKEN_TYPE, kid: `test-${'A'.repeat(22)}` };
    await verifier.verify(used, request(used));
    const cases: [VerifyErrorCode, () => Promise<unknown>][] = [
      ['missing', () => verifier.verify(undefined, {})],
      ['malformed', () => verifier.verify('a.b.c', {})],
      ['test_token', () => verifier.verify(forge(testHeader, claimsAt(clock.now, { test: true }), () => 'A'.repeat(43)))],
      ['bad_signature', () => verifier.verify(tokenAt({}, header, decoy))],
      ['expired', () => verifier.verify(bound({ iat: clock.now - 1000, exp: clock.now - 61 }))],
      ['not_yet_valid', () => verifier.verify(bound({ iat: clock.now + 61 }))],
      ['wrong_audience', () => verifier.verify(bound({ aud: 'tenant-b' }))],
      ['wrong_issuer', () => verifier.verify(bound({ iss: 'someone' }))],
      ['unknown_kid', () => verifier.verify(tokenAt({}, { ...header, kid: attacker.kid }, attacker))],
      ['hardware_missing', () => verifier.verify(bound({ hw: undefined }))],
      ['binding_mismatch', () => verifier.verify(bound(), request(bound(), { binding: 'Bearer v' }))],
      ['replayed', () => verifier.verify(used, request(used))],
      ['proof_invalid', () => verifier.verify(bound(), request(bound(), { method: 'POST' }))],
    ];
    // Act / Assess
    expect(cases.map(([code]) => code)).toEqual(VERIFY_ERROR_CODES);
    for (const [code, attempt] of cases) expect(await codeOf(attempt())).toBe(code);
  });

  it('passes the request facts given in options.request', async () => {
    const token = tokenAt({ pay: bindingOf('Bearer u') });
    const opts = options({ requireBinding: true });
    expect((await verifyToken(token, { ...opts, request: { binding: 'Bearer u' } })).pay).toBe(bindingOf('Bearer u'));
    expect(await codeOf(verifyToken(token, { ...opts, request: { binding: 'Bearer x' } }))).toBe('binding_mismatch');
  });

  it('accepts a given JWKS instead of a URL', async () => {
    const verifier = createVerifier({ issuer: ISSUER, audience: TENANT, keys: { keys: [publicJwk(tenant)] }, clock });
    expect((await verifier.verify(tokenAt())).aud).toBe(TENANT);
    expect(await codeOf(verifier.verify(tokenAt({}, { ...header, kid: attacker.kid }, attacker)))).toBe('unknown_kid');
    expect(server.hits).toBe(0);
  });

  it.each([
    ['both jwksUrl and keys', { keys: { keys: [] } }, /at most one of jwksUrl and keys/],
    ['no keys at all', { jwksUrl: undefined }, /pass secrets \(hs256 tokens, the default\), or jwksUrl or keys/],
    ['no issuer', { issuer: '' }, /issuer is required/],
    ['an empty audience list', { audience: [] }, /audience must be a tenant id or a non-empty list/],
    ['a JWKS without an audience', { audience: undefined }, /audience \(your tenant id\) is required with jwksUrl or keys/],
    ['a non-http JWKS URL', { jwksUrl: 'file:///etc/jwks.json' }, /http\(s\) URL/],
  ])('refuses options with %s', (_what, extra, message) => {
    expect(() => createVerifier({ ...options(), ...extra } as VerifierOptions)).toThrow(message);
  });
});

describe('security floor through verifyToken', () => {
  const expectCode = async (token: string, code: VerifyErrorCode) => expect(await codeOf(verifyToken(token, options()))).toBe(code);

  it('denies alg none, HS256 signed with the public key, RS256 and ES384', async () => {
    const spki = tenant.publicKey.export({ format: 'pem', type: 'spki' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    await expectCode(forge({ ...header, alg: 'none' }, claimsAt(clock.now, { aud: TENANT }), () => ''), 'malformed');
    // A verifier without secrets never takes the public key for an HMAC secret.
    await expectCode(
      forge({ ...header, alg: 'HS256' }, claimsAt(clock.now, { aud: TENANT }), (input) => createHmac('sha256', spki).update(input).digest()),
      'unknown_kid',
    );
    await expectCode(forge({ ...header, alg: 'RS256' }, claimsAt(clock.now, { aud: TENANT }), (input) => sign('sha256', input, rsa)), 'malformed');
    await expectCode(
      forge({ ...header, alg: 'ES384' }, claimsAt(clock.now, { aud: TENANT }), (input) => sign('sha384', input, { key: p384, dsaEncoding: 'ieee-p1363' })),
      'malformed',
    );
  });

  it.each([
    ['jwk', { jwk: publicJwk(attacker) }],
    ['jku', { jku: 'https://attacker.example/jwks.json' }],
    ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
    ['x5c', { x5c: [attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')] }],
  ])('ignores a key offered in %s, and never fetches anything else', async (_where, extra) => {
    await expectCode(tokenAt({}, { ...header, kid: attacker.kid, ...extra }, attacker), 'unknown_kid');
    await expectCode(tokenAt({}, { ...header, ...extra }, attacker), 'bad_signature');
    expect(server.hits).toBeLessThanOrEqual(2);
  });

  it('denies the high-s twin of a genuine es256 token (a second token text for the same claims)', async () => {
    // Prepare
    const genuine = tokenAt();
    const [h, p, sig] = genuine.split('.') as [string, string, string];
    const twin = `${h}.${p}.${highSTwin(Buffer.from(sig, 'base64url')).toString('base64url')}`;
    // Act / Assess
    await expect(verifyToken(genuine, options())).resolves.toMatchObject({ aud: TENANT });
    await expectCode(twin, 'bad_signature');
  });

  it('denies a token signed by the decoy key', async () => {
    await expectCode(tokenAt({}, header, decoy), 'bad_signature');
  });

  it('denies exp, iat and nbf beyond 60 s of skew, and accepts them within', async () => {
    await expectCode(tokenAt({ iat: clock.now - 400, exp: clock.now - 60 }), 'expired');
    await expectCode(tokenAt({ iat: clock.now + 61 }), 'not_yet_valid');
    await expectCode(tokenAt({ nbf: clock.now + 61 }), 'not_yet_valid');
    expect((await verifyToken(tokenAt({ iat: clock.now + 60, nbf: clock.now + 60, exp: clock.now + 300 }), options())).aud).toBe(TENANT);
    expect((await verifyToken(tokenAt({ iat: clock.now - 400, exp: clock.now - 59 }), options())).aud).toBe(TENANT);
  });

  it('denies wrong aud and iss', async () => {
    await expectCode(tokenAt({ aud: 'other' }), 'wrong_audience');
    await expectCode(tokenAt({ iss: 'other' }), 'wrong_issuer');
  });

  it('denies tokens over 4 KiB, malformed base64url or JSON, and signatures of the wrong length', async () => {
    const [h, p, s] = tokenAt().split('.') as [string, string, string];
    await expectCode(tokenAt({ pad: 'x'.repeat(4000) }), 'malformed');
    await expectCode(`${h}.${p}=.${s}`, 'malformed');
    await expectCode(`${h}.${b64uJson('x').slice(0, -1)}{.${s}`, 'malformed');
    await expectCode(`${h}.${Buffer.from('{"iss":').toString('base64url')}.${s}`, 'malformed');
    await expectCode(`${h}.${p}.${s.slice(0, 84)}`, 'malformed');
    await expectCode(`${h}.${p}.${s}AAAA`, 'malformed');
    expect(server.hits).toBe(0);
  });
});

describe('JWKS fetching', () => {
  it('refetches for an unknown kid at most once per 30 s', async () => {
    // Prepare: no background refreshes in the way.
    const verifier = createVerifier(options({ refreshIntervalSeconds: 3600 }));
    await verifier.verify(tokenAt());
    const stranger = generateTestKey();
    // Act / Assess
    for (let i = 0; i < 30; i++) {
      expect(await codeOf(verifier.verify(tokenAt({}, { ...header, kid: stranger.kid }, stranger)))).toBe('unknown_kid');
      clock.advance(1);
    }
    expect(server.hits).toBe(2);
    await codeOf(verifier.verify(tokenAt({}, { ...header, kid: stranger.kid }, stranger)));
    expect(server.hits).toBe(3);
  });

  it('refreshes the JWKS in the background every 30 s by default', async () => {
    const verifier = createVerifier(options());
    await verifier.verify(tokenAt());
    clock.advance(29);
    await verifier.verify(tokenAt());
    expect(server.hits).toBe(1);
    clock.advance(1);
    await verifier.verify(tokenAt());
    await new Promise((r) => setTimeout(r, 50));
    expect(server.hits).toBe(2);
  });

  it('picks up a rotated key on its first token', async () => {
    const verifier = createVerifier(options());
    await verifier.verify(tokenAt());
    const next = generateTestKey();
    server.keys = [next, tenant];
    expect((await verifier.verify(tokenAt({}, { ...header, kid: next.kid }, next))).aud).toBe(TENANT);
    expect((await verifier.verify(tokenAt())).aud).toBe(TENANT);
  });

  it('fails closed (not a TokenVerificationError) while the JWKS cannot be fetched, and recovers', async () => {
    // Prepare
    server.status = 503;
    const verifier = createVerifier(options());
    // Act / Assess
    await expect(verifier.verify(tokenAt())).rejects.toThrow(/answered HTTP 503/);
    await expect(verifier.verify(tokenAt())).rejects.toThrow(/unavailable/);
    server.status = 200;
    clock.advance(5);
    expect((await verifier.verify(tokenAt())).aud).toBe(TENANT);
  });

  it.each([
    ['not JSON', '<html>', /not JSON/],
    ['not a key set', '{"keys":{}}', /"keys" array/],
    ['larger than 64 KiB', JSON.stringify({ keys: [], pad: 'x'.repeat(70_000) }), /larger than 65536 bytes/],
  ])('refuses a JWKS that is %s', async (_what, body, message) => {
    server.body = body;
    await expect(new JwksKeySource({ url: server.url }).keys()).rejects.toThrow(message);
  });

  it('gives up on a JWKS server that does not answer in time', async () => {
    const source = new JwksKeySource({
      url: server.url,
      timeoutMs: 50,
      fetch: (_url, init) => new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason))),
    });
    await expect(source.keys()).rejects.toThrow(/could not be fetched: TimeoutError/);
  });

  it('keeps only ES256 public signing keys from a JWKS', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const twin = generateTestKey();
    const keys = parseJwks({
      keys: [
        publicJwk(tenant),
        { ...rsa, kid: 'rsa' },
        { ...priv, kid: 'private' },
        { ...publicJwk(decoy), alg: 'HS256', kid: 'hs' },
        { ...publicJwk(decoy), use: 'enc', kid: 'enc' },
        { ...publicJwk(decoy), kid: '' },
        { ...publicJwk(decoy), kid: 'off-curve', y: Buffer.alloc(32, 1).toString('base64url') },
        { ...publicJwk(twin), kid: 'twin' },
        { ...publicJwk(decoy), kid: 'twin' },
        null,
        'junk',
      ],
    });
    expect([...keys.keys()]).toEqual([tenant.kid]);
  });

  it("stops trusting a JWKS key at the retiresAt it states (+ 60 s skew), however often the same JWKS is served", async () => {
    // Prepare: a JWKS as GET /v1/admin/keys/jwks serves it during a rotation, never updated.
    const clock = new ManualClock();
    const retiresAt = clock.now + 3690;
    const verifier = createVerifier({ issuer: ISSUER, audience: TENANT, keys: { keys: [{ ...publicJwk(tenant), retiresAt }, publicJwk(decoy)] }, clock });
    const token = (key: TestKey) =>
      forge(
        { alg: 'ES256', typ: 'JWT', kid: key.kid },
        claimsAt(clock.now, { aud: TENANT, jti: randomBytes(16).toString('base64url') }),
        es256(key.privateKey),
      );
    // Act
    clock.advance(3690 + 59);
    const before = (await verifier.verify(token(tenant))).aud;
    clock.advance(1);
    const after = await codeOf(verifier.verify(token(tenant)));
    // Assess
    expect(before).toBe(TENANT);
    expect(after).toBe('unknown_kid');
    expect((await verifier.verify(token(decoy))).aud).toBe(TENANT);
  });

  it('passes the given fetch what to fetch', async () => {
    const seen: string[] = [];
    const verifier = createVerifier(
      options({
        fetch: (url, init) => {
          seen.push(url);
          return fetch(url, init);
        },
      }),
    );
    await verifier.verify(tokenAt());
    expect(seen).toEqual([server.url]);
  });
});

describe('single use and proofs in one process', () => {
  it('defaults to an in-memory replay store', async () => {
    const verifier = createVerifier(options({ limitedUse: true }));
    const token = tokenAt({ lut: true });
    await verifier.verify(token);
    expect(await codeOf(verifier.verify(token))).toBe('replayed');
  });

  it('uses the replay store it is given', async () => {
    const store = new InMemoryReplayLedger({ clock });
    const token = tokenAt({ lut: true });
    await createVerifier(options({ limitedUse: true, replayStore: store })).verify(token);
    expect(await codeOf(createVerifier(options({ limitedUse: true, replayStore: store })).verify(token))).toBe('replayed');
  });
});
