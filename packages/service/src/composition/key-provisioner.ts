import type { TenantKeyStore } from '../core/ports';
import type { TenantKeysConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { KmsKeyProvisioner } from '../adapters/kms-key-provisioner';
import { kmsClient } from './clients/kms';
import { clockOf } from './shared';

/**
 * The provisioning of tenant keys alone, over a KMS client of its own: what adminUploads loads on
 * demand to give a new app's tenant its first key (composition/admin-uploads.ts). A module of its
 * own because a dynamic import keeps every export of the module it names.
 */
export function keyProvisionerWithOwnClient(config: TenantKeysConfig & FunctionRuntime, keyRecords: TenantKeyStore): KmsKeyProvisioner {
  return new KmsKeyProvisioner(kmsClient(config), keyRecords, {
    aliasPrefix: config.tenantKeyAliasPrefix,
    clock: clockOf(config),
    ...(config.tenantKeyPolicyRoles !== undefined ? { keyPolicyRoles: config.tenantKeyPolicyRoles } : {}),
  });
}
