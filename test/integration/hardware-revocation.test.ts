/**
 * The revocation list's path with real parts: the revocation function's composition fetching over
 * HTTP (a local server standing in for Google's) and writing to S3 (s3rver), then attest's composition
 * reading that copy from the same bucket, and the local cloud's file option.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startS3, type LocalS3 } from '../../packages/local/src/s3';
import { listen } from '../../packages/local/src/listen';
import { GOOGLE_ATTESTATION_STATUS_URL, REVOCATION_LIST_OBJECT_KEY } from '../../packages/contracts/src/tables';
import { revocationListDeps } from '../../packages/service/src/composition/revocation-list';
import { ATTEST_CONFIG, REVOCATION_LIST_CONFIG } from '../../packages/contracts/src/config';
import { hardwareDepsFor } from '../../packages/service/src/composition/hardware';
import { ConfigurationError, type ServiceConfig } from '../../packages/service/src/composition/environment';
import { revocationListHandler } from '../../packages/service/src/handlers/revocation-list';
import { silentLogger, type Logger } from '../../packages/service/src/handlers/log';
import { ManualClock } from '../support/memory';

const BUCKET = 'revocation-test';
const FIXTURE = readFileSync(join(__dirname, '../fixtures/attestation-status.json'), 'utf8');

let dataDir: string;
let s3: LocalS3;
let client: S3Client;
let google: Server;
let googleUrl: string;
/** What the stand-in for Google answers next. */
let answer: { status: number; body: string } = { status: 200, body: FIXTURE };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-revocation-'));
  s3 = await startS3({ dataDir: join(dataDir, 's3'), buckets: [BUCKET] });
  client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  google = createServer((_req, res) => {
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  googleUrl = `http://127.0.0.1:${await listen(google, 0, '127.0.0.1')}/attestation/status`;
});

afterAll(async () => {
  client?.destroy();
  await new Promise((resolve) => google?.close(resolve));
  await s3?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const stored = async () => (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: REVOCATION_LIST_OBJECT_KEY }))).Body!.transformToString('utf8');

function attestSide(config: Partial<ServiceConfig>, clock = new ManualClock()) {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (event) => void warnings.push(event) };
  const dynamodb = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
  const deps = hardwareDepsFor({ region: 'us-east-1', hardwareDevicesTable: 'unused', clock, logger, ...config } as ServiceConfig, dynamodb, () => client)!;
  return { deps, warnings, clock };
}

describe('the revocation function, then attest, over S3', () => {
  it('attest finds no copy before the first run, then the stored list after its cache period', async () => {
    const { deps, warnings, clock } = attestSide({ revocationList: { bucket: BUCKET } });
    expect((await deps.revocations.revokedSerials()).size).toBe(0);
    expect(warnings).toEqual(['revocation_list_missing']);

    await revocationListHandler(revocationListDeps({ region: 'us-east-1', bucket: BUCKET, url: googleUrl }, { s3: client }), silentLogger)();
    expect(await stored()).toBe(FIXTURE);
    clock.advance(3600);
    expect([...(await deps.revocations.revokedSerials())].sort()).toEqual(['2c8cdddfd5e03bfc', 'beef01', 'c8966fcb2fbb0d7a', 'e1c0']);
  });

  it('a refresh that gets an error status or a broken list keeps the stored copy, and the invocation fails', async () => {
    const deps = revocationListDeps({ region: 'us-east-1', bucket: BUCKET, url: googleUrl }, { s3: client });
    await revocationListHandler(deps, silentLogger)();
    const errors: string[] = [];
    const log: Logger = { ...silentLogger, error: (event) => void errors.push(event) };
    for (const next of [
      { status: 503, body: 'unavailable' },
      { status: 200, body: '{"entries": 5}' },
    ]) {
      answer = next;
      await expect(revocationListHandler(deps, log)()).rejects.toThrow();
      expect(await stored()).toBe(FIXTURE);
    }
    answer = { status: 200, body: FIXTURE };
    const unreachable = revocationListDeps({ region: 'us-east-1', bucket: BUCKET, url: 'http://127.0.0.1:9/status' }, { s3: client });
    await expect(revocationListHandler(unreachable, log)()).rejects.toThrow(/failed/);
    expect(errors).toEqual(['revocation_list_refresh_failed', 'revocation_list_refresh_failed', 'revocation_list_refresh_failed']);
    expect(await stored()).toBe(FIXTURE);
  });
});

describe('the local cloud: a file', () => {
  it('attest reads the file the operator put in place, and no file means no serial (logged)', async () => {
    const file = join(dataDir, 'status.json');
    const missing = attestSide({ revocationList: { file } });
    expect((await missing.deps.revocations.revokedSerials()).size).toBe(0);
    expect(missing.warnings).toEqual(['revocation_list_missing']);
    writeFileSync(file, FIXTURE);
    const present = attestSide({ revocationList: { file } });
    expect((await present.deps.revocations.revokedSerials()).has('2c8cdddfd5e03bfc')).toBe(true);
  });
});

describe('configuration', () => {
  it('the revocation function needs its bucket, defaults to Google, and takes https only', () => {
    expect(() => REVOCATION_LIST_CONFIG.fromEnv({})).toThrow(ConfigurationError);
    expect(REVOCATION_LIST_CONFIG.fromEnv({ REVOCATION_LIST_BUCKET: 'b' })).toEqual({ bucket: 'b', url: GOOGLE_ATTESTATION_STATUS_URL });
    expect(() => REVOCATION_LIST_CONFIG.fromEnv({ REVOCATION_LIST_BUCKET: 'b', ATTESTATION_STATUS_URL: 'http://mirror.example/status' })).toThrow(
      ConfigurationError,
    );
  });

  it('attest takes a bucket or a file, not both, and device records from HARDWARE_DEVICES_TABLE', () => {
    const base = { NONCES_TABLE: 'n', REGISTRY_TABLE: 'r' };
    expect(ATTEST_CONFIG.fromEnv({ ...base, HARDWARE_DEVICES_TABLE: 'h', REVOCATION_LIST_BUCKET: 'b' })).toMatchObject({
      hardwareDevicesTable: 'h',
      revocationList: { bucket: 'b' },
    });
    expect(ATTEST_CONFIG.fromEnv({ ...base, REVOCATION_LIST_FILE: '/tmp/s.json' })).toMatchObject({ revocationList: { file: '/tmp/s.json' } });
    expect(() => ATTEST_CONFIG.fromEnv({ ...base, REVOCATION_LIST_BUCKET: 'b', REVOCATION_LIST_FILE: '/tmp/s.json' })).toThrow(ConfigurationError);
    expect(ATTEST_CONFIG.fromEnv(base)).not.toHaveProperty('hardwareDevicesTable');
    expect(ATTEST_CONFIG.fromEnv(base)).not.toHaveProperty('revocationList');
  });
});
