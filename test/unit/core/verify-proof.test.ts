/** Every rule of the Attestor-Proof (docs/ENFORCEMENT.md), with proofs built by test/support/proof.ts. */
import { sign } from 'node:crypto';
import fc from 'fast-check';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { checkProof, normaliseHtu } from '../../../packages/verify/src/core/proof';
import type { TokenClaims } from '../../../packages/contracts/src/protocol';
import { TokenVerificationError } from '../../../packages/verify/src/core/verify';
import { createRequestProof } from '../../../packages/sdk/src/proof';
import { highSTwin } from '../../support/es256';
import { makeProof } from '../../support/proof';
import { claimsAt, newInstallKey, thrown } from './helpers';
import { generateP256KeyPair } from '../../../packages/local/src/kms/p256';

const NOW = 1_800_000_000;
const install = newInstallKey();
const jkt = jwkThumbprint(install.jwk);
const claims = claimsAt(NOW, { did: jkt, cnf: { jkt } }) as unknown as TokenClaims;
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
const TARGET = { method: 'POST', url: 'https://api.example.com/v1/orders' };

const proof = (overrides: Partial<Parameters<typeof makeProof>[0]> = {}) =>
  makeProof({ key: install, token: TOKEN, method: 'POST', url: 'https://api.example.com/v1/orders', iat: NOW, ...overrides });

function expectInvalid(value: string | undefined, message: RegExp, target = TARGET, token = TOKEN): void {
  const error = thrown(() => checkProof(value, token, claims, target, NOW));
  expect(error).toBeInstanceOf(TokenVerificationError);
  expect((error as TokenVerificationError).code).toBe('proof_invalid');
  expect((error as Error).message).toMatch(message);
}

