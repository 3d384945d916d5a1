/**
 * Hardware evidence for the attest function (and the local cloud): device records in their DynamoDB
 * table, and the revocation list read from its stored copy. The S3 client that reads the copy is
 * loaded on the first Android evidence, not at cold start: most containers of most apps never need
 * it, and the attest function's cold init is budgeted (bench/bundles.bench.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbHardwareDeviceRecords } from '../adapters/dynamodb-hardware-devices';
import { FileStatusList } from '../adapters/file-status-list';
import type { HardwareDeps } from '../core/hardware/ports';
import { CachedRevocationList, type StatusListSource } from '../core/hardware/revocation';
import { jsonLogger } from '../handlers/log';
import type { AttestConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { clockOf } from './shared';

/** What attest's hardware evidence is configured by. */
type HardwareConfig = Pick<AttestConfig, 'hardwareDevicesTable' | 'revocationList'> & FunctionRuntime;

/** The hardware ports, or undefined for a deployment without a device-record table (it verifies no evidence). */
export function hardwareDepsFor(config: HardwareConfig, dynamodb: DynamoDBClient, s3?: () => S3Client): HardwareDeps | undefined {
  if (!config.hardwareDevicesTable) return undefined;
  const logger = config.logger ?? jsonLogger;
  return {
    devices: new DynamoDbHardwareDeviceRecords(dynamodb, config.hardwareDevicesTable),
    revocations: new CachedRevocationList(statusListSource(config, s3), { clock: clockOf(config), warn: (event, fields) => logger.warn(event, fields) }),
    ...(config.hardwareTestRoots ? { testRoots: config.hardwareTestRoots } : {}),
  };
}

function statusListSource(config: HardwareConfig, s3?: () => S3Client): StatusListSource {
  const where = config.revocationList;
  if (where === undefined) return { location: 'none configured (REVOCATION_LIST_BUCKET, REVOCATION_LIST_FILE)', read: async () => undefined };
  if ('file' in where) return new FileStatusList(where.file);
  let source: StatusListSource | undefined;
  const load = (): StatusListSource => {
    // Required here, not imported above: see the module comment.
    const { S3StatusList } = require('../adapters/s3-status-list') as typeof import('../adapters/s3-status-list');
    const { s3Client } = require('./clients/s3') as typeof import('./clients/s3');
    return new S3StatusList(s3 ? s3() : s3Client(config), where.bucket);
  };
  return { location: `s3://${where.bucket}`, read: () => (source ??= load()).read() };
}
