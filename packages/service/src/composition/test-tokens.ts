/** Test tokens (PROTOCOL.md §5.7) as adminKeys (and the local cloud) wires them: test secrets in the registry and KMS, mints audited in the log. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { AdminKeysConfig } from '@attestor/contracts/config';
import type { TestTokenSetup } from '../core/test-tokens';
import { DynamoDbTestKeyStore } from '../adapters/dynamodb-registry/test-key-store';
import { DynamoDbTestTokenAudit } from '../adapters/dynamodb-test-token-audit';
import type { KmsKeyProvisioner } from '../adapters/kms-key-provisioner';
import { KmsTestTokenKeys } from '../adapters/kms-test-token-keys';
import type { FunctionRuntime } from './environment';
import { clockOf } from './shared';

export function testTokenSetup(
  config: Pick<AdminKeysConfig, 'registryTable' | 'attestationLogTable' | 'issuer'> & FunctionRuntime,
  dynamodb: DynamoDBClient,
  kms: KMSClient,
  tenantKeys: Pick<KmsKeyProvisioner, 'secretsKey'>,
): TestTokenSetup {
  const keys = new KmsTestTokenKeys(kms, new DynamoDbTestKeyStore(dynamodb, config.registryTable), {
    clock: clockOf(config),
    secretsKey: (tenantId) => tenantKeys.secretsKey(tenantId),
  });
  const audit = config.attestationLogTable ? new DynamoDbTestTokenAudit(dynamodb, config.attestationLogTable) : undefined;
  return { keys, issuer: config.issuer, ...(audit ? { audit } : {}) };
}
