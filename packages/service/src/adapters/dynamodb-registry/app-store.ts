/**
 * Apps in the registry table (items.ts): the app record in its own partition, an index entry in its
 * tenant's. Two adapters, as two ports: looking up and creating an app (DynamoDbAppStore) is what
 * most functions do; listing and removing a tenant's apps (DynamoDbTenantApps) only adminCatalog.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppRecord, AppRemoval, AppStore, EnsuredApp, TenantApps } from '../../core/ports';
import { appFromItem, appItemKey, appItemKind, appPartitionRange, appToItem, itemKey, tenantAppItemKey, tenantAppsRange, tenantAppToItem } from './items';
import { RegistryTable } from './table';

export class DynamoDbAppStore implements AppStore {
  protected readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async getApp(appId: string): Promise<AppRecord | undefined> {
    // Strongly consistent: a removal must stop the very next attestation that reads the registry (docs/ADMIN_API.md §10).
    const item = await this.table.get(appItemKey(appId), true);
    return item && appFromItem(item);
  }

  async ensureApp(app: AppRecord): Promise<EnsuredApp> {
    // The conditional put decides who created the app: of concurrent callers, exactly one writes it.
    const created = await this.table.putIfAbsent(appToItem(app));
    // Read back whatever won: an app created earlier keeps its tenant whoever asks.
    const stored = appFromItem(await this.table.getWritten(appItemKey(app.appId)));
    // The index is written after the app, and again by every later ensureApp of the owner, so an
    // interrupted creation is repaired by the next upload.
    if (stored.tenantId === app.tenantId) await this.table.put(tenantAppToItem(stored));
    return { app: stored, created };
  }
}

export class DynamoDbTenantApps extends DynamoDbAppStore implements TenantApps {
  async listApps(tenantId: string): Promise<AppRecord[]> {
    const items = await this.table.query(tenantAppsRange(tenantId));
    return items.map(appFromItem).sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0));
  }

  /**
   * The app record goes first, so attestations fail (app_unknown) from that moment; then
   * everything under it, then the tenant's index entry.
   */
  async deleteApp(appId: string): Promise<AppRemoval | undefined> {
    const app = await this.getApp(appId);
    if (!app) return undefined;
    await this.table.delete(appItemKey(appId));
    let registrations = 0;
    let devices = 0;
    let policy = false;
    for (const item of await this.table.query(appPartitionRange(appId))) {
      const kind = appItemKind(item);
      if (kind === 'registration') registrations++;
      else if (kind === 'device') devices++;
      else if (kind === 'policy') policy = true;
      await this.table.delete(itemKey(item));
    }
    await this.table.delete(tenantAppItemKey(app.tenantId, appId));
    return { app, registrations, devices, policy };
  }
}
