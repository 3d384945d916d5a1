/** The S3-triggered register function: the registry, the builds bucket and (if configured) the attestation log. No KMS. */
import type { RegistrationDeps } from '../core/registration';
import { dynamoDbClient } from './clients/dynamodb';
import { s3Client } from './clients/s3';
import { DynamoDbRegistry } from '../adapters/dynamodb-registry';
import type { ServiceConfig } from './environment';
import { S3BuildStore } from '../adapters/s3-build-store';
import { attestationLogFor } from './attestation-log';
import { clockOf, type SharedAdapters } from './shared';

export function registrationDeps(config: ServiceConfig, shared?: Pick<SharedAdapters, 'dynamodb' | 's3' | 'registry' | 'attestationLog'>): RegistrationDeps {
  const dynamodb = shared?.dynamodb ?? dynamoDbClient(config);
  const log = shared ? shared.attestationLog : attestationLogFor(config, dynamodb);
  return {
    registry: shared?.registry ?? new DynamoDbRegistry(dynamodb, config.registryTable),
    builds: new S3BuildStore(shared?.s3 ?? s3Client(config), config.buildsBucket),
    clock: clockOf(config),
    maxBuildBytes: config.maxBuildBytes,
    ...(log ? { log } : {}),
    operatorTenantId: config.defaultTenantId,
  };
}
