/**
 * Tokens are reused for minutes, so most requests carry a token the verifier has already checked.
 * This cache remembers, per exact token text, the claims and the key whose signature check passed,
 * and lets a repeat skip parsing and the signature check. It never skips anything else: the verifier
 * re-runs the time, issuer and audience checks on every hit, requires the key to still be trusted,
 * and runs binding, proof and single-use checks for each request as if the token were new.
 */
import type { KeyObject } from 'node:crypto';
import type { TokenClaims } from './token';

/** What a cache hit stands for: these claims were signed by this key. */
export interface VerifiedToken {
  /** Frozen: every caller that hits the entry gets the same object. */
  readonly claims: TokenClaims;
  /** The key the signature verified with; the hit counts only while the key ring still maps the kid to it. */
  readonly key: KeyObject;
  readonly kid: string;
}

/**
 * Looked up by the signature segment, which is as unique as the whole token but a tenth of its
 * length (a map hashes its key string once per new token: every request pays that, hit or miss);
 * a hit counts only if the whole token text is the one that was verified.
 */
const lookupKey = (token: string) => token.slice(token.lastIndexOf('.') + 1);

interface Entry {
  readonly token: string;
  readonly verified: VerifiedToken;
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
  private young = new Map<string, Entry>();
  private old = new Map<string, Entry>();
  private readonly generationSize: number;

  /** @param maxEntries at most this many tokens are remembered (each up to 4 KiB of text). */
  constructor(readonly maxEntries = 5000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries must be a whole number of entries');
    this.generationSize = Math.floor(maxEntries / 2);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(token: string): VerifiedToken | undefined {
    const key = lookupKey(token);
    const young = this.young.get(key);
    if (young !== undefined) return young.token === token ? young.verified : undefined;
    const old = this.old.get(key);
    if (old === undefined || old.token !== token) return undefined;
    this.old.delete(key);
    this.store(key, old);
    return old.verified;
  }

  set(token: string, verified: VerifiedToken): void {
    this.store(lookupKey(token), { token, verified });
  }

  delete(token: string): void {
    const key = lookupKey(token);
    if (this.young.get(key)?.token === token) this.young.delete(key);
    if (this.old.get(key)?.token === token) this.old.delete(key);
  }

  private store(key: string, entry: Entry): void {
    if (this.generationSize === 0) return;
    this.young.set(key, entry);
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
