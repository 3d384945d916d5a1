import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAttestationLog } from '../adapters/dynamodb-attestation-log';
import type { AttestConfig } from '@attestor/contracts/config';

/** The attestation log, where the deployment keeps one (ATTESTATION_LOG_TABLE); undefined otherwise. */
export function attestationLogFor(config: Pick<AttestConfig, 'attestationLogTable'>, dynamodb: DynamoDBClient): DynamoDbAttestationLog | undefined {
  return config.attestationLogTable ? new DynamoDbAttestationLog(dynamodb, config.attestationLogTable) : undefined;
}
