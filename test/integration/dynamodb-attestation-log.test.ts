/**
 * DynamoDbAttestationLog against dynalite: an app's entries are spread over shards that every read
 * merges, and summarize counts, from the counter items written beside the entries, each entry from
 * the minute `since` falls in on (past `until` too, for clock skew) exactly once, reading a number of
 * items that follows the window's length, not the traffic in it.
 */
import { DynamoDBClient, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { COUNTER_SHARDS } from '../../packages/contracts/src/metrics';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { ensureTables, startDynamo, type LocalDynamo } from '../../packages/local/src/dynamodb';
import { DynamoDbAttestationLog } from '../../packages/service/src/adapters/dynamodb-attestation-log';
import { LogTally } from '../support/log-tally';
import type { AttestationLogEntry, AttestationOutcome } from '../../packages/service/src/core/ports';

const TABLES = { nonces: 'test-nonces', registry: 'test-registry', attestationLog: 'test-log' };
const UNTIL = 1_800_003_600;
const SINCE = UNTIL - 3600;

let dynamo: LocalDynamo;
let client: DynamoDBClient;
let log: DynamoDbAttestationLog;
let sequence = 0;

beforeAll(async () => {
  dynamo = await startDynamo({});
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureTables(client, TABLES);
  log = new DynamoDbAttestationLog(client, TABLES.attestationLog);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

function entry(tenantId: string, appId: string, time: number, outcome: AttestationOutcome, reasons: string[], appKnown = true): AttestationLogEntry {
  return {
    tenantId,
    appId,
    appKnown,
    appVersion: '1.0.0',
    did: 'device',
    platform: 'android',
    osVersion: '15',
    model: 'Pixel 9',
    sdkVersion: '1.0.0',
    outcome,
    reasons,
    time,
    jti: `jti-${++sequence}`,
  };
}

describe('DynamoDbAttestationLog sharding', () => {
  it("spreads one app's entries over its shards and pages through them newest first, older unsharded entries included", async () => {
    // Prepare: 80 entries with random jtis (as tokens have), plus 3 written before sharding.
    const tenantId = 'tenant-shards';
    const appId = 'com.example.sharded';
    const written: AttestationLogEntry[] = [];
    for (let i = 0; i < 80; i++) written.push({ ...entry(tenantId, appId, SINCE + i, 'pass', []), jti: randomBytes(16).toString('base64url') });
    for (const e of written) await log.record(e);
    for (let i = 0; i < 3; i++) {
      const legacy = { ...entry(tenantId, appId, SINCE + 100 + i, 'fail', ['measurement_mismatch']), jti: randomBytes(16).toString('base64url') };
      written.push(legacy);
      await client.send(
        new PutItemCommand({
          TableName: TABLES.attestationLog,
          Item: {
            ...marshall({ ...legacy, reasons: [...legacy.reasons] }),
            pk: { S: `TENANT#${tenantId}#${appId}` },
            sk: { S: `${legacy.time}#${legacy.jti}` },
          },
        }),
      );
    }

    // Act
    const pages: AttestationLogEntry[][] = [];
    let cursor: string | undefined;
    do {
      const page = await log.query({ tenantId, appIds: [appId], includeUnregistered: false, limit: 25, ...(cursor ? { cursor } : {}) });
      pages.push(page.entries);
      cursor = page.cursor;
    } while (cursor);
    const counts = await log.summarize({ tenantId, appIds: [appId], includeUnregistered: false, since: SINCE, until: UNTIL });

    // Assess
    const partitions = await client.send(new ScanCommand({ TableName: TABLES.attestationLog, ProjectionExpression: 'pk' }));
    const used = new Set((partitions.Items ?? []).map((i) => i['pk']!.S!).filter((pk) => pk.startsWith(`TENANT#${tenantId}#${appId}#`)));
    expect(used.size).toBeGreaterThan(10);
    expect(pages.map((p) => p.length)).toEqual([25, 25, 25, 8]);
    const times = pages.flat().map((e) => e.time);
    expect(times).toEqual([...written.map((e) => e.time)].sort((a, b) => b - a));
    // The 3 entries written before sharding predate the counters too: stats count what has counters.
    expect(counts).toMatchObject({ total: 80, byOutcome: { pass: 80, fail: 0 } });
  });
});

describe('DynamoDbAttestationLog.summarize', () => {
  it('counts every entry at or after since exactly once, whatever slice it falls in', async () => {
    // Prepare: two apps and the unregistered bucket; entries on each second around every
    // multiple of 450 s (the slice width of a 1 h window), at both edges, and past the end.
    const tenantId = 'tenant-slices';
    const outcomes: AttestationOutcome[] = ['pass', 'fail', 'debug', 'allowlisted'];
    const times = [SINCE - 1, SINCE, SINCE + 1, UNTIL - 1, UNTIL, UNTIL + 30];
    for (let k = 1; k < 8; k++) times.push(SINCE + 450 * k - 1, SINCE + 450 * k, SINCE + 450 * k + 1);
    const written: AttestationLogEntry[] = [];
    times.forEach((time, i) => {
      const outcome = outcomes[i % outcomes.length]!;
      const reasons = outcome === 'fail' ? (i % 3 ? ['measurement_mismatch'] : ['version_unknown', 'device_rooted']) : [];
      written.push(entry(tenantId, 'com.example.one', time, outcome, reasons));
      written.push(entry(tenantId, 'com.example.two', time, 'pass', []));
      written.push(entry(tenantId, 'com.example.unknown', time, 'fail', ['app_unknown'], false));
    });
    // Another tenant's entries in the same window must not be counted.
    written.push(entry('tenant-other', 'com.example.one', SINCE + 10, 'pass', []));
    for (const e of written) await log.record(e);
    const expected = (appIds: string[], includeUnregistered: boolean) => {
      const tally = new LogTally();
      for (const e of written) {
        const inScope = e.tenantId === tenantId && e.time >= SINCE && (e.appKnown ? appIds.includes(e.appId) : includeUnregistered);
        if (inScope) tally.add(e.outcome, e.reasons);
      }
      return tally.counts();
    };

    // Act
    const all = await log.summarize({ tenantId, since: SINCE, until: UNTIL, appIds: ['com.example.one', 'com.example.two'], includeUnregistered: true });
    const one = await log.summarize({ tenantId, since: SINCE, until: UNTIL, appIds: ['com.example.one'], includeUnregistered: false });

    // Assess: the expected counts are not trivial (each slice boundary contributes), and match.
    expect(all.total).toBe((times.length - 1) * 3);
    expect(all).toEqual(expected(['com.example.one', 'com.example.two'], true));
    expect(one).toEqual(expected(['com.example.one'], false));
    expect(one.byReason['device_rooted']).toBeGreaterThan(0);
  });

  it('counts a window narrower than the number of slices, and an empty one', async () => {
    const tenantId = 'tenant-narrow';
    for (const time of [UNTIL - 3, UNTIL - 2, UNTIL - 1, UNTIL, UNTIL + 1]) await log.record(entry(tenantId, 'com.example.one', time, 'pass', []));
    const scope = { tenantId, appIds: ['com.example.one'], includeUnregistered: false };
    // The window is whole minutes: UNTIL - 2 is in the minute that starts at UNTIL - 60, so UNTIL - 3 counts too.
    await expect(log.summarize({ ...scope, since: UNTIL - 2, until: UNTIL })).resolves.toMatchObject({ total: 5 });
    await expect(log.summarize({ ...scope, since: UNTIL, until: UNTIL })).resolves.toMatchObject({ total: 2 });
    // The next minute holds nothing.
    await expect(log.summarize({ ...scope, since: UNTIL + 60, until: UNTIL + 60 })).resolves.toEqual({
      total: 0,
      byOutcome: { pass: 0, fail: 0, debug: 0, allowlisted: 0 },
      byReason: {},
      nonceInvalid: 0,
    });
  });
});

describe('DynamoDbAttestationLog counters', () => {
  /** A client that counts the items its Queries read. */
  function countingLog(): { log: DynamoDbAttestationLog; itemsRead: () => number } {
    let read = 0;
    const counting = Object.create(client) as DynamoDBClient;
    counting.send = (async (command: unknown) => {
      const output = (await client.send(command as QueryCommand)) as { ScannedCount?: number };
      if (command instanceof QueryCommand) read += output.ScannedCount ?? 0;
      return output;
    }) as DynamoDBClient['send'];
    return { log: new DynamoDbAttestationLog(counting, TABLES.attestationLog), itemsRead: () => read };
  }

  it('reads as many items for stats of 400 attestations as of 20: counters, not entries', async () => {
    // Prepare: two tenants with the same window, one with 20 attestations, one with 400, over 3 hours.
    const window = { since: UNTIL - 3 * 3600 + 90, until: UNTIL };
    const write = async (tenantId: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const time = window.since + Math.floor((i * (window.until - window.since)) / n);
        const judged = entry(tenantId, 'com.example.busy', time, i % 4 ? 'pass' : 'fail', i % 4 ? [] : ['measurement_mismatch']);
        await log.record({ ...judged, jti: randomBytes(16).toString('base64url') });
      }
    };
    await write('tenant-quiet', 20);
    await write('tenant-busy', 400);
    const scope = { appIds: ['com.example.busy'], includeUnregistered: false, ...window };
    // Act
    const quiet = countingLog();
    const quietCounts = await quiet.log.summarize({ tenantId: 'tenant-quiet', ...scope });
    const busy = countingLog();
    const busyCounts = await busy.log.summarize({ tenantId: 'tenant-busy', ...scope });
    // Assess: exact counts, and the busy tenant's stats read no more than one item per shard, hour and edge minute.
    const counts = (total: number, fail: number) => ({
      total,
      byOutcome: { pass: total - fail, fail, debug: 0, allowlisted: 0 },
      byReason: { measurement_mismatch: fail },
      nonceInvalid: 0,
    });
    expect(quietCounts).toEqual(counts(20, 5));
    expect(busyCounts).toEqual(counts(400, 100));
    const bound = COUNTER_SHARDS * (3 + 2 * 60);
    expect(busy.itemsRead()).toBeLessThanOrEqual(bound);
    expect(busy.itemsRead()).toBeLessThan(400);
    expect(quiet.itemsRead()).toBeLessThanOrEqual(20 * 2);
  });

  it('counts a rewritten entry once, under its last verdict, and counts replays of a registered app', async () => {
    // Prepare
    const tenantId = 'tenant-rewrite';
    const first = { ...entry(tenantId, 'com.example.one', UNTIL - 10, 'pass', []), jti: randomBytes(16).toString('base64url') };
    // Act: attest's hardware replay path writes the same entry again as a failure.
    await log.record(first);
    await log.record({ ...first, outcome: 'fail', reasons: ['hardware_counter_replay'] });
    await log.countNonceInvalid({ tenantId, appId: 'com.example.one', time: UNTIL - 5 });
    // Assess
    const counts = await log.summarize({ tenantId, appIds: ['com.example.one'], includeUnregistered: false, since: UNTIL - 60, until: UNTIL });
    expect(counts).toEqual({ total: 1, byOutcome: { pass: 0, fail: 1, debug: 0, allowlisted: 0 }, byReason: { hardware_counter_replay: 1 }, nonceInvalid: 1 });
  });
});
