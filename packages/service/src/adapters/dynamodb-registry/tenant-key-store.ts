/**
 * Tenant key records in the registry table (items.ts): KEYS#<tenantId>, a partition of their own,
 * which is all the authorizer's role may read. The keys themselves are in KMS (kms-tenant-keys.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KeyConflictError } from '../../core/errors';
import type { TenantKeyRecord, TenantKeyStore } from '../../core/ports';
import {
  compareTenantKeysNewestFirst,
  keyAttributes,
  keyRotationItemKey,
  tenantKeyFromItem,
  tenantKeyItemKey,
  tenantKeysRange,
  tenantKeyToItem,
} from './items';
import { RegistryTable } from './table';

export { KeyConflictError };

export class DynamoDbTenantKeyStore implements TenantKeyStore {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async listTenantKeys(tenantId: string): Promise<TenantKeyRecord[]> {
    // Consistent (query): a key is listed right after putTenantKey when a tenant is first set up.
    const items = await this.table.query(tenantKeysRange(tenantId));
    // The sort key orders by kid (a thumbprint), not by time, so "newest first" is sorted here.
    return items.map(tenantKeyFromItem).sort(compareTenantKeysNewestFirst);
  }

  async putTenantKey(record: TenantKeyRecord): Promise<void> {
    if (!(await this.table.putIfAbsent(tenantKeyToItem(record)))) throw new KeyConflictError(record.tenantId, record.kid);
  }

  async retireTenantKey(tenantId: string, kid: string, retiresAt: number): Promise<void> {
    // An earlier retirement (from a concurrent rotation) stands.
    await this.setOnce(tenantId, kid, 'retiresAt', retiresAt);
  }

  async markTenantKeyDeletionScheduled(tenantId: string, kid: string, at: number): Promise<void> {
    // The wrapped secret of an hs256 key goes in the same write: once it is erased, no one can unwrap it again.
    await this.setOnce(tenantId, kid, 'deletionScheduledAt', at, 'wrappedSecret');
  }

  async claimRotation(tenantId: string, now: number, intervalSeconds: number): Promise<number | undefined> {
    const key = keyRotationItemKey(tenantId);
    const claimed = await this.table.putIfAbsentOr(
      { ...keyAttributes(key), rotatedAt: { N: String(now) } },
      { condition: '#rotatedAt <= :cutoff', names: { '#rotatedAt': 'rotatedAt' }, values: { ':cutoff': { N: String(now - intervalSeconds) } } },
    );
    if (claimed) return undefined;
    // Consistent: the claim that beat this one may be milliseconds old.
    const standing = (await this.table.get(key, true))?.['rotatedAt']?.N;
    // Released between the two calls: report it as just made, the caller's retry will find it gone.
    return standing === undefined ? now : Number(standing);
  }

  async releaseRotation(tenantId: string, claimedAt: number): Promise<void> {
    // Back to "never rotated" (0) rather than deleted: the admin functions delete no key records (IAM).
    await this.table.update(keyRotationItemKey(tenantId), {
      update: 'SET #rotatedAt = :never',
      condition: '#rotatedAt = :claimedAt',
      names: { '#rotatedAt': 'rotatedAt' },
      values: { ':never': { N: '0' }, ':claimedAt': { N: String(claimedAt) } },
    });
  }

  /** Sets a number attribute of a key record unless it is already set; an unknown key stays unknown. */
  private async setOnce(tenantId: string, kid: string, attribute: 'retiresAt' | 'deletionScheduledAt', value: number, remove?: 'wrappedSecret'): Promise<void> {
    await this.table.update(tenantKeyItemKey(tenantId, kid), {
      update: remove ? `SET #attribute = :value REMOVE ${remove}` : 'SET #attribute = :value',
      condition: 'attribute_not_exists(#attribute)',
      names: { '#attribute': attribute },
      values: { ':value': { N: String(value) } },
    });
  }
}
