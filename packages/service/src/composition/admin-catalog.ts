/** The adminCatalog function: the registry and (if configured) the attestation log. DynamoDB only: no KMS, no S3. */
import type { AdminCatalogDeps } from '../handlers/admin/context';
import { dynamoDbClient } from './clients/dynamodb';
import { DynamoDbRegistry } from '../adapters/dynamodb-registry';
import type { ServiceConfig } from './environment';
import { adminCommonDeps } from './admin';
import { attestationLogFor } from './attestation-log';
import type { SharedAdapters } from './shared';

type CatalogAdapters = Pick<SharedAdapters, 'registry' | 'attestationLog'>;

export function adminCatalogDeps(config: ServiceConfig, shared?: CatalogAdapters): AdminCatalogDeps {
  const { registry, attestationLog: log } = shared ?? ownAdapters(config);
  return { ...adminCommonDeps(config, registry), ...(log ? { log } : {}) };
}

/** A Lambda's own adapters: one DynamoDB client for the registry and the log. */
function ownAdapters(config: ServiceConfig): CatalogAdapters {
  const dynamodb = dynamoDbClient(config);
  return {
    registry: new DynamoDbRegistry(dynamodb, config.registryTable),
    attestationLog: attestationLogFor(config, dynamodb),
  };
}
