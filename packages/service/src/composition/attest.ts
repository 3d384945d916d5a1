/**
 * The attest function: nonces, the app catalog (cached), tenant keys in KMS, (if configured) the
 * attestation log, and hardware evidence (device records; the revocation list's copy in S3, whose
 * client loads on first use: ./hardware.ts).
 */
import { cryptoRandom, newDecoySecret, type AttestationDeps } from '../core/attestation';
import { CachedAttestationCatalog } from '../core/catalog-cache';
import { DynamoDbNonceStore } from '../adapters/dynamodb-nonce-store';
import { DynamoDbAttestationCatalog } from '../adapters/dynamodb-registry/attestation-catalog';
import { DynamoDbTenantKeyStore } from '../adapters/dynamodb-registry/tenant-key-store';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import type { AttestConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { attestationLogFor } from './attestation-log';
import { hardwareDepsFor } from './hardware';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeyReaderFor } from './tenant-keys';

export function attestDeps(
  config: AttestConfig & FunctionRuntime,
  shared?: Pick<SharedAdapters, 'dynamodb' | 's3' | 'registry' | 'tenantKeys' | 'attestationLog'>,
): AttestationDeps {
  const dynamodb = shared?.dynamodb ?? dynamoDbClient(config);
  // Of the registry, attest reads an app's partition (the catalog) and its tenant's key records, nothing else.
  const catalog = shared?.registry.catalog ?? new DynamoDbAttestationCatalog(dynamodb, config.registryTable);
  const attestationLog = shared ? shared.attestationLog : attestationLogFor(config, dynamodb);
  const clock = clockOf(config);
  const random = config.random ?? cryptoRandom;
  const hardware = hardwareDepsFor(config, dynamodb, shared ? () => shared.s3 : undefined);
  return {
    nonces: new DynamoDbNonceStore(dynamodb, config.noncesTable),
    catalog: new CachedAttestationCatalog(catalog, { clock }),
    keys: shared?.tenantKeys ?? tenantKeyReaderFor(config, kmsClient(config), new DynamoDbTenantKeyStore(dynamodb, config.registryTable)),
    clock,
    random,
    issuer: config.issuer,
    tokenTtlSeconds: config.tokenTtlSeconds,
    decoySecret: newDecoySecret(random),
    defaultTenantId: config.defaultTenantId,
    ...(attestationLog ? { attestationLog } : {}),
    ...(hardware ? { hardware } : {}),
  };
}
