/**
 * Hardware device records against dynalite over HTTP, through the real AWS SDK client and the table
 * the local cloud creates from HARDWARE_DEVICES_TABLE: the round trip of both kinds of record, and
 * the two conditional writes replay protection rests on, raced for real.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTables, startDynamo, type LocalDynamo } from '../../packages/local/src/dynamodb';
import { DynamoDbHardwareDeviceRecords, hardwareRecordKey } from '../../packages/service/src/adapters/dynamodb-hardware-devices';
import type { AndroidKeyRecord, AppAttestKeyRecord, HardwareRecordRef } from '../../packages/service/src/core/hardware/ports';

const TABLE = 'test-hardware-devices';
const NOW = 1_800_000_000;

let dataDir: string;
let dynamo: LocalDynamo;
let client: DynamoDBClient;
let records: DynamoDbHardwareDeviceRecords;
let n = 0;
const unique = (prefix: string) => `${prefix}${++n}${Math.random().toString(36).slice(2, 8)}`;

function appAttestRecord(overrides: Partial<AppAttestKeyRecord> = {}): AppAttestKeyRecord {
  return {
    platform: 'ios',
    appId: 'com.example.app',
    keyId: unique('key'),
    did: 'did-thumbprint-0000000000000000000000000000',
    publicKey: { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'B'.repeat(43) },
    counter: 0,
    environment: 'production',
    receipt: 'cmVjZWlwdA',
    createdAt: NOW,
    expiresAt: NOW + 30 * 86_400,
    ...overrides,
  };
}

const refOf = (record: AppAttestKeyRecord): HardwareRecordRef => ({ platform: 'ios', appId: record.appId, id: record.keyId });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-hardware-devices-'));
  dynamo = await startDynamo({ dataDir });
  client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  await ensureTables(client, { nonces: 'test-nonces', registry: 'test-registry', hardwareDevices: TABLE });
  records = new DynamoDbHardwareDeviceRecords(client, TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('DynamoDbHardwareDeviceRecords', () => {
  it('stores and reads both kinds of record exactly, with the TTL attribute at the expiry', async () => {
    const ios = appAttestRecord();
    const android: AndroidKeyRecord = {
      platform: 'android',
      appId: 'com.example.app',
      did: unique('did'),
      securityLevel: 'strongbox',
      verifiedBootState: 'VERIFIED',
      deviceLocked: true,
      osPatchLevel: 202509,
      osVersion: 150000,
      packageName: 'com.example.android',
      signatureDigests: ['ab'.repeat(32)],
      versionCode: 42,
      serials: ['1', 'c0ffee'],
      createdAt: NOW,
      expiresAt: NOW + 86_400,
    };
    expect(await records.create(ios)).toBe(true);
    expect(await records.create(android)).toBe(true);
    expect(await records.get(refOf(ios))).toEqual(ios);
    expect(await records.get({ platform: 'android', appId: android.appId, id: android.did })).toEqual(android);
    const raw = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: hardwareRecordKey(refOf(ios)) } } }));
    expect(raw.Item?.['ttl']).toEqual({ N: String(ios.expiresAt) });
    // Keys are per platform and app: the same id elsewhere is another record.
    expect(await records.get({ ...refOf(ios), appId: 'com.example.other' })).toBeUndefined();
    expect(await records.get({ ...refOf(ios), platform: 'android' })).toBeUndefined();
  });

  it('creates a record only once: a second create (the key attesting again) is refused and changes nothing', async () => {
    const record = appAttestRecord();
    expect(await records.create(record)).toBe(true);
    expect(await records.create({ ...record, did: 'another-install-key-000000000000000000000000' })).toBe(false);
    expect(await records.get(refOf(record))).toEqual(record);
  });

  it('moves the counter only from the value read: a stale compare-and-set fails and leaves it', async () => {
    const record = appAttestRecord();
    await records.create(record);
    expect(await records.advanceCounter(refOf(record), 0, 3)).toBe(true);
    expect(await records.advanceCounter(refOf(record), 0, 4)).toBe(false);
    expect(await records.get(refOf(record))).toMatchObject({ counter: 3 });
    expect(await records.advanceCounter({ ...refOf(record), id: unique('missing') }, 0, 1)).toBe(false);
  });

  it('of concurrent assertions with one counter, exactly one moves it (20 at once, over HTTP)', async () => {
    const record = appAttestRecord();
    await records.create(record);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => records.advanceCounter(refOf(record), 0, 1)));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await records.get(refOf(record))).toMatchObject({ counter: 1 });
    // Different counters read at the same value: still one winner.
    const next = await Promise.all([2, 3, 4, 5].map((to) => records.advanceCounter(refOf(record), 1, to)));
    expect(next.filter(Boolean)).toHaveLength(1);
  });

  it('of concurrent creates of one key, exactly one succeeds', async () => {
    const record = appAttestRecord();
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => records.create({ ...record, createdAt: NOW + i })));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  });

  it('reads no item it did not write as a record', async () => {
    expect(await records.get({ platform: 'ios', appId: 'com.example.app', id: unique('none') })).toBeUndefined();
  });
});
