/**
 * Tenants and their principals in the registry table (items.ts). Two adapters, as two ports: every
 * admin function looks up its caller's principal (DynamoDbPrincipalDirectory); only tenant
 * management lists and writes tenants and principals (DynamoDbTenantDirectory).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PrincipalDirectory, PrincipalRecord, TenantDirectory, TenantRecord } from '../../core/ports';
import {
  principalFromItem,
  principalItemKey,
  principalToItem,
  tenantFromItem,
  tenantItemKey,
  tenantPrincipalItemKey,
  tenantPrincipalsRange,
  tenantPrincipalToItem,
  tenantsRange,
  tenantToItem,
  type Item,
} from './items';
import { RegistryTable } from './table';

export class DynamoDbPrincipalDirectory implements PrincipalDirectory {
  protected readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async getPrincipal(principal: string): Promise<PrincipalRecord | undefined> {
    // Eventually consistent is enough: a brand-new mapping being refused for a second fails closed.
    const item = await this.table.get(principalItemKey(principal), false);
    return item && principalFromItem(item);
  }
}

export class DynamoDbTenantDirectory extends DynamoDbPrincipalDirectory implements TenantDirectory {
  async getTenant(tenantId: string): Promise<TenantRecord | undefined> {
    const item = await this.table.get(tenantItemKey(tenantId), true);
    return item && tenantFromItem(item);
  }

  async putTenantIfAbsent(record: TenantRecord): Promise<boolean> {
    return this.table.putIfAbsent(tenantToItem(record));
  }

  async markTenantFinished(tenantId: string): Promise<void> {
    await this.table.update(tenantItemKey(tenantId), {
      update: 'SET #finished = :true',
      names: { '#finished': 'finished' },
      values: { ':true': { BOOL: true } },
    });
  }

  async deleteTenant(tenantId: string): Promise<void> {
    await this.table.delete(tenantItemKey(tenantId));
  }

  async listTenants(): Promise<TenantRecord[]> {
    const items = await this.table.query(tenantsRange());
    return items.map(tenantFromItem).sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
  }

  /** The mapping item decides (conditional); the tenant's index entry follows it. */
  async putPrincipalIfAbsent(record: PrincipalRecord): Promise<boolean> {
    if (!(await this.table.putIfAbsent(principalToItem(record)))) return false;
    await this.table.put(tenantPrincipalToItem(record));
    return true;
  }

  /** Same order as putPrincipalIfAbsent: the conditional mapping item first, the index entry after it. */
  async putPrincipalOfTenant(record: PrincipalRecord): Promise<boolean> {
    const written = await this.table.putIfAbsentOr(principalToItem(record), {
      // Another tenant's principal is never taken over, and an operator's mapping stays an operator's.
      condition: '#tenantId = :tenantId AND (attribute_not_exists(#operator) OR #operator = :false)',
      names: { '#tenantId': 'tenantId', '#operator': 'operator' },
      values: { ':tenantId': { S: record.tenantId }, ':false': { BOOL: false } },
    });
    if (!written) return false;
    await this.table.put(tenantPrincipalToItem(record));
    return true;
  }

  /** The conditional mapping item first (it decides who administers what), the index entry after it. */
  async removePrincipalOfTenant(principal: string, tenantId: string): Promise<PrincipalRecord | undefined> {
    const removed = await this.table.deleteIf(principalItemKey(principal), {
      condition: '#tenantId = :tenantId AND (attribute_not_exists(#operator) OR #operator = :false)',
      names: { '#tenantId': 'tenantId', '#operator': 'operator' },
      values: { ':tenantId': { S: tenantId }, ':false': { BOOL: false } },
    });
    if (!removed) {
      // Not deleted: an operator's mapping to this tenant keeps its index entry. Absent (a revocation
      // that failed after its first write) or another tenant's, this tenant's entry is stale: removed,
      // and only the first case counts as a revocation finished.
      const mapping = await this.table.get(principalItemKey(principal), true);
      if (mapping && principalFromItem(mapping).tenantId === tenantId) return undefined;
      const stale = await this.removeIndexEntry(principal, tenantId);
      return mapping === undefined && stale ? principalFromItem(stale) : undefined;
    }
    await this.removeIndexEntry(principal, tenantId);
    return principalFromItem(removed);
  }

  /**
   * Deletes the tenant's index entry of a principal; then, should a grant have mapped the principal
   * to this tenant again meanwhile (its index entry written between our two writes), writes the
   * entry back from the mapping, so the index never hides a principal that has access.
   */
  private async removeIndexEntry(principal: string, tenantId: string): Promise<Item | undefined> {
    const removed = await this.table.delete(tenantPrincipalItemKey(tenantId, principal));
    const mapping = await this.table.get(principalItemKey(principal), true);
    if (mapping) {
      const record = principalFromItem(mapping);
      if (record.tenantId === tenantId) await this.table.put(tenantPrincipalToItem(record));
    }
    return removed;
  }

  async listPrincipals(tenantId: string): Promise<PrincipalRecord[]> {
    const items = await this.table.query(tenantPrincipalsRange(tenantId));
    return items.map(principalFromItem).sort((a, b) => (a.principal < b.principal ? -1 : 1));
  }
}
