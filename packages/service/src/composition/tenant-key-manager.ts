import type { KMSClient } from '@aws-sdk/client-kms';
import type { TenantKeyStore } from '../core/ports';
import type { TenantKeysConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { KmsTenantKeyManager } from '../adapters/kms-tenant-key-manager';
import { clockOf } from './shared';

/**
 * The tenant keys as the local cloud configures them, for every function at once: read and signed
 * with (attest, the authorizer) and created, rotated, destroyed and published (the admin API).
 */
export function tenantKeysFor(config: TenantKeysConfig & FunctionRuntime, kms: KMSClient, keyRecords: TenantKeyStore): KmsTenantKeyManager {
  return new KmsTenantKeyManager(kms, keyRecords, {
    decoyKeyId: config.decoyKeyId,
    aliasPrefix: config.tenantKeyAliasPrefix,
    clock: clockOf(config),
    ...(config.tenantKeyPolicyRoles !== undefined ? { keyPolicyRoles: config.tenantKeyPolicyRoles } : {}),
  });
}
