/** The attest function: nonces, registry, tenant keys in KMS and (if configured) the attestation log. No S3. */
import { cryptoRandom, type AttestationDeps } from '../../core/attestation';
import { dynamoDbClient } from '../clients/dynamodb';
import { kmsClient } from '../clients/kms';
import { DynamoDbNonceStore } from '../dynamodb-nonce-store';
import { DynamoDbRegistry } from '../dynamodb-registry';
import type { ServiceConfig } from '../environment';
import { attestationLogFor } from './attestation-log';
import { clockOf, type SharedAdapters } from './shared';
import { tenantKeysFor } from './tenant-keys';

export function attestDeps(config: ServiceConfig, shared?: Pick<SharedAdapters, 'dynamodb' | 'registry' | 'tenantKeys' | 'attestationLog'>): AttestationDeps {
  const dynamodb = shared?.dynamodb ?? dynamoDbClient(config);
  const registry = shared?.registry ?? new DynamoDbRegistry(dynamodb, config.registryTable);
  const attestationLog = shared ? shared.attestationLog : attestationLogFor(config, dynamodb);
  return {
    nonces: new DynamoDbNonceStore(dynamodb, config.noncesTable),
    registry,
    signer: shared?.tenantKeys ?? tenantKeysFor(config, kmsClient(config), registry),
    clock: clockOf(config),
    random: config.random ?? cryptoRandom,
    issuer: config.issuer,
    defaultTenantId: config.defaultTenantId,
    ...(attestationLog ? { attestationLog } : {}),
  };
}
