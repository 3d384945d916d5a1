/**
 * The adminKeys function: tenants, app creation and tenant keys (records in the registry, keys in
 * KMS, managed through KmsKeyProvisioner: nothing here signs a token or unwraps a token secret), and
 * test tokens. No S3; the attestation log only to record test-token mints.
 */
import type { AdminCredentialIssuer, AppStore, TenantKeyManager } from '../core/ports';
import type { KmsKeyProvisioner } from '../adapters/kms-key-provisioner';
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
import { keyProvisionerFor } from './key-provisioner';
import { testTokenSetup } from './test-tokens';

export interface AdminKeysOptions {
  /** Local cloud only: issues the admin credentials its gateway checks. */
  readonly credentialIssuer?: AdminCredentialIssuer;
}

/** Of the registry: apps (to create one) and the tenant directory; the tenant keys over both the registry and KMS. */
type KeysAdapters = Pick<RegistryAdapters, 'tenants' | 'keyRecords'> &
  Pick<SharedAdapters, 'dynamodb' | 'kms'> & { readonly apps: AppStore; readonly tenantKeys: TenantKeyManager & Pick<KmsKeyProvisioner, 'secretsKey'> };

export function adminKeysDeps(
  config: AdminKeysConfig & FunctionRuntime,
  options: AdminKeysOptions = {},
  shared?: Pick<SharedAdapters, 'registry' | 'tenantKeys' | 'dynamodb' | 'kms'>,
): AdminKeysDeps {
  const own = shared ? undefined : ownAdapters(config);
  const { apps, tenants, tenantKeys, keyRecords, dynamodb, kms } = shared ? { ...shared.registry, ...shared } : own!;
  return {
    ...adminCommonDeps(config, tenants),
    apps,
    tenants,
    keys: tenantKeys,
    rotations: keyRecords,
    testTokens: testTokenSetup(config, dynamodb, kms, tenantKeys),
    ...(options.credentialIssuer ? { credentialIssuer: options.credentialIssuer } : {}),
  };
}

/** A Lambda's own adapters: the registry's apps, tenants and key records over one DynamoDB client, KMS for the keys. */
function ownAdapters(config: AdminKeysConfig & FunctionRuntime): KeysAdapters {
  const dynamodb = dynamoDbClient(config);
  const table = config.registryTable;
  const keyRecords = new DynamoDbTenantKeyStore(dynamodb, table);
  const kms = kmsClient(config);
  return {
    dynamodb,
    kms,
    apps: new DynamoDbAppStore(dynamodb, table),
    tenants: new DynamoDbTenantDirectory(dynamodb, table),
    keyRecords,
    tenantKeys: keyProvisionerFor(config, kms, keyRecords),
  };
}
