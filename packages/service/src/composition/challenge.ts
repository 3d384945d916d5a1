/** The challenge function: the nonce table, and nothing else (no KMS, no S3, no registry). */
import { cryptoRandom, type AttestationDeps } from '../core/attestation';
import { dynamoDbClient } from './clients/dynamodb';
import { DynamoDbNonceStore } from '../adapters/dynamodb-nonce-store';
import type { ChallengeConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { clockOf, type SharedAdapters } from './shared';

export type ChallengeDeps = Pick<AttestationDeps, 'nonces' | 'clock' | 'random'>;

export function challengeDeps(config: ChallengeConfig & FunctionRuntime, shared?: Pick<SharedAdapters, 'dynamodb'>): ChallengeDeps {
  const dynamodb = shared?.dynamodb ?? dynamoDbClient(config);
  return {
    nonces: new DynamoDbNonceStore(dynamodb, config.noncesTable),
    clock: clockOf(config),
    random: config.random ?? cryptoRandom,
  };
}
