/**
 * What attest reads of the registry table (items.ts): an app's whole partition in one Query. The
 * attest function bundles this adapter and the mapping of the kinds of item it holds, nothing else.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Policy } from '../../core/policy';
import type { AppIdentity } from '@attestor/contracts/admin-api';
import type { AppRecord, AppSnapshot, AttestationCatalog, DeviceRecord, RegistrationRecord } from '../../core/ports';
import { appFromItem, appItemKind, appPartitionRange, deviceFromItem, identityFromItem, policyFromItem, registrationFromItem } from './items';
import { RegistryTable } from './table';

export class DynamoDbAttestationCatalog implements AttestationCatalog {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  /**
   * The app's whole partition in one consistent Query (paged if it ever exceeds 1 MB): what attest
   * needs, whatever version, did or debug secret a request names. Unregistered app ids read an empty
   * partition at the same cost.
   */
  async appSnapshot(appId: string): Promise<AppSnapshot> {
    let app: AppRecord | undefined;
    let policy: Policy | undefined;
    let identity: AppIdentity | undefined;
    const registrations = new Map<string, RegistrationRecord>();
    const devices = new Map<string, DeviceRecord>();
    for (const item of await this.table.query(appPartitionRange(appId))) {
      switch (appItemKind(item)) {
        case 'app':
          app = appFromItem(item);
          break;
        case 'policy':
          policy = policyFromItem(item);
          break;
        case 'registration': {
          const registration = registrationFromItem(item);
          registrations.set(registration.version, registration);
          break;
        }
        case 'identity':
          identity = identityFromItem(item);
          break;
        case 'device': {
          const device = deviceFromItem(item);
          devices.set(device.deviceId, device);
          break;
        }
        default:
          break;
      }
    }
    return { ...(app ? { app } : {}), ...(policy ? { policy } : {}), registrations, devices, ...(identity ? { identity } : {}) };
  }
}
