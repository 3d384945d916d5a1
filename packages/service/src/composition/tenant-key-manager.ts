import type { KMSClient } from '@aws-sdk/client-kms';
import type { TenantKeyStore } from '../core/ports';
import type { TenantKeysConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { KmsTenantKeyManager } from '../adapters/kms-tenant-key-manager';
import { kmsClient } from './clients/kms';
import { clockOf } from './shared';

/** The tenant keys as the admin functions (and the local cloud) configure them: they also create, rotate and destroy keys. */
export function tenantKeysFor(config: TenantKeysConfig & FunctionRuntime, kms: KMSClient, keyRecords: TenantKeyStore): KmsTenantKeyManager {
  return new KmsTenantKeyManager(kms, keyRecords, {
    decoyKeyId: config.decoyKeyId,
    aliasPrefix: config.tenantKeyAliasPrefix,
    clock: clockOf(config),
    ...(config.tenantKeyPolicyRoles !== undefined ? { keyPolicyRoles: config.tenantKeyPolicyRoles } : {}),
  });
}
