/**
 * The adminUploads function: the registry, presigned URLs on the builds bucket, and tenant keys in
 * KMS (an upload may create its app, whose tenant then needs a signing key). No attestation log.
 */
import type { Clock, Registry, TenantKeyManager } from '../core/ports';
import { trustedKeysAt } from '../core/tenant-keys';
import type { AdminUploadsDeps } from '../handlers/admin/context';
import { dynamoDbClient } from './clients/dynamodb';
import { s3Client } from './clients/s3';
import { DynamoDbRegistry } from '../adapters/dynamodb-registry';
import type { ServiceConfig } from './environment';
import { S3UploadUrls } from '../adapters/s3-upload-urls';
import { adminCommonDeps } from './admin';
import { clockOf, type SharedAdapters } from './shared';

export function adminUploadsDeps(config: ServiceConfig, shared?: Pick<SharedAdapters, 's3' | 'registry' | 'tenantKeys'>): AdminUploadsDeps {
  const registry = shared?.registry ?? new DynamoDbRegistry(dynamoDbClient(config), config.registryTable);
  const clock = clockOf(config);
  return {
    ...adminCommonDeps(config, registry),
    keys:
      shared?.tenantKeys ??
      signingKeysOnDemand(registry, clock, async () => {
        // Loaded here, not imported above, so that the KMS SDK is not part of this function's cold start.
        const [{ tenantKeysFor }, { kmsClient }] = await Promise.all([import('./tenant-keys.js'), import('./clients/kms.js')]);
        return tenantKeysFor(config, kmsClient(config), registry);
      }),
    uploads: new S3UploadUrls(shared?.s3 ?? s3Client(config), config.buildsBucket, clock),
    maxBuildBytes: config.maxBuildBytes,
  };
}

/**
 * ensureSigningKey that loads the KMS side only when the tenant has no trusted key yet. Uploads
 * almost always come from a tenant that has one (tenant and app creation make it), and that is
 * answered from the registry alone, exactly as KmsTenantKeys.ensureSigningKey answers it; only a
 * tenant's first key needs KMS, and then the real ensureSigningKey runs, race handling included.
 */
export function signingKeysOnDemand(
  registry: Pick<Registry, 'listTenantKeys'>,
  clock: Clock,
  load: () => Promise<Pick<TenantKeyManager, 'ensureSigningKey'>>,
): Pick<TenantKeyManager, 'ensureSigningKey'> {
  let loaded: Promise<Pick<TenantKeyManager, 'ensureSigningKey'>> | undefined;
  return {
    async ensureSigningKey(tenantId) {
      if (trustedKeysAt(await registry.listTenantKeys(tenantId), clock.nowSeconds()).length > 0) return;
      loaded ??= load();
      // A failed load is not kept: the next upload tries again.
      loaded.catch(() => (loaded = undefined));
      return (await loaded).ensureSigningKey(tenantId);
    },
  };
}
