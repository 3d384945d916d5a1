import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { computeMeasurement, constantTimeEqual, packageDigest } from '../../../packages/service/src/core/measurement';

const nonce = Buffer.alloc(32, 7);
const digest = createHash('sha256').update('package').digest();

describe('packageDigest', () => {
  it('is SHA-256 of the package bytes', () => {
    expect(packageDigest(Buffer.from('abc')).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('computeMeasurement', () => {
  it('is HMAC-SHA256 keyed by the nonce over label 0 appId 0 version 0 digest', () => {
    // Prepare: the protocol's byte layout, built independently.
    const message = Buffer.concat([
      Buffer.from('attestor-measurement-v1'),
      Buffer.from([0]),
      Buffer.from('com.example.app'),
      Buffer.from([0]),
      Buffer.from('1.2.3'),
      Buffer.from([0]),
      digest,
    ]);
    const expected = createHmac('sha256', nonce).update(message).digest();
    // Act
    const measurement = computeMeasurement(nonce, 'com.example.app', '1.2.3', digest);
    // Assess
    expect(measurement).toHaveLength(32);
    expect(measurement.equals(expected)).toBe(true);
  });

  it('is deterministic', () => {
    expect(computeMeasurement(nonce, 'a.b', '1', digest)).toEqual(computeMeasurement(Buffer.from(nonce), 'a.b', '1', Buffer.from(digest)));
  });

  const base = { nonce, appId: 'com.example.app', version: '1.0.0', digest };
  const m = (x: typeof base) => computeMeasurement(x.nonce, x.appId, x.version, x.digest).toString('hex');

  it.each([
    ['nonce', { ...base, nonce: Buffer.alloc(32, 8) }],
    ['appId', { ...base, appId: 'com.example.apq' }],
    ['version', { ...base, version: '1.0.1' }],
    ['digest', { ...base, digest: Buffer.concat([digest.subarray(0, 31), Buffer.from([digest[31]! ^ 1])]) }],
  ])('changes when the %s changes', (_what, changed) => {
    expect(m(changed)).not.toBe(m(base));
  });

  it('changes with any single-bit flip of nonce or digest', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.nat({ max: 255 }), (inNonce, bit) => {
        // Prepare
        const flipped = Buffer.from(inNonce ? nonce : digest);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        // Act
        const changed = inNonce ? m({ ...base, nonce: flipped }) : m({ ...base, digest: flipped });
        // Assess
        expect(changed).not.toBe(m(base));
      }),
    );
  });

  it('separates appId from version: "a.b"+"c1" differs from "a.bc"+"1" and "a.b"+"c"+"1"', () => {
    const a = computeMeasurement(nonce, 'a.b', 'c1', digest);
    const b = computeMeasurement(nonce, 'a.bc', '1', digest);
    expect(a.equals(b)).toBe(false);
  });

  it('is unambiguous over appId/version splits (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 2, maxLength: 20 }), fc.nat(), (joined, cut) => {
        // Prepare: two different splits of the same concatenation.
        const i = 1 + (cut % (joined.length - 1));
        const j = i === 1 ? 2 : i - 1;
        fc.pre(j < joined.length && j !== i);
        // Act
        const a = computeMeasurement(nonce, joined.slice(0, i), joined.slice(i), digest);
        const b = computeMeasurement(nonce, joined.slice(0, j), joined.slice(j), digest);
        // Assess
        expect(a.equals(b)).toBe(false);
      }),
    );
  });

  it('depends on the nonce so a captured measurement is useless for another challenge', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (n1, n2) => {
        fc.pre(!Buffer.from(n1).equals(Buffer.from(n2)));
        expect(computeMeasurement(n1, 'a.b', '1', digest).equals(computeMeasurement(n2, 'a.b', '1', digest))).toBe(false);
      }),
      { numRuns: 50 },
    );
  });
});

describe('constantTimeEqual', () => {
  it('agrees with Buffer.equals on any pair', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(Buffer.from(a).equals(Buffer.from(b)));
      }),
    );
  });

  it('is true for equal contents in different buffers', () => {
    const a = randomBytes(32);
    expect(constantTimeEqual(a, Buffer.from(a))).toBe(true);
    expect(constantTimeEqual(new Uint8Array(0), Buffer.alloc(0))).toBe(true);
  });

  it('is false when one byte differs', () => {
    const a = randomBytes(32);
    const b = Buffer.from(a);
    b[31]! ^= 0x01;
    expect(constantTimeEqual(a, b)).toBe(false);
  });

  it('is false, not an exception, for different lengths in either order', () => {
    const a = Buffer.alloc(32, 1);
    const prefix = a.subarray(0, 31);
    expect(constantTimeEqual(a, prefix)).toBe(false);
    expect(constantTimeEqual(prefix, a)).toBe(false);
    expect(constantTimeEqual(Buffer.alloc(0), a)).toBe(false);
  });
});
