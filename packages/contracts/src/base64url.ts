/**
 * Base64url without padding (RFC 4648 §5), the only binary encoding protocol v1 uses.
 * Decoding is strict: padding, whitespace or characters outside the alphabet are rejected,
 * because lenient decoders let two different strings decode to the same bytes.
 */

export function encodeB64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Returns undefined for anything that is not canonical base64url of some byte string. Node's decoder
 * is lenient (it skips foreign characters and padding), so the text must be exactly what encoding its
 * bytes gives back: one comparison rejects padding, whitespace, characters outside the alphabet, a
 * length of 1 mod 4 and non-canonical trailing bits ("AB" and "AA" both decoding to 0x00). Token
 * verification calls this per request, so it does nothing more.
 */
export function decodeB64u(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/** Length in characters of the base64url form of `n` bytes. */
export function b64uLength(n: number): number {
  return Math.ceil((n * 4) / 3);
}
