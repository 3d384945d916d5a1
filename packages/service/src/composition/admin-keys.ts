/** The adminKeys function: tenants, app creation and tenant keys (records in the registry, keys in KMS). No S3, no attestation log. */
import type { AdminCredentialIssuer, AppStore, TenantKeyManager } from '../core/ports';
import type { AdminKeysDeps } from '../handlers/admin/context';
import { DynamoDbAppStore } from '../adapters/dynamodb-registry/app-store';
import { DynamoDbTenantDirectory } from '../adapters/dynamodb-registry/tenant-directory';
import { DynamoDbTenantKeyStore } from '../adapters/dynamodb-registry/tenant-key-store';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import type { AdminKeysConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { adminCommonDeps } from './admin';
import type { RegistryAdapters, SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export interface AdminKeysOptions {
  /** Local cloud only: issues the admin credentials its gateway checks. */
  readonly credentialIssuer?: AdminCredentialIssuer;
}

/** Of the registry: apps (to create one) and the tenant directory; the tenant keys over both the registry and KMS. */
type KeysAdapters = Pick<RegistryAdapters, 'tenants' | 'keyRecords'> & { readonly apps: AppStore; readonly tenantKeys: TenantKeyManager };

export function adminKeysDeps(
  config: AdminKeysConfig & FunctionRuntime,
  options: AdminKeysOptions = {},
  shared?: Pick<SharedAdapters, 'registry' | 'tenantKeys'>,
): AdminKeysDeps {
  const { apps, tenants, tenantKeys, keyRecords } = shared ? { ...shared.registry, tenantKeys: shared.tenantKeys } : ownAdapters(config);
  return {
    ...adminCommonDeps(config, tenants),
    apps,
    tenants,
    keys: tenantKeys,
    rotations: keyRecords,
    ...(options.credentialIssuer ? { credentialIssuer: options.credentialIssuer } : {}),
  };
}

/** A Lambda's own adapters: the registry's apps, tenants and key records over one DynamoDB client, KMS for the keys. */
function ownAdapters(config: AdminKeysConfig & FunctionRuntime): KeysAdapters {
  const dynamodb = dynamoDbClient(config);
  const table = config.registryTable;
  const keyRecords = new DynamoDbTenantKeyStore(dynamodb, table);
  return {
    apps: new DynamoDbAppStore(dynamodb, table),
    tenants: new DynamoDbTenantDirectory(dynamodb, table),
    keyRecords,
    tenantKeys: tenantKeysFor(config, kmsClient(config), keyRecords),
  };
}
