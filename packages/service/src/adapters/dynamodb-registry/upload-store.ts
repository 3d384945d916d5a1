/** Uploads in the registry table (items.ts): one partition each, written by the admin API, settled by the register function. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { UploadRecord, UploadStore } from '../../core/ports';
import { defined, uploadFromItem, uploadItemKey, uploadToItem } from './items';
import { RegistryTable } from './table';

export class DynamoDbUploadStore implements UploadStore {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async putUpload(record: UploadRecord): Promise<void> {
    await this.table.put(uploadToItem(record));
  }

  async getUpload(uploadId: string): Promise<UploadRecord | undefined> {
    // Consistent: the register function reads an upload the admin API has just written.
    const item = await this.table.get(uploadItemKey(uploadId), true);
    return item && uploadFromItem(item);
  }

  async settleUpload(uploadId: string, update: Pick<UploadRecord, 'status' | 'reason' | 'sha256' | 'size'>): Promise<void> {
    const entries = Object.entries(defined({ status: update.status, reason: update.reason, sha256: update.sha256, size: update.size }));
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':pending': 'pending' };
    entries.forEach(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:v${i}`] = value;
    });
    // Only while pending: an upload already settled (a redelivered event) is left as it is, by contract.
    await this.table.update(uploadItemKey(uploadId), {
      update: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
      condition: '#status = :pending',
      names,
      values: marshall(values),
    });
  }

  async markUploadCompleted(uploadId: string, completedAt: number): Promise<void> {
    await this.table.update(uploadItemKey(uploadId), {
      update: 'SET #completedAt = if_not_exists(#completedAt, :completedAt)',
      names: { '#completedAt': 'completedAt' },
      values: { ':completedAt': { N: String(completedAt) } },
    });
  }
}
