/**
 * Every function wired at once, over one set of clients: the local cloud's composition root
 * (local/cloud.ts). Lambdas never import this module; each entry uses its own ./wiring/ module,
 * so that it bundles only its own adapters and loads only the SDK clients it calls.
 */
import type { AttestationDeps } from '../core/attestation';
import type { RegistrationDeps } from '../core/registration';
import type { AdminDeps } from '../handlers/admin';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import { s3Client } from './clients/s3';
import { DynamoDbRegistry } from '../adapters/dynamodb-registry';
import type { ServiceConfig } from './environment';
import { adminCatalogDeps } from './admin-catalog';
import { attestationLogFor } from './attestation-log';
import { adminKeysDeps, type AdminKeysOptions } from './admin-keys';
import { adminUploadsDeps } from './admin-uploads';
import { attestDeps } from './attest';
import { challengeDeps, type ChallengeDeps } from './challenge';
import { registrationDeps } from './register';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export function createServices(config: ServiceConfig) {
  const dynamodb = dynamoDbClient(config);
  const s3 = s3Client(config);
  const kms = kmsClient(config);
  const registry = new DynamoDbRegistry(dynamodb, config.registryTable);
  const shared: SharedAdapters = {
    dynamodb,
    s3,
    kms,
    registry,
    tenantKeys: tenantKeysFor(config, kms, registry),
    attestationLog: attestationLogFor(config, dynamodb),
  };
  return {
    config,
    clock: clockOf(config),
    clients: { dynamodb: () => dynamodb, s3: () => s3, kms: () => kms },
    registry: () => shared.registry,
    tenantKeys: () => shared.tenantKeys,
    attestationLog: () => shared.attestationLog,
    challenge: (): ChallengeDeps => challengeDeps(config, shared),
    attestation: (): AttestationDeps => attestDeps(config, shared),
    registration: (): RegistrationDeps => registrationDeps(config, shared),
    /** Every admin area over the shared adapters; each area's handler uses its part. */
    admin: (options: AdminKeysOptions = {}): AdminDeps => ({
      ...adminUploadsDeps(config, shared),
      ...adminCatalogDeps(config, shared),
      // Last: its `keys` (the shared tenant keys, as adminUploads's) is the whole key manager.
      ...adminKeysDeps(config, options, shared),
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
