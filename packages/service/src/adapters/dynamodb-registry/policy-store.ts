/** Policies in the registry table (items.ts): one item per app, in the app's partition. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Policy } from '../../core/policy';
import type { PolicyStore } from '../../core/ports';
import { policyFromItem, policyItemKey, policyToItem } from './items';
import { RegistryTable } from './table';

export class DynamoDbPolicyStore implements PolicyStore {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async getPolicy(appId: string): Promise<Policy | undefined> {
    const item = await this.table.get(policyItemKey(appId), true);
    return item && policyFromItem(item);
  }

  /** A replacement: what is stored is exactly the policy given. */
  async putPolicy(appId: string, policy: Policy): Promise<void> {
    await this.table.put(policyToItem(appId, policy));
  }
}
