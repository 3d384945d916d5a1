/** The admin function: registry and tenant directory, tenant keys, presigned uploads and the attestation log. No nonces. */
import { cryptoRandom } from '../../core/attestation';
import type { AdminCredentialIssuer } from '../../core/ports';
import { parseOperatorPrincipals, resolveAdminCaller } from '../../core/tenancy';
import type { AdminDeps } from '../../handlers/admin';
import { dynamoDbClient } from '../clients/dynamodb';
import { kmsClient } from '../clients/kms';
import { s3Client } from '../clients/s3';
import { DynamoDbAttestationLog } from '../dynamodb-attestation-log';
import { DynamoDbRegistry } from '../dynamodb-registry';
import type { ServiceConfig } from '../environment';
import { S3UploadUrls } from '../s3-upload-urls';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export interface AdminOptions {
  /** Local cloud only: issues the admin credentials its gateway checks. */
  readonly credentialIssuer?: AdminCredentialIssuer;
}

type AdminAdapters = Pick<SharedAdapters, 's3' | 'registry' | 'tenantKeys' | 'attestationLog'>;

/**
 * Callers resolve to tenants through the registry's principal mappings and the configured operator
 * principals (core/tenancy.ts).
 */
export function adminDeps(config: ServiceConfig, options: AdminOptions = {}, shared?: AdminAdapters): AdminDeps {
  const { registry, tenantKeys, s3, attestationLog: log } = shared ?? ownAdapters(config);
  const clock = clockOf(config);
  const operatorPrincipals = parseOperatorPrincipals((config.operatorPrincipals ?? []).join(','));
  return {
    registry,
    tenants: registry,
    keys: tenantKeys,
    uploads: new S3UploadUrls(s3, config.buildsBucket, clock),
    ...(log ? { log } : {}),
    clock,
    random: config.random ?? cryptoRandom,
    maxBuildBytes: config.maxBuildBytes,
    defaultTenantId: config.defaultTenantId,
    callerOf: (event) => resolveAdminCaller({ directory: registry, operatorPrincipals, defaultTenantId: config.defaultTenantId }, event.requestContext?.identity?.userArn),
    ...(options.credentialIssuer ? { credentialIssuer: options.credentialIssuer } : {}),
  };
}

/** A Lambda's own adapters: one DynamoDB client for the registry and the log. */
function ownAdapters(config: ServiceConfig): AdminAdapters {
  const dynamodb = dynamoDbClient(config);
  const registry = new DynamoDbRegistry(dynamodb, config.registryTable);
  return {
    registry,
    tenantKeys: tenantKeysFor(config, kmsClient(config), registry),
    s3: s3Client(config),
    attestationLog: config.attestationLogTable ? new DynamoDbAttestationLog(dynamodb, config.attestationLogTable) : undefined,
  };
}
