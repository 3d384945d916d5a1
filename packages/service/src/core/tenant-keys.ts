/**
 * The lifecycle of a tenant's signing keys as a function of time, so every service instance
 * derives the same answer from the same records without anyone flipping statuses on a schedule.
 *
 * A rotation at t records a new key that is published at once and signs from t + KEY_PUBLICATION_SECONDS;
 * every older key then retires RETIREMENT_DELAY_SECONDS after the new key activates. See
 * docs/ADMIN_API.md §8 for why each number keeps every valid token verifiable.
 */
import type { TenantKeyRecord } from './ports';
import type { KeyLifecycleStatus } from '@attestor/contracts/admin-api';
import { CLOCK_SKEW_SECONDS, DEFAULT_TOKEN_FORMAT, MAX_TOKEN_TTL_SECONDS, type TokenFormat } from '@attestor/contracts/protocol';

/**
 * A verifier refetches its keys on an unknown kid at most every 30 s (PROTOCOL.md §6). Publishing
 * a key twice that long before it signs means any verifier has fetched it before it meets a token
 * carrying it.
 */
export const KEY_PUBLICATION_SECONDS = 60;
/**
 * How long a service instance under traffic may keep signing with a key it cached
 * (kms-tenant-keys.ts refreshes its key records in the background once they are this old). An
 * instance idle since before a rotation's activation signs the attestations that arrive during its
 * first refresh (one DynamoDB round trip) with the key it had: refreshing in the foreground instead
 * would make a tenant's first attestation after a pause slower than an unknown app id's (PROTOCOL.md §9).
 */
export const SIGNING_CACHE_SECONDS = 30;
export { SECRET_CACHE_SECONDS } from '@attestor/contracts/protocol';
/** From this age an unwrapped secret is unwrapped again in the background, so no request waits for it. */
export const SECRET_REFRESH_SECONDS = 240;
/** Clock skew verifiers tolerate on exp (PROTOCOL.md §6 step 8). */
export const VERIFIER_SKEW_SECONDS = CLOCK_SKEW_SECONDS;
/** After a newer key activates, an older one is trusted this much longer: its last token's whole life. */
export const RETIREMENT_DELAY_SECONDS = SIGNING_CACHE_SECONDS + MAX_TOKEN_TTL_SECONDS + VERIFIER_SKEW_SECONDS;


/** Records written before hs256 existed carry no format: they are all es256 KMS keys. */
export function formatOf(record: TenantKeyRecord): TokenFormat {
  return record.format ?? 'es256';
}

/** The format a tenant's next key gets when none is asked for: that of the key signing now. */
export function currentFormat(records: readonly TenantKeyRecord[], now: number): TokenFormat {
  const signing = signingKeyAt(records, now);
  return signing ? formatOf(signing) : DEFAULT_TOKEN_FORMAT;
}


/** The tenant has no signing key (its first key was never made: ensureSigningKey has not run for it). */
export class TenantKeyMissingError extends Error {
  override readonly name = 'TenantKeyMissingError';
  constructor(readonly tenantId: string) {
    super(`tenant ${tenantId} has no active signing key`);
  }
}

export function activatesAt(record: TenantKeyRecord): number {
  return record.activatesAt ?? record.createdAt;
}

function isRetired(record: TenantKeyRecord, now: number): boolean {
  return record.status === 'retired' || (record.retiresAt !== undefined && record.retiresAt <= now);
}

/** Latest activation first; ties by kid, so every reader picks the same key. */
function byActivationNewestFirst(a: TenantKeyRecord, b: TenantKeyRecord): number {
  return activatesAt(b) - activatesAt(a) || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);
}

/**
 * The key that signs at `now`: the most recently activated key that is not retired. A key whose
 * retirement is scheduled still signs until a newer one has activated, so a tenant is never left
 * without a signing key between a rotation and its activation.
 */
export function signingKeyAt(records: readonly TenantKeyRecord[], now: number): TenantKeyRecord | undefined {
  return records.filter((r) => !isRetired(r, now) && activatesAt(r) <= now).sort(byActivationNewestFirst)[0];
}

/** Keys verifiers trust at `now`: every key not retired, pending ones included. */
export function trustedKeysAt(records: readonly TenantKeyRecord[], now: number): TenantKeyRecord[] {
  return records.filter((r) => !isRetired(r, now)).sort(byActivationNewestFirst);
}

export function keyStatusAt(record: TenantKeyRecord, records: readonly TenantKeyRecord[], now: number): KeyLifecycleStatus {
  if (record.deletionScheduledAt !== undefined) return 'deleted';
  if (isRetired(record, now)) return 'retired';
  if (activatesAt(record) > now) return 'pending';
  return signingKeyAt(records, now)?.kid === record.kid ? 'active' : 'retiring';
}

/**
 * Retirement times to set after `newest` was recorded: every other key without one retires
 * RETIREMENT_DELAY_SECONDS after the newest activates. Run after recording, so of two concurrent
 * rotations at least one sees both keys and retires the older.
 */
export function retirementsAfterRotation(records: readonly TenantKeyRecord[]): Array<{ kid: string; retiresAt: number }> {
  const live = records.filter((r) => r.status !== 'retired').sort(byActivationNewestFirst);
  const newest = live[0];
  if (!newest) return [];
  const retiresAt = activatesAt(newest) + RETIREMENT_DELAY_SECONDS;
  return live.slice(1).filter((r) => r.retiresAt === undefined).map((r) => ({ kid: r.kid, retiresAt }));
}

/**
 * Keys whose KMS key can be deleted at `now`: retired (out of the JWKS, every token they signed
 * expired) and not yet scheduled for deletion. A deleted key can never be trusted again, so this
 * never includes a key trustedKeysAt could return.
 */
export function keysToDelete(records: readonly TenantKeyRecord[], now: number): TenantKeyRecord[] {
  return records.filter((r) => isRetired(r, now) && r.deletionScheduledAt === undefined);
}
