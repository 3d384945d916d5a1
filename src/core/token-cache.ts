/**
 * Tokens are reused for minutes, so most requests carry a token the verifier has already checked.
 * This cache remembers, per exact token text, the claims and the key whose signature check passed,
 * and lets a repeat skip parsing and the ES256 verify. It never skips anything else: the verifier
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

/** A size-capped LRU map from token text to its verification. */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, VerifiedToken>();

  /** @param maxEntries at most this many tokens are remembered (each up to 4 KiB of text). */
  constructor(readonly maxEntries = 5000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError('maxEntries must be a whole number of entries');
  }

  get size(): number {
    return this.entries.size;
  }

  get(token: string): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (entry !== undefined) {
      // Map iteration order is insertion order: re-inserting makes this the most recently used.
      this.entries.delete(token);
      this.entries.set(token, entry);
    }
    return entry;
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(token);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, entry);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }

  clear(): void {
    this.entries.clear();
  }
}
