/**
 * Single use, for tokens issued with `limitedUse` and for the jti of every proof of possession:
 * the first `consume` of an id wins, every later one (until the id expires) loses. The DynamoDB
 * adapter makes that hold across every container of a fleet; the in-memory ledger here holds
 * within one process only.
 */
import type { Clock } from './ports';
import type { TokenClaims } from '@attestor/contracts/protocol';

/** Records ids that may be used only once (the port; DynamoDbTokenLedger and InMemoryReplayLedger implement it). */
export interface ReplayLedger {
  /**
   * Records `id` as used until `expiresAt` (unix seconds). Returns true for the first caller and
   * false if the id was recorded before and has not expired: of any number of concurrent calls
   * with one id, exactly one returns true. Throws when it cannot tell (callers then deny).
   */
  consume(id: string, expiresAt: number): Promise<boolean>;
}

/** The ledger cannot take more ids; callers deny rather than forget what was used. */
export class ReplayLedgerFullError extends Error {
  override readonly name = 'ReplayLedgerFullError';
  constructor(maxEntries: number) {
    super(`replay ledger holds ${maxEntries} unexpired ids; raise maxEntries or use a shared ledger`);
  }
}

/** Options of InMemoryReplayLedger. */
export interface InMemoryReplayLedgerOptions {
  readonly clock: Clock;
  /** @default 100000 */
  readonly maxEntries?: number;
}

/** A ledger for one process (tests, a single server). Fleets need a shared one, such as DynamoDbTokenLedger. */
export class InMemoryReplayLedger implements ReplayLedger {
  private readonly used = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(private readonly options: InMemoryReplayLedgerOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async consume(id: string, expiresAt: number): Promise<boolean> {
    const now = this.options.clock.nowSeconds();
    const until = this.used.get(id);
    if (until !== undefined && until > now) return false;
    if (until === undefined && this.used.size >= this.maxEntries) {
      for (const [key, value] of this.used) if (value <= now) this.used.delete(key);
      if (this.used.size >= this.maxEntries) throw new ReplayLedgerFullError(this.maxEntries);
    }
    this.used.set(id, expiresAt);
    return true;
  }
}

/**
 * Ledger id of a token's jti. jtis are 128 random bits the service draws, so they do not collide
 * between tenants sharing a ledger; es256 ids keep their audience as they always had.
 */
export function tokenLedgerId(claims: Pick<TokenClaims, 'aud' | 'jti'>): string {
  return claims.aud === undefined ? `token#${claims.jti}` : `token#${claims.aud}#${claims.jti}`;
}

/** Ledger id of a proof's jti, per install key: one install cannot use up another's ids. */
export function proofLedgerId(jkt: string, jti: string): string {
  return `proof#${jkt}#${jti}`;
}
