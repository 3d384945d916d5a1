/**
 * The two P-256 facts the protocol checks itself rather than leave to a crypto library: whether an
 * install key's coordinates are a point on the curve (a 400 at the edge, PROTOCOL.md §2.2), and the
 * canonical low-s form of ES256 signatures (§4.4). Plain bigint arithmetic and no imports beyond the
 * protocol's constants, so the request schemas can use it without loading node:crypto.
 */
import { P256_ORDER } from './protocol';

/** The field prime p and the curve's b (y² = x³ − 3x + b over GF(p)), from SEC 2 / FIPS 186-4 D.1.2.3. */
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const HALF_ORDER = P256_ORDER >> 1n;

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function toBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1, rest = value; i >= 0; i--, rest >>= 8n) out[i] = Number(rest & 0xffn);
  return out;
}

/**
 * True when (x, y), 32 big-endian bytes each, is an affine point of P-256: both coordinates below p
 * and y² = x³ − 3x + b (mod p). The point at infinity has no affine form, so it is never one.
 * @example
 * ```ts
 * isOnP256(decodeB64u(jwk.x)!, decodeB64u(jwk.y)!); // false for a key whose y was altered
 * ```
 */
export function isOnP256(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== 32 || y.length !== 32) return false;
  const X = toBigInt(x);
  const Y = toBigInt(y);
  if (X >= P || Y >= P) return false;
  const rhs = (((X * X) % P) * X - 3n * X + B) % P;
  return (Y * Y) % P === (rhs + P) % P;
}

/**
 * True when a 64-byte IEEE P1363 signature r‖s has 1 ≤ s ≤ n/2, the only form the protocol accepts.
 * @example
 * ```ts
 * if (!isLowS(signature)) return false; // its twin (r, n − s) would verify too
 * ```
 */
export function isLowS(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const s = toBigInt(signature.subarray(32));
  return s >= 1n && s <= HALF_ORDER;
}

/**
 * The low-s form of a 64-byte r‖s signature: s replaced by n − s when above n/2, otherwise a copy.
 * Both verify; only the low form is accepted. Signers whose library does not normalise (node:crypto,
 * WebCrypto, AWS KMS) pass every signature through this.
 * @example
 * ```ts
 * const proof = toLowS(sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' }));
 * ```
 */
export function toLowS(signature: Uint8Array): Uint8Array {
  if (signature.length !== 64) throw new RangeError('an ES256 signature is 64 bytes (r‖s)');
  const s = toBigInt(signature.subarray(32));
  const out = Uint8Array.from(signature);
  if (s > HALF_ORDER) out.set(toBytes(P256_ORDER - s, 32), 32);
  return out;
}
