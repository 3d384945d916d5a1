/**
 * The adminUploads function: the registry, presigned URLs on the builds bucket, and tenant keys in
 * KMS (an upload may create its app, whose tenant then needs a signing key). No attestation log.
 */
import type { AdminUploadsDeps } from '../../handlers/admin/context';
import { dynamoDbClient } from '../clients/dynamodb';
import { kmsClient } from '../clients/kms';
import { s3Client } from '../clients/s3';
import { DynamoDbRegistry } from '../dynamodb-registry';
import type { ServiceConfig } from '../environment';
import { S3UploadUrls } from '../s3-upload-urls';
import { adminCommonDeps } from './admin';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export function adminUploadsDeps(config: ServiceConfig, shared?: Pick<SharedAdapters, 's3' | 'registry' | 'tenantKeys'>): AdminUploadsDeps {
  const registry = shared?.registry ?? new DynamoDbRegistry(dynamoDbClient(config), config.registryTable);
  return {
    ...adminCommonDeps(config, registry),
    keys: shared?.tenantKeys ?? tenantKeysFor(config, kmsClient(config), registry),
    uploads: new S3UploadUrls(shared?.s3 ?? s3Client(config), config.buildsBucket, clockOf(config)),
    maxBuildBytes: config.maxBuildBytes,
  };
}
