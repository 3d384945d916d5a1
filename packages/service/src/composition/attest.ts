/** The attest function: nonces, the app catalog (cached), tenant keys in KMS and (if configured) the attestation log. No S3. */
import { cryptoRandom, newDecoySecret, type AttestationDeps } from '../core/attestation';
import { CachedAttestationCatalog } from '../core/catalog-cache';
import { DynamoDbNonceStore } from '../adapters/dynamodb-nonce-store';
import { DynamoDbAttestationCatalog } from '../adapters/dynamodb-registry/attestation-catalog';
import { DynamoDbTenantKeyStore } from '../adapters/dynamodb-registry/tenant-key-store';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import type { ServiceConfig } from './environment';
import { attestationLogFor } from './attestation-log';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export function attestDeps(config: ServiceConfig, shared?: Pick<SharedAdapters, 'dynamodb' | 'registry' | 'tenantKeys' | 'attestationLog'>): AttestationDeps {
  const dynamodb = shared?.dynamodb ?? dynamoDbClient(config);
  // Of the registry, attest reads an app's partition (the catalog) and its tenant's key records, nothing else.
  const catalog = shared?.registry.catalog ?? new DynamoDbAttestationCatalog(dynamodb, config.registryTable);
  const attestationLog = shared ? shared.attestationLog : attestationLogFor(config, dynamodb);
  const clock = clockOf(config);
  const random = config.random ?? cryptoRandom;
  return {
    nonces: new DynamoDbNonceStore(dynamodb, config.noncesTable),
    catalog: new CachedAttestationCatalog(catalog, { clock }),
    keys: shared?.tenantKeys ?? tenantKeysFor(config, kmsClient(config), new DynamoDbTenantKeyStore(dynamodb, config.registryTable)),
    clock,
    random,
    issuer: config.issuer,
    tokenTtlSeconds: config.tokenTtlSeconds,
    decoySecret: newDecoySecret(random),
    defaultTenantId: config.defaultTenantId,
    ...(attestationLog ? { attestationLog } : {}),
  };
}
