import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { createSecretKey, randomBytes } from 'node:crypto';
import type { VerificationKeys } from '../../../packages/service/src/core/ports';
import { hmacSha256Text } from '../../../packages/verify/src/core/hmac';
import { TokenVerificationError, checkToken, decodeToken, verifyTokenWithKeys, type VerifyErrorCode } from '../../../packages/verify/src/core/verify';
import { generateTestKey } from '../../support/memory';
import { ISSUER, TENANT, b64uJson, claimsAt, es256, forge, hs256, thrown } from './helpers';

const NOW = 1_800_000_000;
const tenant = generateTestKey();
const decoy = generateTestKey();
const attacker = generateTestKey();
const trusted = new Map<string, KeyObject>([[tenant.kid, tenant.publicKey]]);
/** An es256 verifier: public keys only. */
const es256Keys: VerificationKeys = { publicKeys: trusted, secrets: [] };
const options = { issuer: ISSUER, audience: TENANT, nowSeconds: NOW };
const header = { alg: 'ES256', typ: 'JWT', kid: tenant.kid };
const ALG_MESSAGE = 'alg must be HS256 or ES256';

const verifyToken = (token: string | undefined, at = NOW) => verifyTokenWithKeys(token, es256Keys, { ...options, nowSeconds: at });
/** es256 tokens carry their tenant as aud. */
const genuine = (claims: Record<string, unknown> = {}, h: Record<string, unknown> = header) =>
  forge(h, claimsAt(NOW, { aud: TENANT, ...claims }), es256(tenant.privateKey));

function expectRejected(token: string | undefined, code: VerifyErrorCode, message?: string, at = NOW): void {
  const error = thrown(() => verifyToken(token, at));
  expect(error).toBeInstanceOf(TokenVerificationError);
  expect((error as TokenVerificationError).name).toBe('TokenVerificationError');
  expect((error as TokenVerificationError).code).toBe(code);
  if (message !== undefined) expect((error as Error).message).toBe(message);
}

