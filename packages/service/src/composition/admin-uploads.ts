/**
 * The adminUploads function: uploads, apps and registrations in the registry, presigned URLs on the
 * builds bucket, and tenant keys in KMS (an upload may create its app, whose tenant then needs a
 * signing key). No attestation log.
 */
import type { AppStore, Clock, RegisterFailureQueue, TenantKeyManager, TenantKeyStore } from '../core/ports';
import { trustedKeysAt } from '../core/tenant-keys';
import type { AdminUploadsDeps } from '../handlers/admin/context';
import { DynamoDbAppStore } from '../adapters/dynamodb-registry/app-store';
import { DynamoDbRegistrationStore } from '../adapters/dynamodb-registry/registration-store';
import { DynamoDbPrincipalDirectory } from '../adapters/dynamodb-registry/tenant-directory';
import { DynamoDbTenantKeyStore } from '../adapters/dynamodb-registry/tenant-key-store';
import { DynamoDbUploadStore } from '../adapters/dynamodb-registry/upload-store';
import { S3UploadUrls } from '../adapters/s3-upload-urls';
import { dynamoDbClient } from './clients/dynamodb';
import { s3Client } from './clients/s3';
import type { AdminUploadsConfig, RegisterFailuresLocation } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { adminCommonDeps } from './admin';
import { clockOf, type RegistryAdapters, type SharedAdapters } from './shared';

type UploadsAdapters = Pick<RegistryAdapters, 'registrations' | 'uploads' | 'principals' | 'keyRecords'> & { readonly apps: AppStore };

export function adminUploadsDeps(
  config: AdminUploadsConfig & FunctionRuntime,
  shared?: Pick<SharedAdapters, 's3' | 'registry' | 'tenantKeys'>,
): AdminUploadsDeps {
  const { apps, registrations, uploads, principals, keyRecords } = shared?.registry ?? ownAdapters(config);
  const clock = clockOf(config);
  return {
    ...adminCommonDeps(config, principals),
    apps,
    registrations,
    uploads,
    keys:
      shared?.tenantKeys ??
      signingKeysOnDemand(keyRecords, clock, async () => {
        // Loaded here, not imported above, so that the KMS SDK is not part of this function's cold start.
        const { keyProvisionerWithOwnClient } = await import('./key-provisioner.js');
        return keyProvisionerWithOwnClient(config, keyRecords);
      }),
    uploadUrls: new S3UploadUrls(shared?.s3 ?? s3Client(config), config.buildsBucket, clock),
    maxBuildBytes: config.maxBuildBytes,
    ...(config.registerFailures ? { registerFailures: registerFailuresOnDemand(config, config.registerFailures) } : {}),
  };
}

/** The SQS queue, its SDK clients loaded on the first call: operators ask rarely, uploads must not pay for it at cold start. */
function registerFailuresOnDemand(config: FunctionRuntime, where: RegisterFailuresLocation): RegisterFailureQueue {
  let loaded: Promise<RegisterFailureQueue> | undefined;
  const queue = (): Promise<RegisterFailureQueue> => {
    loaded ??= (async () => {
      const [{ SqsRegisterFailures }, { sqsClient }, { lambdaClient }] = await Promise.all([
        import('../adapters/sqs-register-failures.js'),
        import('./clients/sqs.js'),
        import('./clients/lambda.js'),
      ]);
      return new SqsRegisterFailures(sqsClient(config), lambdaClient(config), where.queueUrl, where.registerFunction);
    })();
    // A failed load is not kept: the next call tries again.
    loaded.catch(() => (loaded = undefined));
    return loaded;
  };
  return {
    list: async (limit) => (await queue()).list(limit),
    retry: async (ids, limit) => (await queue()).retry(ids, limit),
    clear: async (ids, limit) => (await queue()).clear(ids, limit),
  };
}

/** A Lambda's own adapters: the registry's ports this function calls, over one DynamoDB client. */
function ownAdapters(config: AdminUploadsConfig & FunctionRuntime): UploadsAdapters {
  const dynamodb = dynamoDbClient(config);
  const table = config.registryTable;
  return {
    apps: new DynamoDbAppStore(dynamodb, table),
    registrations: new DynamoDbRegistrationStore(dynamodb, table),
    uploads: new DynamoDbUploadStore(dynamodb, table),
    principals: new DynamoDbPrincipalDirectory(dynamodb, table),
    keyRecords: new DynamoDbTenantKeyStore(dynamodb, table),
  };
}

/**
 * ensureSigningKey that loads the KMS side only when the tenant has no trusted key yet. Uploads
 * almost always come from a tenant that has one (tenant and app creation make it), and that is
 * answered from the key records alone, exactly as KmsKeyProvisioner.ensureSigningKey answers it; only a
 * tenant's first key needs KMS, and then the real ensureSigningKey runs, race handling included.
 */
export function signingKeysOnDemand(
  keyRecords: Pick<TenantKeyStore, 'listTenantKeys'>,
  clock: Clock,
  load: () => Promise<Pick<TenantKeyManager, 'ensureSigningKey'>>,
): Pick<TenantKeyManager, 'ensureSigningKey'> {
  let loaded: Promise<Pick<TenantKeyManager, 'ensureSigningKey'>> | undefined;
  return {
    async ensureSigningKey(tenantId) {
      if (trustedKeysAt(await keyRecords.listTenantKeys(tenantId), clock.nowSeconds()).length > 0) return;
      loaded ??= load();
      // A failed load is not kept: the next upload tries again.
      loaded.catch(() => (loaded = undefined));
      return (await loaded).ensureSigningKey(tenantId);
    },
  };
}
