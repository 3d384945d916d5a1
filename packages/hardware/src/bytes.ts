import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True for any byte array (Uint8Array or Buffer), whichever realm created it: `instanceof`
 * fails for Buffers made by Node core when the caller runs in a vm context such as jest's.
 */
export function isBytes(value: unknown): value is Uint8Array {
  return (
    ArrayBuffer.isView(value) &&
    (value as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT === 1 &&
    !(value instanceof DataView)
  );
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** Compares in constant time for equal lengths; lengths are not secret here. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** A detached plain Uint8Array, so results never alias caller input or pooled Buffers. */
export function copyBytes(bytes: Uint8Array | ArrayBuffer): Uint8Array {
  return ArrayBuffer.isView(bytes) ? new Uint8Array(bytes) : new Uint8Array(bytes.slice(0));
}

/**
 * Views an ArrayBuffer, a byte view, or an asn1-schema OctetString (which wraps `.buffer`) as a
 * Buffer. Duck-typed because asn1-schema declares OctetString where it hands out ArrayBuffers.
 */
export function bytesOf(value: ArrayBuffer | ArrayBufferView | { buffer: ArrayBuffer }): Buffer {
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if ('buffer' in value) return Buffer.from(value.buffer);
  return Buffer.from(value);
}
