import type { KMSClient } from '@aws-sdk/client-kms';
import type { TenantKeyStore } from '../core/ports';
import type { TenantKeysConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { KmsKeyProvisioner } from '../adapters/kms-key-provisioner';
import { kmsClient } from './clients/kms';
import { clockOf } from './shared';

/** The tenant keys as the admin functions manage them: created, rotated, destroyed and published, never used (kms-key-provisioner.ts). */
export function keyProvisionerFor(config: TenantKeysConfig & FunctionRuntime, kms: KMSClient, keyRecords: TenantKeyStore): KmsKeyProvisioner {
  return new KmsKeyProvisioner(kms, keyRecords, {
    aliasPrefix: config.tenantKeyAliasPrefix,
    clock: clockOf(config),
    ...(config.tenantKeyPolicyRoles !== undefined ? { keyPolicyRoles: config.tenantKeyPolicyRoles } : {}),
  });
}

/**
 * The same over a KMS client of its own: what adminUploads loads on demand to give a new app's
 * tenant its first key (composition/admin-uploads.ts).
 */
export function keyProvisionerWithOwnClient(config: TenantKeysConfig & FunctionRuntime, keyRecords: TenantKeyStore): KmsKeyProvisioner {
  return keyProvisionerFor(config, kmsClient(config), keyRecords);
}
