/** The attest function: nonces, the app catalog (cached), tenant keys in KMS and (if configured) the attestation log. No S3. */
import { cryptoRandom, newDecoySecret, type AttestationDeps } from '../core/attestation';
import { CachedAttestationCatalog } from '../core/catalog-cache';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import { DynamoDbNonceStore } from '../adapters/dynamodb-nonce-store';
import { DynamoDbRegistry } from '../adapters/dynamodb-registry';
import type { ServiceConfig } from './environment';
import { attestationLogFor } from './attestation-log';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export function attestDeps(config: ServiceConfig, shared?: Pick<SharedAdapters, 'dynamodb' | 'registry' | 'tenantKeys' | 'attestationLog'>): AttestationDeps {
  const dynamodb = shared?.dynamodb ?? dynamoDbClient(config);
  const registry = shared?.registry ?? new DynamoDbRegistry(dynamodb, config.registryTable);
  const attestationLog = shared ? shared.attestationLog : attestationLogFor(config, dynamodb);
  const clock = clockOf(config);
  const random = config.random ?? cryptoRandom;
  return {
    nonces: new DynamoDbNonceStore(dynamodb, config.noncesTable),
    catalog: new CachedAttestationCatalog(registry, { clock }),
    keys: shared?.tenantKeys ?? tenantKeysFor(config, kmsClient(config), registry),
    clock,
    random,
    issuer: config.issuer,
    tokenTtlSeconds: config.tokenTtlSeconds,
    decoySecret: newDecoySecret(random),
    defaultTenantId: config.defaultTenantId,
    ...(attestationLog ? { attestationLog } : {}),
  };
}
