/** The S3-triggered register function: uploads, apps and registrations in the registry, the builds bucket and (if configured) the attestation log. No KMS. */
import type { RegistrationDeps } from '../core/registration';
import { DynamoDbAppStore } from '../adapters/dynamodb-registry/app-store';
import { DynamoDbRegistrationStore } from '../adapters/dynamodb-registry/registration-store';
import { DynamoDbUploadStore } from '../adapters/dynamodb-registry/upload-store';
import { S3BuildStore } from '../adapters/s3-build-store';
import { dynamoDbClient } from './clients/dynamodb';
import { s3Client } from './clients/s3';
import type { RegisterConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { attestationLogFor } from './attestation-log';
import { clockOf, type SharedAdapters } from './shared';

export function registrationDeps(
  config: RegisterConfig & FunctionRuntime,
  shared?: Pick<SharedAdapters, 'dynamodb' | 's3' | 'registry' | 'attestationLog'>,
): RegistrationDeps {
  const dynamodb = shared?.dynamodb ?? dynamoDbClient(config);
  const table = config.registryTable;
  const log = shared ? shared.attestationLog : attestationLogFor(config, dynamodb);
  return {
    uploads: shared?.registry.uploads ?? new DynamoDbUploadStore(dynamodb, table),
    apps: shared?.registry.apps ?? new DynamoDbAppStore(dynamodb, table),
    registrations: shared?.registry.registrations ?? new DynamoDbRegistrationStore(dynamodb, table),
    builds: new S3BuildStore(shared?.s3 ?? s3Client(config), config.buildsBucket),
    clock: clockOf(config),
    maxBuildBytes: config.maxBuildBytes,
    ...(log ? { log } : {}),
    operatorTenantId: config.defaultTenantId,
  };
}
