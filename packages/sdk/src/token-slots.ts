/**
 * The client's token cache: one slot per binding value (the unbound token and a few bound ones),
 * each holding the last token and the attestation in flight for it, so concurrent callers share
 * one attestation and a token is refreshed in the background before it runs out.
 */
import { AttestorError } from './errors';
import type { AttestorClientStatus, AttestorEvent } from './events';
import type { Circuit } from './resilience';
import type { InstallSigner } from './signer';

/** A token as the cache keeps it, with the ages at which it is refreshed. */
export interface CachedToken {
  readonly token: string;
  /** Local time the token arrived, in ms. */
  readonly receivedAtMs: number;
  /** exp - iat from the token itself, in ms: server clock against server clock, so local skew does not matter. */
  readonly lifetimeMs: number;
  /** Age after which a background refresh starts. */
  readonly backgroundAfterMs: number;
  /** Age after which getToken waits for a new token. */
  readonly refreshAfterMs: number;
  /** The install key that attested; a proof must be signed by it to match the token's cnf.jkt. */
  readonly key: InstallSigner;
}

interface TokenSlot {
  entry?: CachedToken;
  inflight?: Promise<CachedToken>;
}

/** A token is handed out while more than this fraction of its life is left. */
const REFRESH_AT_REMAINING = 0.2;
/** Below this fraction left, getToken still answers from the cache but refreshes in the background. */
const BACKGROUND_REFRESH_AT_REMAINING = 1 / 3;
/** Bound tokens kept per client; apps rotate a handful of Authorization values at most. */
const MAX_BOUND_SLOTS = 8;

/** The cache entry for a token that arrived at `receivedAtMs` and lives `lifetimeMs` by its own claims. */
export function cachedToken(token: string, receivedAtMs: number, lifetimeMs: number, key: InstallSigner): CachedToken {
  return {
    token,
    receivedAtMs,
    lifetimeMs,
    backgroundAfterMs: lifetimeMs * (1 - BACKGROUND_REFRESH_AT_REMAINING),
    refreshAfterMs: lifetimeMs * (1 - REFRESH_AT_REMAINING),
    key,
  };
}

/** The slots, and the rules for when a cached token is good, due for a refresh or past use. */
export class TokenSlots {
  private readonly unbound: TokenSlot = {};
  private readonly bound = new Map<string, TokenSlot>();

  constructor(
    /** Runs one attestation for a cacheable (not limited-use) token. */
    private readonly attest: (binding: string | undefined, background: boolean) => Promise<CachedToken>,
    private readonly circuit: Pick<Circuit, 'state'>,
    private readonly now: () => number,
    private readonly emit: (event: AttestorEvent) => void,
  ) {}

  /** getToken's hot path: the cached token while no refresh is due, else undefined; no allocation, no await. */
  fresh(binding: string | undefined): string | undefined {
    const entry = (binding === undefined ? this.unbound : this.bound.get(binding))?.entry;
    if (entry !== undefined) {
      const age = this.now() - entry.receivedAtMs;
      if (age >= 0 && age < entry.backgroundAfterMs) return entry.token;
    }
    return undefined;
  }

  /** A token for `binding`: the cached one while usable (refreshing it in the background when due), else a new one. */
  async cachedEntry(binding: string | undefined): Promise<CachedToken> {
    if (binding !== undefined && typeof binding !== 'string') throw new AttestorError('invalid_request', 'binding must be a string', { field: 'binding' });
    const slot = this.slotFor(binding);
    const entry = slot.entry;
    const age = entry ? this.now() - entry.receivedAtMs : -1;
    if (entry && age >= 0) {
      if (age < entry.backgroundAfterMs) return entry;
      if (age < entry.refreshAfterMs) {
        // While the circuit is open a refresh would only fail (and report it) on every call.
        if (this.circuit.state(this.now()) !== 'open') this.refresh(slot, binding, true).catch(() => undefined);
        return entry;
      }
    }
    try {
      return await this.refresh(slot, binding, false);
    } catch (error) {
      const current = slot.entry;
      const currentAge = current ? this.now() - current.receivedAtMs : -1;
      if (current && currentAge >= 0 && currentAge < current.lifetimeMs) {
        this.emit({ type: 'stale_token', code: error instanceof AttestorError ? error.code : 'local_error', expiresInMs: current.lifetimeMs - currentAge });
        return current;
      }
      throw error;
    }
  }

  /** The unbound token's attestation in flight, if any (prefetch waits for it). */
  unboundInflight(): Promise<CachedToken> | undefined {
    return this.unbound.inflight;
  }

  /** Forgets every cached token; attestations in flight still fill their slots. */
  invalidate(): void {
    this.unbound.entry = undefined;
    for (const slot of this.bound.values()) slot.entry = undefined;
  }

  /** How far the unbound token is through its life at `now`, for status(). */
  state(now: number): AttestorClientStatus['token'] {
    const entry = this.unbound.entry;
    const age = entry ? now - entry.receivedAtMs : -1;
    let token: AttestorClientStatus['token'] = 'none';
    if (entry && age >= 0) {
      if (age < entry.backgroundAfterMs) token = 'fresh';
      else if (age < entry.refreshAfterMs) token = 'refresh_due';
      else if (age < entry.lifetimeMs) token = 'expiring';
    }
    return token;
  }

  private slotFor(binding: string | undefined): TokenSlot {
    if (binding === undefined) return this.unbound;
    let slot = this.bound.get(binding);
    if (!slot) {
      if (this.bound.size >= MAX_BOUND_SLOTS) this.bound.delete(this.bound.keys().next().value!);
      slot = {};
      this.bound.set(binding, slot);
    }
    return slot;
  }

  private refresh(slot: TokenSlot, binding: string | undefined, background: boolean): Promise<CachedToken> {
    slot.inflight ??= this.attest(binding, background)
      .then((entry) => {
        slot.entry = entry;
        return entry;
      })
      .finally(() => {
        slot.inflight = undefined;
      });
    return slot.inflight;
  }
}
