/**
 * Rotating a tenant's token keys (docs/ADMIN_API.md §8), at most once an hour per tenant. Each
 * rotation may create a KMS key (a monthly charge) and keeps the old ones alive for an hour, so an
 * unbounded stream of rotations from one tenant credential would be spent on the deployment's
 * account. Operators are exempt: they answer for the account.
 */
import type { KeyRotation } from '@attestor/contracts/admin-api';
import type { TokenFormat } from '@attestor/contracts/protocol';
import { RateLimitedError } from '../errors';
import type { Clock, TenantKeyManager, TenantKeyStore } from '../ports';
import type { AdminCaller } from '../tenancy';

/** A tenant's rotations are at least this far apart. */
export const KEY_ROTATION_INTERVAL_SECONDS = 3600;

export interface KeyRotationDeps {
  readonly keys: Pick<TenantKeyManager, 'rotateSigningKey'>;
  readonly rotations: Pick<TenantKeyStore, 'claimRotation' | 'releaseRotation'>;
  readonly clock: Clock;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Claims the rotation first (one conditional write, so concurrent requests cannot all pass a check),
 * then rotates; a rotation that fails gives its claim back, so a KMS outage does not cost an hour.
 */
export async function rotateTenantKeys(deps: KeyRotationDeps, caller: AdminCaller, format?: TokenFormat): Promise<KeyRotation> {
  if (caller.operator) return deps.keys.rotateSigningKey(caller.tenantId, format);
  const now = deps.clock.nowSeconds();
  const standing = await deps.rotations.claimRotation(caller.tenantId, now, KEY_ROTATION_INTERVAL_SECONDS);
  if (standing !== undefined) {
    const retryAt = standing + KEY_ROTATION_INTERVAL_SECONDS;
    throw new RateLimitedError(
      `keys of tenant ${caller.tenantId} were rotated at ${iso(standing)}: one rotation an hour, try again after ${iso(retryAt)}`,
      Math.max(1, retryAt - now),
    );
  }
  try {
    return await deps.keys.rotateSigningKey(caller.tenantId, format);
  } catch (error) {
    await deps.rotations.releaseRotation(caller.tenantId, now).catch(() => undefined);
    throw error;
  }
}
