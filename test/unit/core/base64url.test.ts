import fc from 'fast-check';
import { b64uLength, decodeB64u, encodeB64u } from '../../../packages/contracts/src/base64url';

describe('base64url', () => {
  it('round-trips any byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        // Act
        const text = encodeB64u(bytes);
        const back = decodeB64u(text);
        // Assess
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(back).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('encodes a view of a larger buffer without its neighbours', () => {
    // Prepare
    const whole = Buffer.from([1, 2, 3, 4, 5, 6]);
    const view = whole.subarray(2, 4);
    // Act / Assess
    expect(encodeB64u(view)).toBe(Buffer.from([3, 4]).toString('base64url'));
  });

  it('decodes only canonical strings: decode then encode gives the input back', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), maxLength: 40 }), (text) => {
        // Act
        const bytes = decodeB64u(text);
        // Assess
        if (bytes) expect(encodeB64u(bytes)).toBe(text);
      }),
    );
  });

  it('b64uLength matches the encoded length', () => {
    fc.assert(
      fc.property(fc.nat({ max: 300 }), (n) => {
        expect(b64uLength(n)).toBe(encodeB64u(Buffer.alloc(n)).length);
      }),
    );
    expect([b64uLength(32), b64uLength(64)]).toEqual([43, 86]);
  });

  it('decodes the empty string to no bytes', () => {
    expect(decodeB64u('')).toEqual(Buffer.alloc(0));
  });

  it.each([
    ['padding', 'AA=='],
    ['single padding', 'AAA='],
    ['standard alphabet +', 'ab+d'],
    ['standard alphabet /', 'ab/d'],
    ['a space', 'AA AA'],
    ['a leading space', ' AAAA'],
    ['a trailing newline', 'AAAA\n'],
    ['a tab', 'AA\tAA'],
    ['a non-ASCII letter', 'AAÀA'],
    ['a dot', 'AA.A'],
    ['length % 4 == 1', 'AAAAA'],
    ['length 1', 'A'],
    ['non-canonical trailing bits in 2 chars ("AB" ~ "AA")', 'AB'],
    ['non-canonical trailing bits in 3 chars ("AAB" ~ "AAA")', 'AAB'],
    ['non-canonical trailing bits in 43 chars', `${'A'.repeat(42)}B`],
  ])('rejects %s', (_what, text) => {
    // Act
    const bytes = decodeB64u(text);
    // Assess
    expect(bytes).toBeUndefined();
  });

  it('accepts the canonical neighbours of the rejected non-canonical forms', () => {
    expect(decodeB64u('AA')).toEqual(Buffer.from([0]));
    expect(decodeB64u('AAA')).toEqual(Buffer.from([0, 0]));
    expect(decodeB64u('AQ')).toEqual(Buffer.from([0x01]));
    expect(decodeB64u('AR')).toBeUndefined();
    expect(decodeB64u('-_8')).toEqual(Buffer.from([0xfb, 0xff]));
  });
});
