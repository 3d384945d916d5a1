/** Registrations in the registry table (items.ts): one item per (appId, version) in the app's partition. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RegistrationRecord, RegistrationStore } from '../../core/ports';
import { registrationFromItem, registrationItemKey, registrationsRange, registrationToItem } from './items';
import { RegistryTable } from './table';

export class DynamoDbRegistrationStore implements RegistrationStore {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async getRegistration(appId: string, version: string): Promise<RegistrationRecord | undefined> {
    const item = await this.table.get(registrationItemKey(appId, version), true);
    return item && registrationFromItem(item);
  }

  async putRegistrationIfAbsent(record: RegistrationRecord): Promise<RegistrationRecord> {
    await this.table.putIfAbsent(registrationToItem(record));
    return registrationFromItem(await this.table.getWritten(registrationItemKey(record.appId, record.version)));
  }

  async listRegistrations(appId: string): Promise<RegistrationRecord[]> {
    const items = await this.table.query(registrationsRange(appId));
    return items.map(registrationFromItem).sort((a, b) => b.registeredAt - a.registeredAt || (a.version < b.version ? -1 : 1));
  }

  async deleteRegistration(appId: string, version: string): Promise<RegistrationRecord | undefined> {
    const old = await this.table.delete(registrationItemKey(appId, version));
    return old && registrationFromItem(old);
  }

  async setRegistrationExpiry(appId: string, version: string, expiresAt: number): Promise<RegistrationRecord | undefined> {
    // Only an existing registration: an update that created one would register a build with no digest.
    const updated = await this.table.update(registrationItemKey(appId, version), {
      update: 'SET #expiresAt = :expiresAt',
      names: { '#expiresAt': 'expiresAt' },
      values: { ':expiresAt': { N: String(expiresAt) } },
      returnNew: true,
    });
    return updated && registrationFromItem(updated);
  }
}
