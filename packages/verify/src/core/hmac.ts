/**
 * HMAC-SHA256 (RFC 2104) of text's UTF-8 bytes under a secret KeyObject, as two one-shot hashes
 * over the key's padded blocks: H((K ^ opad) || H((K ^ ipad) || text)). Byte for byte what
 * `createHmac('sha256', key).update(text).digest('base64url')` gives (the unit tests compare them
 * for keys and texts of every length class), at less than half its cost (1.1 against
 * 2.6 µs for a token's signing input, measured here): createHmac builds a native Hmac object,
 * re-derives both pads from the key and leaves the object and a digest Buffer for the garbage
 * collector on every call: about half of what verifying a token not seen before cost.
 *
 * The pads are derived once per KeyObject and held as long as it is (a WeakMap): they are
 * equivalent to the secret, which the verifier already held in memory when it built the KeyObject.
 */
import { createHash, createHmac, hash, type KeyObject } from 'node:crypto';
import { MAX_TOKEN_BYTES } from '@attestor/contracts/protocol';

/** SHA-256's block size: keys are padded (or first hashed) to this length. */
const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;
/** The UTF-8 bytes the reused buffer takes: any text of a token's size (MAX_TOKEN_BYTES) at three bytes a unit. */
const MAX_TEXT_BYTES = 3 * MAX_TOKEN_BYTES;

interface Pads {
  readonly inner: Buffer;
  readonly outer: Buffer;
}

const padsByKey = new WeakMap<KeyObject, Pads>();

function padsOf(key: KeyObject): Pads {
  const known = padsByKey.get(key);
  if (known !== undefined) return known;
  const exported = key.export();
  const bytes = exported.length > BLOCK_BYTES ? createHash('sha256').update(exported).digest() : exported;
  const inner = Buffer.alloc(BLOCK_BYTES, 0x36);
  const outer = Buffer.alloc(BLOCK_BYTES, 0x5c);
  for (let i = 0; i < bytes.length; i++) {
    inner[i]! ^= bytes[i]!;
    outer[i]! ^= bytes[i]!;
  }
  // The copies of the secret this made; only the pads are kept.
  exported.fill(0);
  bytes.fill(0);
  const pads = { inner, outer };
  padsByKey.set(key, pads);
  return pads;
}

// Reused across calls: this runs synchronously, so no other caller can be using them. Each holds
// the last call's pad and text until the next call overwrites it, and is never handed out.
const innerInput = Buffer.allocUnsafe(BLOCK_BYTES + MAX_TEXT_BYTES);
const outerInput = Buffer.allocUnsafe(BLOCK_BYTES + DIGEST_BYTES);

/**
 * The base64url text (no padding) of HMAC-SHA256 of the UTF-8 bytes of `text` under `key`, which
 * must be a secret KeyObject. UTF-8, not one byte per character: a token is ASCII, and a text with
 * any other character then has other bytes, so it cannot share a MAC with the ASCII text (taking
 * each character's low byte would let U+0161 stand in for 'a'). Text in, text out: the inner
 * digest passes as a 32-character latin1 string and the MAC comes back as the text a token carries,
 * so no digest Buffer (each one an ArrayBuffer the garbage collector tracks outside the heap) is
 * allocated per call.
 */
export function hmacSha256Text(key: KeyObject, text: string): string {
  // At most three bytes per UTF-16 unit, so a text this short always fits.
  if (text.length * 3 > MAX_TEXT_BYTES) return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
  const pads = padsOf(key);
  pads.inner.copy(innerInput, 0);
  const length = innerInput.write(text, BLOCK_BYTES, 'utf8');
  // 'binary' is Node's name for latin1: one character per byte.
  const innerDigest = hash('sha256', innerInput.subarray(0, BLOCK_BYTES + length), 'binary');
  pads.outer.copy(outerInput, 0);
  outerInput.write(innerDigest, BLOCK_BYTES, 'latin1');
  return hash('sha256', outerInput, 'base64url');
}
