/**
 * Tokens are reused for minutes, so most requests carry a token the verifier has already checked.
 * This cache remembers, per exact token text, the claims and the key whose signature check passed,
 * from the second time a token verifies, and lets a repeat skip parsing and the signature check. It
 * never skips anything else: the verifier re-runs the time, issuer and audience checks on every hit,
 * requires the key to still be trusted, and runs binding, proof and single-use checks for each
 * request as if the token were new.
 */
import type { KeyObject } from 'node:crypto';
import type { TokenClaims } from '@attestor/contracts/protocol';

/** What a cache hit stands for: these claims were signed by this key. */
export interface VerifiedToken {
  /** Frozen: every caller that hits the entry gets the same object. */
  readonly claims: TokenClaims;
  /** The key the signature verified with; the hit counts only while the key ring still maps the kid to it. */
  readonly key: KeyObject;
  readonly kid: string;
}

interface Entry {
  readonly token: string;
  readonly verified: VerifiedToken;
}

/**
 * A small integer from the first four characters after the token's last dot (its signature
 * segment, 24 bits of base64url): a token arrives as a new string, so keying by its text would hash
 * all of its few hundred characters on every lookup (600 ns measured; 30 ns for this). Two tokens
 * with the same key are told apart by the whole text an entry keeps.
 */
function keyOf(token: string): number {
  const at = token.lastIndexOf('.') + 1;
  return token.charCodeAt(at) | (token.charCodeAt(at + 1) << 7) | (token.charCodeAt(at + 2) << 14) | (token.charCodeAt(at + 3) << 21);
}

/** What sextets() gives: the doorkeeper holds at most this many bits' worth of positions. */
const SEXTETS_BITS = 24;

/** The value of each base64url digit by char code (other codes read 0: only bits for a filter, never decoded bytes). */
const DIGIT_VALUE = new Uint8Array(128);
for (const [value, digit] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) DIGIT_VALUE[digit.charCodeAt(0)] = value;

/** The 24 bits of four base64url digits of `text` from `at`. */
function sextets(text: string, at: number): number {
  return (
    DIGIT_VALUE[text.charCodeAt(at) & 127]! |
    (DIGIT_VALUE[text.charCodeAt(at + 1) & 127]! << 6) |
    (DIGIT_VALUE[text.charCodeAt(at + 2) & 127]! << 12) |
    (DIGIT_VALUE[text.charCodeAt(at + 3) & 127]! << 18)
  );
}

/**
 * Whether `token` is the text an entry stores. Anyone can aim a made-up token at an entry (its key
 * is four characters of the text), so the signature segments, which only the token's holder knows,
 * are compared first in constant time; the whole texts, with an early exit, only when those match.
 */
function sameToken(stored: string, token: string): boolean {
  if (stored.length !== token.length) return false;
  let difference = 0;
  for (let i = stored.lastIndexOf('.') + 1; i < stored.length; i++) difference |= stored.charCodeAt(i) ^ token.charCodeAt(i);
  return difference === 0 && stored === token;
}

/**
 * A size-capped map from token text to its verification, kept in two generations: entries go into
 * the young one; when it holds half the capacity it becomes the old one and the previous old one is
 * dropped whole. A hit in the old generation moves the entry to the young one, so a token in use
 * survives every turnover, and a flood of distinct tokens costs an O(1) set each. (An exact LRU
 * over a JavaScript Map deletes from the front and then pays for the holes on every eviction:
 * about 4 µs per token seen for the first time, as much as the HMAC being saved.)
 */
export class VerifiedTokenCache {
  // Keyed by keyOf(token); a hit counts only when the whole token text is the one stored.
  private young = new Map<number, Entry>();
  private old = new Map<number, Entry>();
  private readonly generationSize: number;
  /**
   * The doorkeeper: a Bloom filter of the signatures verified since it was last cleared. A token is
   * remembered the second time it verifies, not the first, so a token used once (a limited-use
   * token, a client that fetches one per call, a flood of distinct valid tokens) costs no entry,
   * evicts nothing and is not kept alive for the garbage collector to copy: measured, remembering
   * every token on first sight cost about 1.5 µs per token, a third of its whole check. A token in
   * use pays one more full check before its hits start. Bits, not tags, so two tokens in use that
   * share a bit never keep each other out.
   */
  private readonly seen: Uint32Array;
  private seenCount = 0;

  /** @param maxEntries at most this many tokens are remembered (each up to 4 KiB of text). */
  constructor(readonly maxEntries = 5000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries must be a whole number of entries');
    this.generationSize = Math.floor(maxEntries / 2);
    // At least 16 bits per token seen between clearings, a power of two so a bit is picked with a
    // mask: with two bits per token, about 1 % of first sights are taken for second ones just
    // before a clearing, fewer on average.
    this.seen = new Uint32Array(this.generationSize === 0 ? 0 : 2 ** Math.min(Math.ceil(Math.log2(Math.max(maxEntries * 16, 64))), SEXTETS_BITS) / 32);
  }

  /**
   * Whether a token whose signature just verified should be remembered now: true when its
   * signature was seen since the doorkeeper was last cleared (or, rarely, two other signatures set
   * the same bits, which only remembers a token early). The bits come from characters 4 to 11 of
   * the signature's base64url text, 24 bits from each four (keyOf takes the first four): MAC and
   * ECDSA outputs spread evenly, and nobody without the key can aim a valid signature at chosen
   * bits. Cleared after maxEntries first sights, so it never fills up.
   */
  admit(signatureSegment: string): boolean {
    if (this.seen.length === 0 || signatureSegment.length < 12) return false;
    const mask = this.seen.length * 32 - 1;
    const a = sextets(signatureSegment, 4) & mask;
    const b = sextets(signatureSegment, 8) & mask;
    const bitA = 1 << (a & 31);
    const bitB = 1 << (b & 31);
    if ((this.seen[a >>> 5]! & bitA) !== 0 && (this.seen[b >>> 5]! & bitB) !== 0) return true;
    if (++this.seenCount > this.maxEntries) {
      this.seen.fill(0);
      this.seenCount = 1;
    }
    this.seen[a >>> 5]! |= bitA;
    this.seen[b >>> 5]! |= bitB;
    return false;
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(token: string): VerifiedToken | undefined {
    const key = keyOf(token);
    const young = this.young.get(key);
    if (young !== undefined) return sameToken(young.token, token) ? young.verified : undefined;
    const old = this.old.get(key);
    if (old === undefined || !sameToken(old.token, token)) return undefined;
    this.old.delete(key);
    this.insert(key, old);
    return old.verified;
  }

  /** Remembers `token`, in place of any other token with the same key. */
  set(token: string, verified: VerifiedToken): void {
    if (this.generationSize === 0) return;
    const key = keyOf(token);
    this.old.delete(key);
    this.insert(key, { token, verified });
  }

  delete(token: string): void {
    const key = keyOf(token);
    const young = this.young.get(key);
    if (young !== undefined && sameToken(young.token, token)) this.young.delete(key);
    const old = this.old.get(key);
    if (old !== undefined && sameToken(old.token, token)) this.old.delete(key);
  }

  private insert(key: number, entry: Entry): void {
    this.young.set(key, entry);
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
    this.seen.fill(0);
    this.seenCount = 0;
  }
}
