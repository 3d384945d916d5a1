/**
 * Base64url without padding (RFC 4648 §5), the only binary encoding protocol v1 uses.
 * Decoding is strict: padding, whitespace or characters outside the alphabet are rejected,
 * because lenient decoders let two different strings decode to the same bytes.
 */
const B64U = /^[A-Za-z0-9_-]*$/;

export function encodeB64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Returns undefined for anything that is not canonical base64url of some byte string. */
export function decodeB64u(text: string): Buffer | undefined {
  if (!B64U.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Reject non-canonical trailing bits (e.g. "AB" and "AA" both decoding to 0x00).
  if (bytes.toString('base64url') !== text) return undefined;
  return bytes;
}

/** Length in characters of the base64url form of `n` bytes. */
export function b64uLength(n: number): number {
  return Math.ceil((n * 4) / 3);
}
