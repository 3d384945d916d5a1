import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbAttestationLog } from '../adapters/dynamodb-attestation-log';
import type { ServiceConfig } from './environment';

/** The attestation log, where the deployment keeps one (ATTESTATION_LOG_TABLE); undefined otherwise. */
export function attestationLogFor(config: ServiceConfig, dynamodb: DynamoDBClient): DynamoDbAttestationLog | undefined {
  return config.attestationLogTable ? new DynamoDbAttestationLog(dynamodb, config.attestationLogTable) : undefined;
}