describe('verify (es256): the security floor', () => {
  it('accepts a genuine ES256 token and returns its claims', () => {
    // Prepare
    const token = genuine({ pay: 'p', lut: true });
    // Act
    const claims = verifyToken(token);
    // Assess
    expect(claims).toEqual(claimsAt(NOW, { aud: TENANT, pay: 'p', lut: true }));
  });

  it('accepts a token without typ and with extra harmless claims', () => {
    expect(() => verifyToken(forge({ alg: 'ES256', kid: tenant.kid }, claimsAt(NOW, { aud: TENANT, extra: 1 }), es256(tenant.privateKey)))).not.toThrow();
  });

  describe('algorithm confusion', () => {
    it('rejects alg none with an empty signature', () => {
      expectRejected(forge({ alg: 'none', typ: 'JWT', kid: tenant.kid }, claimsAt(NOW), () => ''), 'malformed', ALG_MESSAGE);
    });

    it('rejects alg none with a copied genuine signature', () => {
      const signature = genuine().split('.')[2]!;
      expectRejected(forge({ alg: 'none', typ: 'JWT', kid: tenant.kid }, claimsAt(NOW), () => signature), 'malformed', ALG_MESSAGE);
    });

    it('rejects alg none without a kid and a two-part token', () => {
      expectRejected(`${b64uJson({ alg: 'none' })}.${b64uJson(claimsAt(NOW))}.`, 'malformed', ALG_MESSAGE);
      expectRejected(`${b64uJson({ alg: 'none' })}.${b64uJson(claimsAt(NOW))}`, 'malformed', 'token is not a compact JWS');
    });

    it.each([
      ['SPKI PEM', () => tenant.publicKey.export({ format: 'pem', type: 'spki' })],
      ['SPKI DER', () => tenant.publicKey.export({ format: 'der', type: 'spki' })],
      ['JWK JSON', () => JSON.stringify(tenant.publicKey.export({ format: 'jwk' }))],
    ])('never uses the public key (%s) as an HMAC secret', (_form, secret) => {
      // Prepare
      const token = forge({ alg: 'HS256', typ: 'JWT', kid: tenant.kid }, claimsAt(NOW), (input) => createHmac('sha256', secret()).update(input).digest());
      // Act / Assess: an es256 verifier holds no secret; one holding secrets too checks only those.
      expectRejected(token, 'unknown_kid');
      const both: VerificationKeys = { publicKeys: trusted, secrets: [{ kid: 's', key: createSecretKey(randomBytes(32)) }] };
      expect(thrown(() => verifyTokenWithKeys(token, both, options))).toMatchObject({ code: 'bad_signature' });
    });

    it('rejects RS256 signed by an RSA key', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const token = forge({ alg: 'RS256', typ: 'JWT', kid: tenant.kid }, claimsAt(NOW), (input) => sign('sha256', input, privateKey));
      expectRejected(token, 'malformed', ALG_MESSAGE);
    });

    it('rejects ES384 signed by a P-384 key', () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      const token = forge({ alg: 'ES384', typ: 'JWT', kid: tenant.kid }, claimsAt(NOW), (input) =>
        sign('sha384', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
      );
      expectRejected(token, 'malformed', ALG_MESSAGE);
    });

    it('rejects an ES256-signed token whose header names any other alg', () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.string(), fc.constantFrom('es256', 'ES256 ', ' ES256', 'ES512', 'EdDSA', 'PS256', 'HS256', 'ES256K'), fc.constant(null), fc.integer()),
          (alg) => {
            fc.pre(alg !== 'ES256' && alg !== 'HS256');
            expectRejected(genuine({}, { ...header, alg }), 'malformed', ALG_MESSAGE);
          },
        ),
        { numRuns: 100 },
      );
    });

    it('rejects a header without alg', () => {
      expectRejected(genuine({}, { typ: 'JWT', kid: tenant.kid }), 'malformed', ALG_MESSAGE);
    });
  });

  describe('keys come only from the key source', () => {
    it('rejects an unknown kid', () => {
      expectRejected(genuine({}, { ...header, kid: 'not-a-known-kid' }), 'unknown_kid');
    });

    it.each([
      ['kid', (): Record<string, unknown> => ({})],
      ['empty kid', (): Record<string, unknown> => ({ kid: '' })],
      ['numeric kid', (): Record<string, unknown> => ({ kid: 7 })],
    ])('rejects a header with a missing or invalid %s', (_what, kid) => {
      expectRejected(genuine({}, { alg: 'ES256', typ: 'JWT', ...kid() }), 'malformed', 'kid is missing');
    });

    const attackerJwk = { ...(attacker.publicKey.export({ format: 'jwk' }) as Record<string, string>), kid: attacker.kid, alg: 'ES256', use: 'sig' };
    const attackerCert = attacker.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const embeddings: [string, Record<string, unknown>][] = [
      ['jwk', { jwk: attackerJwk }],
      ['jku', { jku: 'https://attacker.example/jwks.json' }],
      ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
      ['x5c', { x5c: [attackerCert] }],
      ['all of them', { jwk: attackerJwk, jku: 'https://attacker.example/jwks.json', x5u: 'https://attacker.example/c.pem', x5c: [attackerCert] }],
    ];

    it.each(embeddings)('ignores an attacker key in %s under the attacker kid: unknown_kid', (_where, extra) => {
      const token = forge({ ...header, kid: attacker.kid, ...extra }, claimsAt(NOW, { aud: TENANT }), es256(attacker.privateKey));
      expectRejected(token, 'unknown_kid');
    });

    it.each(embeddings)('ignores an attacker key in %s under the tenant kid: bad_signature', (_where, extra) => {
      const token = forge({ ...header, ...extra }, claimsAt(NOW, { aud: TENANT }), es256(attacker.privateKey));
      expectRejected(token, 'bad_signature', 'signature does not verify');
    });

    it('rejects a decoy-signed token carrying the tenant kid as bad_signature', () => {
      expectRejected(forge(header, claimsAt(NOW, { aud: TENANT }), es256(decoy.privateKey)), 'bad_signature');
    });

    it('rejects a genuine token whose claims were altered', () => {
      const [h, , s] = genuine().split('.');
      expectRejected(`${h}.${b64uJson(claimsAt(NOW, { aud: TENANT, sub: 'com.evil.app' }))}.${s}`, 'bad_signature');
    });

    it('rejects a header with crit', () => {
      expectRejected(genuine({}, { ...header, crit: ['exp'] }), 'malformed', 'crit is not supported');
    });

    it('rejects a typ other than JWT', () => {
      expectRejected(genuine({}, { ...header, typ: 'at+jwt' }), 'malformed', 'typ must be JWT');
    });
  });

  describe('time', () => {
    it('rejects exp more than 60 s in the past, and exactly 60 s', () => {
      expectRejected(genuine({ iat: NOW - 400, exp: NOW - 61 }), 'expired', 'token has expired');
      expectRejected(genuine({ iat: NOW - 400, exp: NOW - 60 }), 'expired', 'token has expired');
    });

    it('accepts exp in the past within the 60 s skew', () => {
      expect(verifyToken(genuine({ iat: NOW - 400, exp: NOW - 59 })).exp).toBe(NOW - 59);
    });

    it('rejects iat more than 60 s in the future, accepts it within 60 s', () => {
      expectRejected(genuine({ iat: NOW + 61, exp: NOW + 361 }), 'not_yet_valid', 'token was issued in the future');
      expect(verifyToken(genuine({ iat: NOW + 60, exp: NOW + 360 })).iat).toBe(NOW + 60);
    });

    it('rejects nbf more than 60 s in the future, accepts it within 60 s', () => {
      expectRejected(genuine({ nbf: NOW + 61 }), 'not_yet_valid', 'token is not valid yet');
      expect(() => verifyToken(genuine({ nbf: NOW + 60 }))).not.toThrow();
    });

    it('rejects a non-numeric nbf', () => {
      expectRejected(genuine({ nbf: String(NOW) }), 'malformed', 'nbf must be a number');
    });

    it('honours a custom skew', () => {
      const token = genuine({ iat: NOW - 400, exp: NOW - 5 });
      const error = thrown(() => verifyTokenWithKeys(token, es256Keys, { ...options, clockSkewSeconds: 0 }));
      expect(error).toMatchObject({ code: 'expired' });
    });
  });

  describe('issuer and audience', () => {
    it('rejects a wrong aud', () => {
      expectRejected(genuine({ aud: 'tenant-b' }), 'wrong_audience', 'token is for another tenant');
    });

    it('accepts any of several audiences and only those', () => {
      const token = genuine({ aud: 'tenant-b' });
      expect(verifyTokenWithKeys(token, es256Keys, { ...options, audience: [TENANT, 'tenant-b'] }).aud).toBe('tenant-b');
      expect(thrown(() => verifyTokenWithKeys(token, es256Keys, { ...options, audience: [TENANT, 'tenant-c'] }))).toMatchObject({ code: 'wrong_audience' });
    });

    it('refuses an es256 token when no audience is configured', () => {
      expect(thrown(() => verifyTokenWithKeys(genuine(), es256Keys, { issuer: ISSUER, nowSeconds: NOW }))).toMatchObject({ code: 'wrong_audience' });
    });

    it('rejects an array aud as malformed', () => {
      expectRejected(genuine({ aud: [TENANT] }), 'malformed', 'required claims are missing or of the wrong type');
    });

    it('rejects a wrong iss', () => {
      expectRejected(genuine({ iss: 'someone-else' }), 'wrong_issuer', 'token was issued by someone else');
    });
  });

  describe('shape', () => {
    it('rejects a missing or empty token as missing', () => {
      expectRejected(undefined, 'missing', 'no token');
      expectRejected('', 'missing', 'no token');
    });

    it('refuses tokens over 4 KiB before parsing, and still accepts one of exactly 4096 characters', () => {
      // Prepare: pad a genuine token to exactly 4096 characters (base64url grows in steps of 4/3).
      let pad = 0;
      let token = genuine({ pad: '' });
      while (token.length < 4096) token = genuine({ pad: 'x'.repeat(++pad) });
      while (token.length > 4096) token = genuine({ pad: 'x'.repeat(--pad) });
      expect(token.length).toBeLessThanOrEqual(4096);
      let over = token;
      while (over.length <= 4096) over = genuine({ pad: 'x'.repeat(++pad) });
      // Act / Assess
      expect(token.length).toBeGreaterThanOrEqual(4094);
      expect(() => verifyToken(token)).not.toThrow();
      expectRejected(over, 'malformed', 'token is too large');
      expectRejected(`${'A'.repeat(5000)}`, 'malformed', 'token is too large');
    });

    it.each([
      ['one part', 'abc'],
      ['two parts', 'abc.def'],
      ['four parts', 'a.b.c.d'],
      ['five dots', '.....'],
    ])('rejects %s', (_what, token) => {
      expectRejected(token, 'malformed', 'token is not a compact JWS');
    });

    it.each([
      ['a header that is not base64url', (t: string[]) => `${t[0]}=.${t[1]}.${t[2]}`, 'header is not base64url'],
      [
        'a header in standard base64',
        (t: string[]) => `${Buffer.from(JSON.stringify({ ...header, x: '>>>' })).toString('base64')}.${t[1]}.${t[2]}`,
        'header is not base64url',
      ],
      ['a header that is not JSON', (t: string[]) => `${Buffer.from('{alg:ES256').toString('base64url')}.${t[1]}.${t[2]}`, 'header is not JSON'],
      ['a header that is a JSON array', (t: string[]) => `${b64uJson(['ES256'])}.${t[1]}.${t[2]}`, 'header is not a JSON object'],
      ['a header that is JSON null', (t: string[]) => `${b64uJson(null)}.${t[1]}.${t[2]}`, 'header is not a JSON object'],
      ['claims that are not base64url', (t: string[]) => `${t[0]}.${t[1]}*.${t[2]}`, 'claims is not base64url'],
      ['claims that are not JSON', (t: string[]) => `${t[0]}.${Buffer.from('not json').toString('base64url')}.${t[2]}`, 'claims is not JSON'],
      ['claims that are a JSON string', (t: string[]) => `${t[0]}.${b64uJson('claims')}.${t[2]}`, 'claims is not a JSON object'],
      ['a signature that is not base64url', (t: string[]) => `${t[0]}.${t[1]}.${t[2]}==`, 'signature must be 64 bytes'],
      ['an empty signature', (t: string[]) => `${t[0]}.${t[1]}.`, 'signature must be 64 bytes'],
      ['a truncated signature', (t: string[]) => `${t[0]}.${t[1]}.${t[2]!.slice(0, 84)}`, 'signature must be 64 bytes'],
    ])('rejects %s as malformed', (_what, mangle, message) => {
      expectRejected(mangle(genuine().split('.')), 'malformed', message);
    });

    it.each([
      ['all zero', () => Buffer.alloc(64)],
      ['r = 0', (sig: Buffer) => Buffer.concat([Buffer.alloc(32), sig.subarray(32)])],
      [
        's = n (the group order)',
        (sig: Buffer) => Buffer.concat([sig.subarray(0, 32), Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex')]),
      ],
      ['all 0xff', () => Buffer.alloc(64, 0xff)],
    ])('rejects a 64-byte signature with out-of-range scalars (%s) as bad_signature', (_what, make) => {
      const [h, p, s] = genuine().split('.') as [string, string, string];
      expectRejected(`${h}.${p}.${make(Buffer.from(s, 'base64url')).toString('base64url')}`, 'bad_signature', 'signature does not verify');
    });

    it('rejects a DER-encoded signature (instead of P1363) as malformed', () => {
      // Prepare: a DER ECDSA signature over the right input by the right key.
      const input = genuine().split('.').slice(0, 2).join('.');
      let der: Buffer;
      do der = sign('sha256', Buffer.from(input), { key: tenant.privateKey, dsaEncoding: 'der' });
      while (der.length === 64);
      // Act / Assess
      expectRejected(`${input}.${der.toString('base64url')}`, 'malformed', 'signature must be 64 bytes');
    });

    it.each(['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'ver', 'did'])('rejects a token without %s', (claim) => {
      const claims = claimsAt(NOW, { aud: TENANT });
      delete claims[claim];
      expectRejected(forge(header, claims, es256(tenant.privateKey)), 'malformed', 'required claims are missing or of the wrong type');
    });

    it.each([
      ['exp as a string', { exp: String(NOW + 300) }],
      ['iat as null', { iat: null }],
      ['sub as a number', { sub: 7 }],
    ])('rejects %s', (_what, claims) => {
      expectRejected(genuine(claims), 'malformed', 'required claims are missing or of the wrong type');
    });

    it.each([
      ['missing cnf', { cnf: undefined }],
      ['cnf without jkt', { cnf: {} }],
      ['cnf as a string', { cnf: 'x' }],
      ['cnf as null', { cnf: null }],
    ])('rejects %s', (_what, claims) => {
      expectRejected(genuine(claims), 'malformed', 'cnf.jkt is missing');
    });

    it('rejects a non-string pay', () => {
      expectRejected(genuine({ pay: 1 }), 'malformed', 'pay must be a string');
    });
  });

  it('decodeToken + checkToken split the work: unknown kid only at checkToken', () => {
    // Prepare
    const decoded = decodeToken(genuine());
    // Act
    const error = thrown(() => checkToken(decoded, { publicKeys: new Map(), secrets: [] }, options));
    // Assess
    expect(decoded.alg).toBe('ES256');
    expect(decoded.kid).toBe(tenant.kid);
    expect(decoded.signature).toHaveLength(64);
    expect(error).toMatchObject({ code: 'unknown_kid' });
    expect(checkToken(decoded, es256Keys, options).sub).toBe(claimsAt(NOW)['sub']);
  });

  it('rejects a trusted kid mapped to a key of another type without throwing anything else', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const error = thrown(() => verifyTokenWithKeys(genuine(), { publicKeys: new Map([[tenant.kid, publicKey]]), secrets: [] }, options));
    expect(error).toMatchObject({ code: 'bad_signature' });
  });

  it('never accepts a random mutation of a genuine token', () => {
    const token = genuine();
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...'ABCabc019-_.='), (at, char) => {
        fc.pre(token[at] !== char);
        const mutated = token.slice(0, at) + char + token.slice(at + 1);
        let accepted = false;
        try {
          verifyToken(mutated);
          accepted = true;
        } catch (error) {
          expect(error).toBeInstanceOf(TokenVerificationError);
        }
        // A mutation of the last signature character's unused bits is impossible: decoding is canonical.
        expect(accepted).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('verify (hs256, the default): the security floor', () => {
  const secret = { kid: 'current', key: createSecretKey(randomBytes(32)) };
  const previous = { kid: 'previous', key: createSecretKey(randomBytes(32)) };
  const hs256Keys: VerificationKeys = { publicKeys: new Map(), secrets: [secret, previous] };
  const hsHeader = { alg: 'HS256', typ: 'JWT' };
  const hsOptions = { issuer: ISSUER, nowSeconds: NOW };
  const minted = (claims: Record<string, unknown> = {}, key = secret.key, h: Record<string, unknown> = hsHeader) => forge(h, claimsAt(NOW, claims), hs256(key));
  const verifyHs = (token: string) => verifyTokenWithKeys(token, hs256Keys, hsOptions);

  it('accepts a token MACed with any trusted secret, needing no audience', () => {
    expect(verifyHs(minted({ pay: 'p' }))).toEqual(claimsAt(NOW, { pay: 'p' }));
    expect(verifyHs(minted({}, previous.key)).sub).toBe(claimsAt(NOW)['sub']);
  });

  it('rejects a MAC by a secret it does not hold (a decoy) as bad_signature', () => {
    expect(thrown(() => verifyHs(minted({}, createSecretKey(randomBytes(32)))))).toMatchObject({ code: 'bad_signature', message: 'signature does not verify' });
  });

  it('rejects an hs256 token at a verifier holding no secret as unknown_kid', () => {
    expect(thrown(() => verifyTokenWithKeys(minted(), es256Keys, options))).toMatchObject({ code: 'unknown_kid' });
  });

  it('ignores a kid and key-naming members in the header: only held secrets verify', () => {
    const attackerSecret = createSecretKey(randomBytes(32));
    const token = minted({}, attackerSecret, { ...hsHeader, kid: 'current', jwk: { kty: 'oct', k: attackerSecret.export().toString('base64url') } });
    expect(thrown(() => verifyHs(token))).toMatchObject({ code: 'bad_signature' });
  });

  it('rejects a 64-byte signature on an HS256 token as malformed', () => {
    const [h, p] = minted().split('.');
    expect(thrown(() => verifyHs(`${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}`))).toMatchObject({
      code: 'malformed',
      message: 'signature must be 32 bytes',
    });
  });

  it("refuses every other spelling of a genuine MAC as malformed: standard base64's '+' and '/', and '=' padding", () => {
    // Prepare: a genuine token whose MAC text holds both '-' and '_', which standard base64 spells '+' and '/'.
    let token = minted();
    while (!/-/.test(token.split('.')[2]!) || !/_/.test(token.split('.')[2]!)) token = minted({ jti: randomBytes(16).toString('base64url') });
    const [h, p, mac] = token.split('.') as [string, string, string];
    const variants = {
      plus: mac.replace(/-/g, '+'),
      slash: mac.replace(/_/g, '/'),
      standard: mac.replace(/-/g, '+').replace(/_/g, '/'),
      padded: `${mac}=`,
      paddedStandard: `${mac.replace(/-/g, '+').replace(/_/g, '/')}=`,
    };

    // Act
    const outcomes = Object.fromEntries(Object.entries(variants).map(([name, text]) => [name, thrown(() => verifyHs(`${h}.${p}.${text}`))]));

    // Assess: each variant decodes to the same 32 bytes, so only the text check can refuse it.
    expect(verifyHs(token).jti).toBeDefined();
    for (const text of Object.values(variants)) expect(Buffer.from(text, 'base64').equals(Buffer.from(mac, 'base64url'))).toBe(true);
    for (const error of Object.values(outcomes)) expect(error).toMatchObject({ code: 'malformed', message: 'signature must be 32 bytes' });
  });

  it('computes the MAC exactly as createHmac does over UTF-8, for keys below, at and above a block, and any text', () => {
    // Prepare: key lengths around SHA-256's 64-byte block (a longer key is hashed first); ASCII texts
    // around the block and around the reused buffer's end (12,288 bytes: longer text takes createHmac),
    // and texts with characters past ASCII, past Latin-1 and past the BMP.
    const keys = [1, 31, 32, 63, 64, 65, 200].map((n) => createSecretKey(randomBytes(n)));
    const ascii = [0, 1, 55, 56, 64, 300, 4096, 4097, 20_000].map((n) => randomBytes(n).toString('base64url').slice(0, n));
    const texts = [...ascii, 'caf\u00e9', 'a\u0161b', '\u{1F600}x', randomBytes(500).toString('latin1')];

    // Act + Assess: every pair, and each key again after others (the pads are remembered per key).
    for (let round = 0; round < 2; round++) {
      for (const key of keys) {
        for (const text of texts) expect(hmacSha256Text(key, text)).toBe(createHmac('sha256', key).update(text, 'utf8').digest('base64url'));
      }
    }
  });

  it("refuses a MAC text whose last character sets the spare bits (another text of the same bytes) as malformed", () => {
    // Prepare: the last of 43 digits carries 4 bits of the MAC and 2 spare bits, which must be zero.
    const [h, p, mac] = minted().split('.') as [string, string, string];
    const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = mac.slice(0, -1) + digits[digits.indexOf(mac.at(-1)!) | 1]!;

    // Act
    const error = thrown(() => verifyHs(`${h}.${p}.${twin}`));

    // Assess: Node decodes both texts to the same 32 bytes; only the genuine one is accepted.
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(mac, 'base64url'))).toBe(true);
    expect(error).toMatchObject({ code: 'malformed', message: 'signature must be 32 bytes' });
  });

  it('checks issuer and time as for es256, and an audience only if the token has one', () => {
    expect(thrown(() => verifyHs(minted({ iss: 'someone-else' })))).toMatchObject({ code: 'wrong_issuer' });
    expect(thrown(() => verifyHs(minted({ iat: NOW - 400, exp: NOW - 61 })))).toMatchObject({ code: 'expired' });
    expect(thrown(() => verifyHs(minted({ aud: 7 })))).toMatchObject({ code: 'malformed' });
    expect(thrown(() => verifyHs(minted({ aud: 'someone' })))).toMatchObject({ code: 'wrong_audience' });
  });

  it('never accepts a random mutation of a genuine token', () => {
    const token = minted();
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...'ABCabc019-_.=+/'), (at, char) => {
        fc.pre(token[at] !== char);
        expect(() => verifyHs(token.slice(0, at) + char + token.slice(at + 1))).toThrow(TokenVerificationError);
      }),
      { numRuns: 300 },
    );
  });
});
