/** App identities in the registry table (items.ts): one item per app, in the app's partition, so attest's snapshot reads it. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppIdentity } from '@attestor/contracts/admin-api';
import type { AppIdentityStore } from '../../core/ports';
import { identityFromItem, identityItemKey, identityToItem } from './items';
import { RegistryTable } from './table';

export class DynamoDbAppIdentityStore implements AppIdentityStore {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async getAppIdentity(appId: string): Promise<AppIdentity | undefined> {
    // Strongly consistent, as every admin read: a GET right after a PUT shows what was put.
    const item = await this.table.get(identityItemKey(appId), true);
    return item && identityFromItem(item);
  }

  async putAppIdentity(appId: string, identity: AppIdentity): Promise<void> {
    await this.table.put(identityToItem(appId, identity));
  }

  async deleteAppIdentity(appId: string): Promise<boolean> {
    return (await this.table.delete(identityItemKey(appId))) !== undefined;
  }
}
