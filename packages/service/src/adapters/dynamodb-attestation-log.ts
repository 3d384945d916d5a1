/**
 * The attestation log in DynamoDB (layout ATTESTATION_LOG_TABLE in tables.ts), partitioned by
 * tenant and app so that one app's traffic never crowds another's, and each app (and the bucket of
 * unregistered app ids) spread over LOG_SHARDS partitions:
 *   TENANT#<tenantId>#<appId>#<shard>        / <time>#<jti>      an attestation of a registered app
 *   TENANT#<tenantId>#~unregistered#<shard>  / <time>#<jti>      attestations naming unregistered app ids
 *   TENANT#<tenantId>#~builds                / <time>#<eventId>  builds the register function refused
 * A DynamoDB partition takes about 1,000 writes per second, and an attestation is one write, so an
 * unsharded app would stop at 1,000 attestations per second, and an attacker sending made-up app
 * ids could fill the shared bucket of unregistered ones. The shard is the first byte of the
 * token's jti (random), so writes spread evenly; readers query every shard at once and merge.
 * Entries written before sharding (no `#<shard>`) are read too, until they expire.
 * Beside each entry, attest adds to counter items (layout in @attestor/contracts/metrics): one per
 * minute and one per hour, per tenant, app bucket and counter shard. `summarize` (stats) reads those,
 * so a month's stats of a busy app read about 720 hour items per shard, not millions of entries.
 * `~` cannot occur in an app id, so the buckets cannot collide with an app. Times are zero-padded,
 * so the sort key orders by time and a time range is one Query per partition. Items expire after
 * LOG_RETENTION_SECONDS through the table's TTL.
 */
import { PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { createHash } from 'node:crypto';
import { decodeB64u, encodeB64u } from '@attestor/contracts/base64url';
import { OUTCOMES } from '../core/log-stats';
import type { AttestationLog, AttestationLogEntry, AttestationOutcome, BuildRefusal, LogCounts, LogPage, LogQuery, LogSeriesPoint } from '../core/ports';
import { InvalidRequestError } from '@attestor/contracts/errors';
import { isConditionalCheckFailed } from './dynamodb-errors';
import { ATTESTATION_LOG_TABLE } from '@attestor/contracts/tables';
import { COUNTER_ATTRIBUTE, COUNTER_GRANULARITY, COUNTER_SHARDS, COUNTS_PARTITION_PREFIX, UNREGISTERED_APP, categoryOf } from '@attestor/contracts/metrics';

export const LOG_RETENTION_SECONDS = 30 * 86400;
/** The bucket of unregistered app ids, in entries, counters and metrics alike. */
const UNREGISTERED = UNREGISTERED_APP;
const BUILDS = '~builds';
const PK = ATTESTATION_LOG_TABLE.partitionKey;
const SK = ATTESTATION_LOG_TABLE.sortKey ?? 'sk';
const TTL = ATTESTATION_LOG_TABLE.ttlAttribute ?? 'ttl';
/**
 * Partitions per app: 10,000 attestations per second make about 310 writes per second each, a
 * third of a partition's limit (docs/SCALING.md).
 */
export const LOG_SHARDS = 32;
const SORT_KEY = /^\d{10}#[A-Za-z0-9_-]{1,64}$/;

type Item = Record<string, AttributeValue>;

const partition = (tenantId: string, bucket: string) => `TENANT#${tenantId}#${bucket}`;
const shardOf = (jti: string) => (decodeB64u(jti)?.[0] ?? 0) % LOG_SHARDS;
/** Every partition one bucket's entries may be in: the shards, and the unsharded one of older entries. */
const partitionsOf = (tenantId: string, bucket: string) => [
  partition(tenantId, bucket),
  ...Array.from({ length: LOG_SHARDS }, (_, i) => partition(tenantId, `${bucket}#${String(i).padStart(2, '0')}`)),
];
/** A sort key's time part: ten digits, so keys sort as times do (the test-token audit shares it). */
export const timeKey = (time: number) => String(Math.max(0, Math.floor(time))).padStart(10, '0');

/** The cursor names the last sort key returned; the next page starts strictly below it. */
export function encodeCursor(sk: string): string {
  return encodeB64u(Buffer.from(JSON.stringify({ before: sk }), 'utf8'));
}
export function decodeCursor(cursor: string): string {
  const bytes = cursor.length <= 200 ? decodeB64u(cursor) : undefined;
  let before: unknown;
  try {
    before = bytes && (JSON.parse(Buffer.from(bytes).toString('utf8')) as { before?: unknown }).before;
  } catch {
    before = undefined;
  }
  if (typeof before !== 'string' || !SORT_KEY.test(before)) throw new InvalidRequestError('cursor', 'is not a cursor this service issued');
  return before;
}

function str(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  return typeof v === 'string' ? v : '';
}

function entryFromItem(item: Item): AttestationLogEntry {
  const v = unmarshall(item);
  const outcome = str(v, 'outcome');
  return {
    tenantId: str(v, 'tenantId'),
    appId: str(v, 'appId'),
    appKnown: v['appKnown'] === true,
    appVersion: str(v, 'appVersion'),
    did: str(v, 'did'),
    platform: str(v, 'platform'),
    osVersion: str(v, 'osVersion'),
    model: str(v, 'model'),
    sdkVersion: str(v, 'sdkVersion'),
    outcome: (OUTCOMES as readonly string[]).includes(outcome) ? (outcome as AttestationOutcome) : 'fail',
    reasons: Array.isArray(v['reasons']) ? (v['reasons'] as unknown[]).filter((r): r is string => typeof r === 'string') : [],
    time: typeof v['time'] === 'number' ? v['time'] : 0,
    jti: str(v, 'jti'),
  };
}

function refusalFromItem(item: Item): BuildRefusal {
  const v = unmarshall(item);
  const optional = (name: string) => (typeof v[name] === 'string' ? { [name]: v[name] as string } : {});
  return {
    tenantId: str(v, 'tenantId'),
    objectKey: str(v, 'objectKey'),
    reason: str(v, 'reason'),
    time: typeof v['time'] === 'number' ? v['time'] : 0,
    eventId: str(v, 'eventId'),
    ...(typeof v['size'] === 'number' ? { size: v['size'] } : {}),
    ...optional('appId'),
    ...optional('version'),
    ...optional('uploadId'),
  };
}

type Granularity = (typeof COUNTER_GRANULARITY)[keyof typeof COUNTER_GRANULARITY];
const countsPartition = (tenantId: string, bucket: string, granularity: Granularity, shard: number) =>
  `${COUNTS_PARTITION_PREFIX}${tenantId}#${bucket}#${granularity.key}#${shard}`;
const counterShardOf = (jti: string) => (decodeB64u(jti)?.[0] ?? 0) % COUNTER_SHARDS;
const startOf = (time: number, granularity: Granularity) => Math.floor(time / granularity.seconds) * granularity.seconds;

/** What one verdict adds to its counters: the total, its outcome, its category (contracts/metrics) and each reason. */
function counterNames(entry: Pick<AttestationLogEntry, 'outcome' | 'reasons'>): string[] {
  return [
    COUNTER_ATTRIBUTE.total,
    `${COUNTER_ATTRIBUTE.outcome}${entry.outcome}`,
    `${COUNTER_ATTRIBUTE.category}${categoryOf(entry)}`,
    ...new Set(entry.reasons.map((r) => `${COUNTER_ATTRIBUTE.reason}${r}`)),
  ];
}

/** Adds up counter items (any shards, any buckets) into stats' counts. */
function countsOf(items: readonly Item[]): LogCounts {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<AttestationOutcome, number>;
  const byReason: Record<string, number> = {};
  let total = 0;
  let nonceInvalid = 0;
  for (const item of items) {
    for (const [name, value] of Object.entries(item)) {
      const n = Number(value.N ?? 0);
      if (name === COUNTER_ATTRIBUTE.total) total += n;
      else if (name === COUNTER_ATTRIBUTE.nonceInvalid) nonceInvalid += n;
      else if (name.startsWith(COUNTER_ATTRIBUTE.outcome)) {
        const outcome = name.slice(COUNTER_ATTRIBUTE.outcome.length);
        if ((OUTCOMES as readonly string[]).includes(outcome)) byOutcome[outcome as AttestationOutcome] += n;
      } else if (name.startsWith(COUNTER_ATTRIBUTE.reason)) {
        const reason = name.slice(COUNTER_ATTRIBUTE.reason.length);
        byReason[reason] = (byReason[reason] ?? 0) + n;
      }
    }
  }
  // A reason whose count a correction took back to zero is left out, as if never seen.
  for (const [reason, n] of Object.entries(byReason)) if (n === 0) delete byReason[reason];
  return { total, byOutcome, byReason, nonceInvalid };
}

export class DynamoDbAttestationLog implements AttestationLog {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * The entry and its counters, written at once (no round trip added). Attest rewrites an entry whose
   * verdict a hardware replay changed (same key): the old entry comes back (ALL_OLD, no extra cost)
   * and its counts are taken back out, so each attestation is counted once, under its last verdict.
   */
  async record(entry: AttestationLogEntry): Promise<void> {
    const bucket = entry.appKnown ? entry.appId : UNREGISTERED;
    const [written] = await Promise.all([
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...marshall({ ...entry, reasons: [...entry.reasons] }, { removeUndefinedValues: true }),
            [PK]: { S: partition(entry.tenantId, `${bucket}#${String(shardOf(entry.jti)).padStart(2, '0')}`) },
            [SK]: { S: `${timeKey(entry.time)}#${entry.jti}` },
            [TTL]: { N: String(entry.time + LOG_RETENTION_SECONDS) },
          },
          ReturnValues: 'ALL_OLD',
        }),
      ),
      this.addToCounters(entry.tenantId, bucket, entry.time, counterShardOf(entry.jti), counterNames(entry), 1),
    ]);
    if (written.Attributes) {
      const replaced = entryFromItem(written.Attributes);
      await this.addToCounters(entry.tenantId, bucket, entry.time, counterShardOf(entry.jti), counterNames(replaced), -1);
    }
  }

  async countNonceInvalid(replay: { readonly tenantId: string; readonly appId: string; readonly time: number }): Promise<void> {
    const shard = Math.floor(Math.random() * COUNTER_SHARDS);
    await this.addToCounters(replay.tenantId, replay.appId, replay.time, shard, [COUNTER_ATTRIBUTE.nonceInvalid], 1);
  }

  /** ADD `delta` to each named counter of the minute's and the hour's item (created by the first ADD). */
  private async addToCounters(tenantId: string, bucket: string, time: number, shard: number, names: readonly string[], delta: number): Promise<void> {
    const attributeNames: Record<string, string> = { '#ttl': TTL };
    names.forEach((name, i) => (attributeNames[`#c${i}`] = name));
    const additions = names.map((_, i) => `#c${i} :delta`).join(', ');
    await Promise.all(
      [COUNTER_GRANULARITY.minute, COUNTER_GRANULARITY.hour].map((granularity) => {
        const start = startOf(time, granularity);
        return this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: { [PK]: { S: countsPartition(tenantId, bucket, granularity, shard) }, [SK]: { S: timeKey(start) } },
            UpdateExpression: `SET #ttl = :ttl ADD ${additions}`,
            ExpressionAttributeNames: attributeNames,
            ExpressionAttributeValues: { ':delta': { N: String(delta) }, ':ttl': { N: String(start + granularity.seconds + LOG_RETENTION_SECONDS) } },
          }),
        );
      }),
    );
  }

  async query(query: LogQuery): Promise<LogPage<AttestationLogEntry>> {
    const buckets = [...query.appIds, ...(query.includeUnregistered ? [UNREGISTERED] : [])];
    const page = await newestFirstPage(
      this.client,
      this.tableName,
      buckets.flatMap((b) => partitionsOf(query.tenantId, b)),
      query,
    );
    return { entries: page.items.map(entryFromItem), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  async recordBuildRefusal(refusal: BuildRefusal): Promise<void> {
    // The event id can be long and contain anything; its digest is a fixed-size, key-safe stand-in.
    const eventKey = encodeB64u(createHash('sha256').update(refusal.eventId).digest()).slice(0, 22);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...marshall(refusal, { removeUndefinedValues: true }),
            [PK]: { S: partition(refusal.tenantId, BUILDS) },
            [SK]: { S: `${timeKey(refusal.time)}#${eventKey}` },
            [TTL]: { N: String(refusal.time + LOG_RETENTION_SECONDS) },
          },
          // A redelivered event finds its entry already there and leaves it as it is.
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async queryBuildRefusals(query: Omit<LogQuery, 'appIds' | 'includeUnregistered'>): Promise<LogPage<BuildRefusal>> {
    const page = await newestFirstPage(this.client, this.tableName, [partition(query.tenantId, BUILDS)], query);
    return { entries: page.items.map(refusalFromItem), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /**
   * Counts from the counter items, not the entries: the window's whole hours from hour items, its
   * ragged ends from minute items, so the items read are bounded by the window's length (about
   * hours + 120 per shard and bucket), whatever the traffic. The window is whole minutes: it starts
   * at the beginning of the minute `since` falls in, and counts what came after `until` too (clock
   * skew). Entries written before the counters existed are not counted.
   */
  async summarize(query: Omit<LogQuery, 'limit' | 'cursor' | 'since'> & { readonly since: number; readonly until: number }): Promise<LogCounts> {
    return countsOf(await this.counterItems(query));
  }

  /** Minute counter items of every shard, summed per minute and bucket: categories only (what the charts stack). */
  async seriesByMinute(query: Omit<LogQuery, 'limit' | 'cursor' | 'since'> & { readonly since: number }): Promise<LogSeriesPoint[]> {
    const { minute } = COUNTER_GRANULARITY;
    const buckets = [...query.appIds, ...(query.includeUnregistered ? [UNREGISTERED] : [])];
    const from = timeKey(startOf(query.since, minute));
    const points = new Map<string, { time: number; appId: string; counts: Record<string, number> }>();
    await Promise.all(
      buckets.flatMap((bucket) =>
        Array.from({ length: COUNTER_SHARDS }, (_, shard) => shard).map(async (shard) => {
          for (const item of await this.queryAll(countsPartition(query.tenantId, bucket, minute, shard), from, undefined)) {
            const time = Number(item[SK]?.S ?? 0);
            const key = `${time}\n${bucket}`;
            let point = points.get(key);
            if (!point) points.set(key, (point = { time, appId: bucket, counts: {} }));
            for (const [name, value] of Object.entries(item)) {
              if (!name.startsWith(COUNTER_ATTRIBUTE.category)) continue;
              const category = name.slice(COUNTER_ATTRIBUTE.category.length);
              point.counts[category] = (point.counts[category] ?? 0) + Number(value.N ?? 0);
            }
          }
        }),
      ),
    );
    return [...points.values()].sort((a, b) => a.time - b.time || a.appId.localeCompare(b.appId));
  }

  /** The counter items of the window's buckets: every shard, the hour items inside it and the minute items at its ends. */
  private async counterItems(query: { tenantId: string; appIds: readonly string[]; includeUnregistered: boolean; since: number; until: number }) {
    const { minute, hour } = COUNTER_GRANULARITY;
    const from = startOf(query.since, minute);
    const firstHour = Math.ceil(from / hour.seconds) * hour.seconds;
    const lastHour = startOf(query.until, hour);
    // [from, firstHour) and [lastHour, ...) by minute, the hours between by hour; a window within one hour is minutes only.
    const ranges: Array<{ granularity: Granularity; from: number; to?: number }> =
      firstHour < lastHour
        ? [
            { granularity: minute, from, to: firstHour - minute.seconds },
            { granularity: hour, from: firstHour, to: lastHour - hour.seconds },
            { granularity: minute, from: lastHour },
          ]
        : [{ granularity: minute, from }];
    const buckets = [...query.appIds, ...(query.includeUnregistered ? [UNREGISTERED] : [])];
    const reads = buckets.flatMap((bucket) =>
      Array.from({ length: COUNTER_SHARDS }, (_, shard) => shard).flatMap((shard) =>
        ranges
          .filter((r) => r.to === undefined || r.to >= r.from)
          .map((r) => {
            const pk = countsPartition(query.tenantId, bucket, r.granularity, shard);
            return this.queryAll(pk, timeKey(r.from), r.to === undefined ? undefined : timeKey(r.to));
          }),
      ),
    );
    return (await Promise.all(reads)).flat();
  }

  private async queryAll(pk: string, from: string, to: string | undefined): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: to === undefined ? '#pk = :pk AND #sk >= :from' : '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': { S: pk }, ':from': { S: from }, ...(to === undefined ? {} : { ':to': { S: to } }) },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

}

/**
 * A page of a log's entries, newest first across partitions (the attestation log's buckets and
 * shards, the build refusals', the test-token mints'): each partition gives its newest `limit`
 * items below the cursor, the union is sorted and cut at `limit`. A cursor is returned whenever a
 * partition may hold more than was taken.
 */
export async function newestFirstPage(
  client: DynamoDBClient,
  tableName: string,
  partitions: readonly string[],
  query: { since?: number; limit: number; cursor?: string },
): Promise<{ items: Item[]; cursor?: string }> {
  const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const since = query.since === undefined ? undefined : timeKey(query.since);
  if (before !== undefined && since !== undefined && before <= since) return { items: [] };
  const pages = await Promise.all(
    partitions.map(async (pk) => {
      const values: Item = { ':pk': { S: pk } };
      let condition = '#pk = :pk';
      if (before !== undefined && since !== undefined) {
        // BETWEEN is inclusive; the item at the cursor itself is dropped below.
        condition += ' AND #sk BETWEEN :since AND :before';
        values[':since'] = { S: since };
        values[':before'] = { S: before };
      } else if (before !== undefined) {
        condition += ' AND #sk < :before';
        values[':before'] = { S: before };
      } else if (since !== undefined) {
        condition += ' AND #sk >= :since';
        values[':since'] = { S: since };
      }
      const result = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: condition,
          // DynamoDB refuses names the expression does not use.
          ExpressionAttributeNames: condition.includes('#sk') ? { '#pk': PK, '#sk': SK } : { '#pk': PK },
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          // One more than asked, so a partition's "there is more" does not depend on LastEvaluatedKey alone.
          Limit: query.limit + 1,
        }),
      );
      const items = (result.Items ?? []).filter((item) => item[SK]?.S !== before);
      return { items, more: items.length > query.limit || result.LastEvaluatedKey !== undefined };
    }),
  );
  const all = pages.flatMap((p) => p.items).sort((a, b) => ((a[SK]?.S ?? '') < (b[SK]?.S ?? '') ? 1 : -1));
  const items = all.slice(0, query.limit);
  const more = all.length > query.limit || pages.some((p) => p.more);
  const last = items[items.length - 1]?.[SK]?.S;
  return { items, ...(more && last !== undefined ? { cursor: encodeCursor(last) } : {}) };
}
