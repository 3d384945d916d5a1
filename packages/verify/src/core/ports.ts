/**
 * What a verifier needs from the outside world: a clock, and a source of the tenant's keys. The
 * service's components (attest, the authorizer) implement and share these.
 */
import type { KeyObject } from 'node:crypto';

export interface Clock {
  /** Current time in whole unix seconds. Injected so expiry can be tested without waiting. */
  nowSeconds(): number;
}

export const systemClock: Clock = { nowSeconds: () => Math.floor(Date.now() / 1000) };

/** An hs256 secret as verifiers hold it. `kid` names it in key listings, never in tokens. */
export interface TokenSecret {
  readonly kid: string;
  readonly key: KeyObject;
}

/** What a verifier trusts for one tenant. */
export interface VerificationKeys {
  /** es256 public keys, by kid. */
  readonly publicKeys: ReadonlyMap<string, KeyObject>;
  /** hs256 secrets, the one signing now first (hs256 tokens name no key, so verifiers try them in this order). */
  readonly secrets: readonly TokenSecret[];
  /**
   * The tenant's test secrets (PROTOCOL.md §5.7), for verifiers that accept test tokens; absent
   * everywhere else. They verify test tokens only, and test tokens only them.
   */
  readonly testSecrets?: readonly TokenSecret[];
  /**
   * When keys stop being trusted (unix seconds), by kid, for the keys whose retirement the source
   * knows (a rotation set it): a verifier drops a key at this time (plus clock skew) even while it
   * cannot reach the source to learn that the key retired.
   */
  readonly retiresAt?: ReadonlyMap<string, number>;
  /**
   * When KMS last vouched for this key material (the oldest Decrypt behind a cached secret), where
   * the source caches it; absent means now. A verifier trusts the keys for SECRET_CACHE_SECONDS
   * (@attestor/contracts/protocol) from the earlier of this and its load, and not after.
   */
  readonly confirmedAt?: number;
}

export const NO_VERIFICATION_KEYS: VerificationKeys = { publicKeys: new Map(), secrets: [] };

/** Where a verifier gets a tenant's keys from. */
export interface VerificationKeySource {
  keys(tenantId: string): Promise<VerificationKeys>;
}

