/**
 * Every function wired at once, over one set of clients: the local cloud's composition root
 * (packages/local/src/cloud.ts). Lambdas never import this module; each entry uses its own
 * composition module, so that it bundles only its own adapters and loads only the SDK clients it calls.
 */
import type { AttestationDeps } from '../core/attestation';
import type { RegistrationDeps } from '../core/registration';
import type { AdminDeps } from '../handlers/admin';
import type { RegisterFailureQueue } from '../core/ports';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import { s3Client } from './clients/s3';
import type { ServiceConfig } from './environment';
import { adminCatalogDeps } from './admin-catalog';
import { attestationLogFor } from './attestation-log';
import { DynamoDbAuthorizerVerdicts } from '../adapters/dynamodb-authorizer-verdicts';
import { adminKeysDeps, type AdminKeysOptions } from './admin-keys';
import { adminUploadsDeps } from './admin-uploads';
import { attestDeps } from './attest';
import { challengeDeps, type ChallengeDeps } from './challenge';
import { registrationDeps } from './register';
import { registryAdapters, wholeRegistry } from './registry';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-key-manager';

export function createServices(config: ServiceConfig) {
  const dynamodb = dynamoDbClient(config);
  const s3 = s3Client(config);
  const kms = kmsClient(config);
  const registry = registryAdapters(dynamodb, config.registryTable);
  const shared: SharedAdapters = {
    dynamodb,
    s3,
    kms,
    registry,
    tenantKeys: tenantKeysFor(config, kms, registry.keyRecords),
    attestationLog: attestationLogFor(config, dynamodb),
    // No CloudWatch locally: the local authorizer counts its verdicts in the log table (packages/local/src/cloud.ts).
    authorizerVerdicts: config.attestationLogTable ? new DynamoDbAuthorizerVerdicts(dynamodb, config.attestationLogTable) : undefined,
  };
  const whole = wholeRegistry(registry);
  return {
    config,
    clock: clockOf(config),
    clients: { dynamodb: () => dynamodb, s3: () => s3, kms: () => kms },
    /** Every registry port on one object, for bootstrap and tests; functions get only the ports they use. */
    registry: () => whole,
    tenantKeys: () => shared.tenantKeys,
    attestationLog: () => shared.attestationLog,
    authorizerVerdicts: () => shared.authorizerVerdicts,
    challenge: (): ChallengeDeps => challengeDeps(config, shared),
    attestation: (): AttestationDeps => attestDeps(config, shared),
    registration: (): RegistrationDeps => registrationDeps(config, shared),
    /** Every admin area over the shared adapters; each area's handler uses its part. */
    admin: (options: AdminKeysOptions & { readonly registerFailures?: RegisterFailureQueue } = {}): AdminDeps => ({
      // Every area's ports are the same shared adapters; the order only decides which area's
      // (narrower or wider) type each member gets: `keys` from adminKeys (the whole key manager),
      // `apps` and `registrations` from adminCatalog (every method).
      ...adminUploadsDeps(config, shared),
      ...adminKeysDeps(config, options, shared),
      ...adminCatalogDeps(config, shared),
      // The local cloud keeps the register function's failures itself (packages/local/src/register-failures.ts).
      ...(options.registerFailures ? { registerFailures: options.registerFailures } : {}),
    }),
  };
}

export type Services = ReturnType<typeof createServices>;
