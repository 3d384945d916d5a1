/** Allow-listed devices in the registry table (items.ts): one item per device, in the app's partition. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DeviceRecord, DeviceStore } from '../../core/ports';
import { deviceFromItem, deviceItemKey, devicesRange, deviceToItem } from './items';
import { RegistryTable } from './table';

export class DynamoDbDeviceStore implements DeviceStore {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async listDevices(appId: string): Promise<DeviceRecord[]> {
    const items = await this.table.query(devicesRange(appId));
    return items.map(deviceFromItem).sort((a, b) => b.createdAt - a.createdAt || (a.deviceId < b.deviceId ? -1 : 1));
  }

  async getDevice(appId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const item = await this.table.get(deviceItemKey(appId, deviceId), true);
    return item && deviceFromItem(item);
  }

  async putDeviceIfAbsent(record: DeviceRecord): Promise<boolean> {
    return this.table.putIfAbsent(deviceToItem(record));
  }

  async deleteDevice(appId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const old = await this.table.delete(deviceItemKey(appId, deviceId));
    return old && deviceFromItem(old);
  }
}
