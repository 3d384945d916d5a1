import { sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { derToP1363, p1363ToDer, SignatureEncodingError } from '../../../packages/service/src/core/ecdsa';
import { generateP256KeyPair } from '../../../packages/local/src/kms/p256';
import type { KMSClient } from '@aws-sdk/client-kms';
import { isLowS } from '../../../packages/contracts/src/p256';
import { kmsSign } from '../../../packages/service/src/adapters/kms-keys';
import { highSTwin, signEs256 } from '../../support/es256';

const { privateKey, publicKey } = generateP256KeyPair();

/** DER INTEGER for a big-endian magnitude, minimal as DER demands. */
function derInt(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let body = Buffer.from(magnitude.subarray(i));
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02, body.length]), body]);
}
const seq = (...items: Buffer[]): Buffer => {
  const body = Buffer.concat(items);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
};

function expectEncodingError(fn: () => unknown, message: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SignatureEncodingError);
  expect((caught as Error).name).toBe('SignatureEncodingError');
  expect((caught as Error).message).toBe(message);
}

describe('derToP1363 / p1363ToDer', () => {
  it('converts node DER signatures to P1363 that node verifies, and back to the same DER', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (message) => {
        // Prepare
        const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
        // Act
        const p1363 = derToP1363(der);
        // Assess
        expect(p1363).toHaveLength(64);
        expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
        expect(p1363ToDer(p1363).equals(der)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('converts node P1363 signatures to DER that node verifies, and back to the same P1363', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (message) => {
        // Prepare
        const p1363 = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        // Act
        const der = p1363ToDer(p1363);
        // Assess
        expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, der)).toBe(true);
        expect(derToP1363(der).equals(p1363)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips any 64-byte r||s through DER', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (p1363) => {
        // Act
        const der = p1363ToDer(p1363);
        // Assess
        expect(derToP1363(der).equals(p1363)).toBe(true);
        expect(der.equals(seq(derInt(p1363.subarray(0, 32)), derInt(p1363.subarray(32))))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('handles real signatures whose r or s has leading zero bytes (short DER integers)', () => {
    // Prepare: sign until a signature with a short r and one with a short s turned up (each about 1 in 512).
    const message = Buffer.from('leading zeros');
    const short: { r?: Buffer; s?: Buffer } = {};
    for (let i = 0; i < 50_000 && !(short.r && short.s); i++) {
      const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      const rLen = der[3]!;
      const sLen = der[4 + rLen + 1]!;
      if (rLen < 32) short.r ??= der;
      if (sLen < 32) short.s ??= der;
    }
    expect(short.r).toBeDefined();
    expect(short.s).toBeDefined();
    for (const [half, der] of [[0, short.r!], [32, short.s!]] as const) {
      // Act
      const p1363 = derToP1363(der);
      // Assess: P1363 pads the short integer back to 32 bytes with leading zeros.
      expect(p1363).toHaveLength(64);
      expect(p1363[half]).toBe(0);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
      expect(p1363ToDer(p1363).equals(der)).toBe(true);
    }
  });

  it('encodes constructed short and high-bit integers minimally', () => {
    // Prepare: r = 0x000000..01 (one significant byte), s has its top bit set (needs a 0x00 pad).
    const r = Buffer.alloc(32);
    r[31] = 1;
    const s = Buffer.alloc(32, 0xff);
    // Act
    const der = p1363ToDer(Buffer.concat([r, s]));
    // Assess
    expect(der.toString('hex')).toBe(`3026020101022100${'ff'.repeat(32)}`);
    expect(derToP1363(der)).toEqual(Buffer.concat([r, s]));
  });

  it('encodes r = 0 as a single zero byte', () => {
    const der = p1363ToDer(Buffer.alloc(64));
    expect(der.toString('hex')).toBe('3006020100020100');
    expect(derToP1363(der)).toEqual(Buffer.alloc(64));
  });

  it('uses the long length form for scalars that need it (P-521)', () => {
    // Prepare
    const p1363 = Buffer.alloc(132, 0xff);
    // Act
    const der = p1363ToDer(p1363, 66);
    // Assess
    expect(der.subarray(0, 3).toString('hex')).toBe('30818a');
    expect(derToP1363(der, 66)).toEqual(p1363);
  });

  it.each([63, 65, 0])('p1363ToDer rejects %i bytes', (length) => {
    expectEncodingError(() => p1363ToDer(Buffer.alloc(length, 1)), 'P1363 signature has the wrong length');
  });

  const one = Buffer.from([0x02, 0x01, 0x01]);
  it.each([
    ['empty input', Buffer.alloc(0), 'not a SEQUENCE'],
    ['a SET instead of a SEQUENCE', Buffer.from('3106020101020101', 'hex'), 'not a SEQUENCE'],
    ['a sequence length too long', Buffer.from('3007020101020101', 'hex'), 'sequence length'],
    ['a sequence length too short', Buffer.from('3005020101020101', 'hex'), 'sequence length'],
    ['trailing bytes after the sequence', Buffer.concat([seq(one, one), Buffer.from([0])]), 'sequence length'],
    ['trailing bytes inside the sequence', seq(one, one, Buffer.from([0x05, 0x00])), 'trailing bytes'],
    ['an OCTET STRING instead of r', seq(Buffer.from([0x04, 0x01, 0x01]), one), 'not an INTEGER'],
    ['a missing s', seq(one), 'not an INTEGER'],
    ['a zero-length integer', seq(Buffer.from([0x02, 0x00]), one), 'integer length'],
    ['an integer running past the end', Buffer.from('30050201010205', 'hex'), 'integer length'],
    ['an integer of 33 significant bytes', seq(Buffer.concat([Buffer.from([0x02, 0x21, 0x01]), Buffer.alloc(32, 0xff)]), one), 'integer too large'],
    ['a negative integer', seq(Buffer.from([0x02, 0x01, 0x81]), one), 'negative INTEGER'],
    ['a needlessly zero-padded integer', seq(Buffer.from([0x02, 0x02, 0x00, 0x01]), one), 'non-minimal INTEGER'],
    ['a long-form length for a short sequence', Buffer.from('308106020101020101', 'hex'), 'non-minimal length'],
  ])('derToP1363 rejects %s', (_what, der, detail) => {
    expectEncodingError(() => derToP1363(der), `malformed DER ECDSA signature: ${detail}`);
  });

  it('rejects a P1363 signature handed to derToP1363', () => {
    // Prepare: P1363 whose first byte is not 0x30, as it is for nearly every signature.
    let p1363: Buffer;
    do p1363 = sign('sha256', Buffer.from('x'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    while (p1363[0] === 0x30);
    // Act / Assess
    expectEncodingError(() => derToP1363(p1363), 'malformed DER ECDSA signature: not a SEQUENCE');
  });

  it('never throws anything but SignatureEncodingError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          const out = derToP1363(bytes);
          expect(out).toHaveLength(64);
        } catch (error) {
          expect(error).toBeInstanceOf(SignatureEncodingError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('kmsSign', () => {
  it('turns a high-s signature from KMS (which returns either s) into the low-s form verifiers accept', async () => {
    // Prepare: a KMS that always answers with the high-s twin, as AWS KMS does half the time.
    const message = Buffer.from('header.claims', 'ascii');
    const kms = {
      send: async () => {
        const low = signEs256(message, privateKey);
        return { Signature: p1363ToDer(highSTwin(low)) };
      },
    } as unknown as KMSClient;

    // Act
    const signature = await kmsSign(kms, 'alias/attestor/tenant/acme/kid', message);

    // Assess
    expect(isLowS(signature)).toBe(true);
    expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  });
});