describe('checkProof', () => {
  it('accepts a proof by the install key for this token, method and URL, and returns what to record', () => {
    expect(checkProof(proof({ jti: 'j-1' }), TOKEN, claims, TARGET, NOW)).toEqual({ jkt, jti: 'j-1', iat: NOW });
  });

  it('accepts iat up to 60 s either side, and not one second more', () => {
    expect(() => checkProof(proof({ iat: NOW - 60 }), TOKEN, claims, TARGET, NOW)).not.toThrow();
    expect(() => checkProof(proof({ iat: NOW + 60 }), TOKEN, claims, TARGET, NOW)).not.toThrow();
    expectInvalid(proof({ iat: NOW - 61 }), /iat is more than 60 s/);
    expectInvalid(proof({ iat: NOW + 61 }), /iat is more than 60 s/);
  });

  describe('shape', () => {
    it.each([
      ['missing', undefined, /no proof/],
      ['empty', '', /no proof/],
      ['too large', 'a'.repeat(4097), /too large/],
      ['two parts', 'a.b', /not a compact JWS/],
      ['four parts', 'a.b.c.d', /not a compact JWS/],
    ])('rejects a proof that is %s', (_what, value, message) => {
      expectInvalid(value, message);
    });

    it.each([
      ['a header that is not base64url', (p: string[]) => `${p[0]}=.${p[1]}.${p[2]}`, /header is not base64url/],
      ['a header that is not JSON', (p: string[]) => `${Buffer.from('{').toString('base64url')}.${p[1]}.${p[2]}`, /header is not JSON/],
      ['claims that are a JSON array', (p: string[]) => `${p[0]}.${Buffer.from('[]').toString('base64url')}.${p[2]}`, /claims is not a JSON object/],
      ['a truncated signature', (p: string[]) => `${p[0]}.${p[1]}.${p[2]!.slice(0, 80)}`, /signature must be 64 bytes/],
      [
        'an altered claim',
        (p: string[]) => `${p[0]}.${Buffer.from(JSON.stringify({ htm: 'POST' })).toString('base64url')}.${p[2]}`,
        /signature does not verify/,
      ],
    ])('rejects %s', (_what, mangle, message) => {
      expectInvalid(mangle(proof().split('.')), message);
    });

    it('rejects the high-s twin of a valid proof, which plain ECDSA accepts', () => {
      // Prepare: a new proof text from a seen one, without the key; the replay ledger keys on jti, but
      // nothing else about a proof should have two valid encodings either.
      const [h, p, sig] = proof({ jti: 'j-twin' }).split('.') as [string, string, string];
      const twin = `${h}.${p}.${highSTwin(Buffer.from(sig, 'base64url')).toString('base64url')}`;
      // Act / Assess
      expect(checkProof(`${h}.${p}.${sig}`, TOKEN, claims, TARGET, NOW)).toMatchObject({ jti: 'j-twin' });
      expectInvalid(twin, /signature does not verify \(or is not in low-s form\)/);
    });

    it('rejects a DER signature', () => {
      const [h, p] = proof().split('.');
      let der: Buffer;
      do der = sign('sha256', Buffer.from(`${h}.${p}`), { key: install.privateKey, dsaEncoding: 'der' });
      while (der.length === 64);
      expectInvalid(`${h}.${p}.${der.toString('base64url')}`, /64 bytes/);
    });
  });

  describe('header', () => {
    it.each([
      ['typ JWT (a token passed as a proof)', { typ: 'JWT' }, /typ must be attestor-proof\+jwt/],
      ['typ dpop+jwt', { typ: 'dpop+jwt' }, /typ must be/],
      ['no typ', { typ: undefined }, /typ must be/],
      ['alg none', { alg: 'none' }, /alg must be ES256/],
      ['alg HS256', { alg: 'HS256' }, /alg must be ES256/],
      ['alg ES384', { alg: 'ES384' }, /alg must be ES256/],
      ['crit', { crit: ['htm'] }, /crit is not supported/],
      ['no jwk', { jwk: undefined }, /jwk is missing/],
      ['a jwk array', { jwk: [] }, /jwk is missing/],
      ['an RSA jwk', { jwk: { kty: 'RSA', n: 'x', e: 'AQAB' } }, /P-256 public key/],
      ['a P-384 jwk', { jwk: { ...install.jwk, crv: 'P-384' } }, /P-256 public key/],
      ['a jwk x of 31 bytes', { jwk: { ...install.jwk, x: Buffer.alloc(31).toString('base64url') } }, /P-256 public key/],
    ])('rejects %s', (_what, header, message) => {
      expectInvalid(proof({ header }), message);
    });

    it('rejects a jwk carrying the private key', () => {
      const d = install.privateKey.export({ format: 'jwk' }).d;
      expectInvalid(proof({ header: { jwk: { ...install.jwk, d } } }), /must not contain a private key/);
    });

    it('rejects a jwk that is not a point on the curve', () => {
      const jwk = { ...install.jwk, y: Buffer.alloc(32, 1).toString('base64url') };
      const offCurve = makeProof({
        key: { privateKey: install.privateKey, jwk: jwk as typeof install.jwk },
        token: TOKEN,
        method: 'POST',
        url: TARGET.url,
        iat: NOW,
      });
      const offCurveClaims = { ...claims, cnf: { jkt: jwkThumbprint(jwk as typeof install.jwk) } };
      const error = thrown(() => checkProof(offCurve, TOKEN, offCurveClaims, TARGET, NOW));
      expect(error).toMatchObject({ code: 'proof_invalid', message: 'proof jwk is not a point on P-256' });
    });

    it('rejects a proof by another key (thumbprint is not cnf.jkt)', () => {
      expectInvalid(proof({ key: newInstallKey() }), /another key than the token was issued to/);
    });

    it('rejects a proof naming the install key but signed by another', () => {
      expectInvalid(proof({ signWith: generateP256KeyPair().privateKey }), /signature does not verify/);
    });
  });

  describe('claims', () => {
    it.each([
      ['another method', { htm: 'GET' }, /htm/],
      ['a lower-case method', { htm: 'post' }, /htm/],
      ['no htm', { htm: undefined }, /htm/],
      ['another host', { htu: 'https://evil.example.com/v1/orders' }, /htu/],
      ['another path', { htu: 'https://api.example.com/v1/orders/1' }, /htu/],
      ['another scheme', { htu: 'http://api.example.com/v1/orders' }, /htu/],
      ['another port', { htu: 'https://api.example.com:8443/v1/orders' }, /htu/],
      ['a relative htu', { htu: '/v1/orders' }, /htu/],
      ['an htu with credentials', { htu: 'https://user:pw@api.example.com/v1/orders' }, /htu/],
      ['a non-http htu', { htu: 'ftp://api.example.com/v1/orders' }, /htu/],
      ['no htu', { htu: undefined }, /htu/],
      ['no iat', { iat: undefined }, /iat must be a number/],
      ['a string iat', { iat: String(NOW) }, /iat must be a number/],
      ['no ath', { ath: undefined }, /ath/],
      ['the ath of another token', { ath: Buffer.alloc(32).toString('base64url') }, /ath does not match/],
      ['a short ath', { ath: 'abc' }, /ath/],
      ['no jti', { jti: undefined }, /jti must be 1 to 64/],
      ['an empty jti', { jti: '' }, /jti must be 1 to 64/],
      ['a 65-character jti', { jti: 'j'.repeat(65) }, /jti must be 1 to 64/],
      ['a numeric jti', { jti: 7 }, /jti must be 1 to 64/],
    ])('rejects %s', (_what, overrides, message) => {
      expectInvalid(proof({ claims: overrides }), message);
    });

    it('rejects a proof for another token', () => {
      expectInvalid(proof(), /ath does not match/, TARGET, `${TOKEN}x`);
    });

    it('rejects when the request URL cannot be known', () => {
      expectInvalid(proof(), /htu/, { method: 'POST', url: '' });
    });

    it('ignores query and fragment and normalises case, default port and dot segments', () => {
      for (const htu of ['https://API.Example.com/v1/orders?x=1', 'https://api.example.com:443/v1/orders#f', 'HTTPS://api.example.com/v1/./orders']) {
        expect(() =>
          checkProof(proof({ claims: { htu } }), TOKEN, claims, { method: 'POST', url: 'https://api.example.com/v1/orders?page=2' }, NOW),
        ).not.toThrow();
      }
    });
  });

  it('never accepts a random mutation of a valid proof', () => {
    const valid = proof();
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...'ABCabc019-_.='), (at, char) => {
        fc.pre(valid[at] !== char);
        const mutated = valid.slice(0, at) + char + valid.slice(at + 1);
        expect(() => checkProof(mutated, TOKEN, claims, TARGET, NOW)).toThrow(TokenVerificationError);
      }),
      { numRuns: 200 },
    );
  });
});

