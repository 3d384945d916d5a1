/** The adminKeys function: the registry and tenant keys in KMS. No S3, no attestation log. */
import type { AdminCredentialIssuer } from '../core/ports';
import type { AdminKeysDeps } from '../handlers/admin/context';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import { DynamoDbRegistry } from '../adapters/dynamodb-registry';
import type { ServiceConfig } from './environment';
import { adminCommonDeps } from './admin';
import type { SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export interface AdminKeysOptions {
  /** Local cloud only: issues the admin credentials its gateway checks. */
  readonly credentialIssuer?: AdminCredentialIssuer;
}

export function adminKeysDeps(config: ServiceConfig, options: AdminKeysOptions = {}, shared?: Pick<SharedAdapters, 'registry' | 'tenantKeys'>): AdminKeysDeps {
  const registry = shared?.registry ?? new DynamoDbRegistry(dynamoDbClient(config), config.registryTable);
  return {
    ...adminCommonDeps(config, registry),
    keys: shared?.tenantKeys ?? tenantKeysFor(config, kmsClient(config), registry),
    ...(options.credentialIssuer ? { credentialIssuer: options.credentialIssuer } : {}),
  };
}
