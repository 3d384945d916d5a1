/**
 * The registry table through every port at once, for the local cloud (./services.ts), which runs
 * every function in one process. Lambdas never import this module: each composition module builds
 * only the registry adapters its function calls.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  AppIdentityStore,
  AttestationCatalog,
  DeviceStore,
  PolicyStore,
  RegistrationStore,
  TenantApps,
  TenantDirectory,
  TenantKeyStore,
  UploadStore,
} from '../core/ports';
import { DynamoDbTenantApps } from '../adapters/dynamodb-registry/app-store';
import { DynamoDbAttestationCatalog } from '../adapters/dynamodb-registry/attestation-catalog';
import { DynamoDbDeviceStore } from '../adapters/dynamodb-registry/device-store';
import { DynamoDbAppIdentityStore } from '../adapters/dynamodb-registry/identity-store';
import { DynamoDbPolicyStore } from '../adapters/dynamodb-registry/policy-store';
import { DynamoDbRegistrationStore } from '../adapters/dynamodb-registry/registration-store';
import { DynamoDbPrincipalDirectory, DynamoDbTenantDirectory } from '../adapters/dynamodb-registry/tenant-directory';
import { DynamoDbTenantKeyStore } from '../adapters/dynamodb-registry/tenant-key-store';
import { DynamoDbUploadStore } from '../adapters/dynamodb-registry/upload-store';
import type { RegistryAdapters } from './shared';

export function registryAdapters(dynamodb: DynamoDBClient, tableName: string): RegistryAdapters {
  return {
    apps: new DynamoDbTenantApps(dynamodb, tableName),
    registrations: new DynamoDbRegistrationStore(dynamodb, tableName),
    policies: new DynamoDbPolicyStore(dynamodb, tableName),
    devices: new DynamoDbDeviceStore(dynamodb, tableName),
    identities: new DynamoDbAppIdentityStore(dynamodb, tableName),
    catalog: new DynamoDbAttestationCatalog(dynamodb, tableName),
    uploads: new DynamoDbUploadStore(dynamodb, tableName),
    keyRecords: new DynamoDbTenantKeyStore(dynamodb, tableName),
    tenants: new DynamoDbTenantDirectory(dynamodb, tableName),
    principals: new DynamoDbPrincipalDirectory(dynamodb, tableName),
  };
}

/** Every port of the registry as one object: what the local cloud's bootstrap, benches and tests read and arrange. */
export type WholeRegistry = TenantApps &
  RegistrationStore &
  PolicyStore &
  DeviceStore &
  AppIdentityStore &
  AttestationCatalog &
  UploadStore &
  TenantKeyStore &
  TenantDirectory;

/** The ports' methods on one object, each bound to its own adapter. */
export function wholeRegistry(adapters: RegistryAdapters): WholeRegistry {
  const whole: Record<string, unknown> = {};
  for (const port of Object.values(adapters) as object[]) {
    // Up the prototype chain, so that methods an adapter inherits are found too.
    for (let proto: object | null = Object.getPrototypeOf(port); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const name of Object.getOwnPropertyNames(proto)) {
        const member: unknown = (port as Record<string, unknown>)[name];
        // The first binding of a name wins: the principal lookup is the tenant directory's, whichever adapter binds it.
        if (name !== 'constructor' && !(name in whole) && typeof member === 'function') whole[name] = member.bind(port);
      }
    }
  }
  // Every method of every port is on it now; no two ports of core/ports.ts declare the same name with different meanings.
  return whole as unknown as WholeRegistry;
}
