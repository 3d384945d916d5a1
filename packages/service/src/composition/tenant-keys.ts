import type { KMSClient } from '@aws-sdk/client-kms';
import type { TenantKeyStore } from '../core/ports';
import type { TenantKeysConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { KmsTenantKeys } from '../adapters/kms-tenant-keys';
import { clockOf } from './shared';

/**
 * The tenant keys as attest reads them: signing keys and signatures, nothing that creates a key
 * (the admin functions' keyProvisionerFor is in ./key-provisioner, so this module never imports it).
 */
export function tenantKeyReaderFor(config: TenantKeysConfig & FunctionRuntime, kms: KMSClient, keyRecords: TenantKeyStore): KmsTenantKeys {
  return new KmsTenantKeys(kms, keyRecords, { decoyKeyId: config.decoyKeyId, aliasPrefix: config.tenantKeyAliasPrefix, clock: clockOf(config) });
}
