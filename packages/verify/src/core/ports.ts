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
}

export const NO_VERIFICATION_KEYS: VerificationKeys = { publicKeys: new Map(), secrets: [] };

/** Where a verifier gets a tenant's keys from. */
export interface VerificationKeySource {
  keys(tenantId: string): Promise<VerificationKeys>;
}

