/**
 * Property tests of the parsers that face the network: base64url, install keys (JWK), the JWS
 * compact form, SigV4 Authorization headers, and S3 event keys. Each runs on arbitrary input (it
 * must answer or refuse, never throw anything but its own error) and round-trips what is valid.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import * as fc from 'fast-check';
import { decodeB64u, encodeB64u } from '../../packages/contracts/src/base64url';
import { InvalidRequestError, installKeySchema, parseRequest } from '../../packages/contracts/src/validation';
import { decodeToken, splitToken, TokenVerificationError } from '../../packages/verify/src/core/verify';
import { importInstallKey, jwkThumbprint } from '../../packages/verify/src/core/install-key';
import { verifySigV4 } from '../../packages/local/src/sigv4';
import { encodeS3EventKey } from '../../packages/local/src/s3';
import { decodeS3EventKey } from '../../packages/service/src/handlers/register';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 10_000);
const b64uText = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 64 });

describe('base64url', () => {
  it('round-trips any bytes, and decodes only the canonical encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        const text = encodeB64u(bytes);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(decodeB64u(text)).toEqual(Buffer.from(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('answers any text with bytes that encode back to it, or undefined: never a second spelling of the same bytes', () => {
    fc.assert(
      fc.property(fc.oneof(b64uText, fc.string({ maxLength: 64 })), (text) => {
        const bytes = decodeB64u(text);
        if (bytes !== undefined) expect(encodeB64u(bytes)).toBe(text);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('install keys (JWK)', () => {
  const coordinate = fc.oneof(b64uText, fc.constant(encodeB64u(randomBytes(32))), fc.string({ maxLength: 50 }));
  const jwkLike = fc.record(
    { kty: fc.oneof(fc.constant('EC'), fc.string()), crv: fc.oneof(fc.constant('P-256'), fc.string()), x: coordinate, y: coordinate, d: fc.string() },
    { requiredKeys: [] },
  );

  it('accepts a genuine P-256 public key, and its thumbprint is stable', () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const { kty, crv, x, y } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' }) as Record<string, string>;
        const jwk = parseRequest(installKeySchema, { kty, crv, x, y });
        expect(importInstallKey(jwk)).toBeDefined();
        expect(jwkThumbprint(jwk)).toBe(jwkThumbprint({ ...jwk }));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses anything else with InvalidRequestError naming installKey, or imports it; nothing throws otherwise', () => {
    fc.assert(
      fc.property(fc.oneof(jwkLike, fc.jsonValue({ maxDepth: 2 })), (value) => {
        let jwk;
        try {
          jwk = parseRequest(installKeySchema, value);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidRequestError);
          return;
        }
        // Shape-valid but possibly not a point on the curve: import answers a key or undefined.
        importInstallKey(jwk);
        expect(jwkThumbprint(jwk)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('JWS compact form', () => {
  const segment = fc.oneof(b64uText, fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 2 }).map((v) => encodeB64u(Buffer.from(JSON.stringify(v)))));
  const token = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
    fc.array(segment, { maxLength: 6 }).map((parts) => parts.join('.')),
    fc.constantFrom(undefined, '', '..', 'a.b.c.d', `${encodeB64u(Buffer.from('{"alg":"none"}'))}.e30.`),
  );

  it('splitToken and decodeToken refuse any malformed token with TokenVerificationError, never another error', () => {
    fc.assert(
      fc.property(token, (t) => {
        for (const parse of [splitToken, decodeToken]) {
          try {
            const parsed = parse(t);
            // What parses is three canonical segments with a known algorithm.
            expect(t!.split('.')).toHaveLength(3);
            expect(['ES256', 'HS256']).toContain(parsed.alg);
          } catch (error) {
            expect(error).toBeInstanceOf(TokenVerificationError);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('SigV4 Authorization headers (local gateway)', () => {
  const credentials = { accessKeyId: 'AKIAFUZZFUZZFUZZ', secretAccessKey: 'fuzz-secret' };
  const lookup = (id: string) => (id === credentials.accessKeyId ? { ...credentials, region: 'us-east-1', tenantId: 'default' } : undefined);
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'execute-api', sha256: Sha256 });

  async function signed(path: string) {
    const request = await signer.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 3000,
      path,
      query: {},
      headers: { host: '127.0.0.1:3000' },
    });
    return { method: 'GET', path, query: {}, headers: request.headers as Record<string, string>, body: Buffer.alloc(0) };
  }

  it('accepts a genuine signature and refuses every header mutation of it, without throwing', async () => {
    const genuine = await signed('/v1/admin/apps');
    expect(await verifySigV4(genuine, lookup as never)).toMatchObject({ ok: true });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('authorization', 'x-amz-date', 'host', 'x-amz-content-sha256'),
        fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 60 })),
        async (header, value) => {
          const original = genuine.headers[header];
          fc.pre(value !== original);
          const result = await verifySigV4({ ...genuine, headers: { ...genuine.headers, [header]: value } }, lookup as never);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: Math.min(RUNS, 2000) },
    );
  });
});

describe('S3 event keys (register)', () => {
  it('decodes what S3 encodes back to the key, for any key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (key) => {
        expect(decodeS3EventKey(encodeS3EventKey(key))).toBe(key);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers any text with a string or a URIError, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (raw) => {
        try {
          expect(typeof decodeS3EventKey(raw)).toBe('string');
        } catch (error) {
          expect(error).toBeInstanceOf(URIError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
