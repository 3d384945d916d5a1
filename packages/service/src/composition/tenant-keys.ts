import type { KMSClient } from '@aws-sdk/client-kms';
import type { Registry } from '../core/ports';
import type { ServiceConfig } from './environment';
import { KmsTenantKeys } from '../adapters/kms-tenant-keys';
import { clockOf } from './shared';

/** The tenant keys as the attest and admin functions (and the local cloud) configure them. */
export function tenantKeysFor(config: ServiceConfig, kms: KMSClient, registry: Registry): KmsTenantKeys {
  return new KmsTenantKeys(kms, registry, {
    decoyKeyId: config.decoyKeyId,
    aliasPrefix: config.tenantKeyAliasPrefix,
    clock: clockOf(config),
    ...(config.tenantKeyPolicyRoles !== undefined ? { keyPolicyRoles: config.tenantKeyPolicyRoles } : {}),
  });
}