describe('interoperability', () => {
  it('accepts the proofs the SDK makes (src/sdk/proof.ts), and only for their request', async () => {
    // Prepare: the SDK's install key is a WebCrypto key; import the same private key.
    const privateKey = await globalThis.crypto.subtle.importKey(
      'jwk',
      install.privateKey.export({ format: 'jwk' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    );
    const sdkProof = await createRequestProof(
      { privateKey, publicJwk: install.jwk },
      { method: 'post', url: 'https://API.example.com/v1/orders?page=2', token: TOKEN, nowSeconds: NOW },
    );
    // Act / Assess
    expect(checkProof(sdkProof, TOKEN, claims, TARGET, NOW)).toMatchObject({ jkt, iat: NOW });
    expect(() => checkProof(sdkProof, TOKEN, claims, { method: 'GET', url: TARGET.url }, NOW)).toThrow(TokenVerificationError);
  });
});

describe('normaliseHtu', () => {
  it.each([
    ['https://API.example.COM/a/../b?q#f', 'https://api.example.com/b'],
    ['http://localhost:80/x', 'http://localhost/x'],
    ['https://h:8443/x', 'https://h:8443/x'],
    ['https://h', 'https://h/'],
    ['https://h/%7Ex', 'https://h/%7Ex'],
  ])('%s -> %s', (input, expected) => {
    expect(normaliseHtu(input)).toBe(expected);
  });

  it.each(['', '/relative', 'mailto:a@b', 'https://u:p@h/', 'not a url'])('refuses %j', (input) => {
    expect(normaliseHtu(input)).toBeUndefined();
  });
});
