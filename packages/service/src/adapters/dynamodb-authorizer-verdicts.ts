/**
 * The authorizer's verdicts as counter items in the attestation log table, where no CloudWatch
 * holds the TokenVerdicts metric: the local cloud's authorizer adds to them (`count`) and its stats
 * read them (`verdictsByMinute`). Layout: @attestor/contracts/metrics VERDICT_COUNTS_PARTITION_PREFIX.
 */
import { QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AUTHORIZER_VERDICTS,
  VERDICT_COUNTER_ATTRIBUTE,
  VERDICT_COUNTS_PARTITION_PREFIX,
  type AuthorizerVerdictName,
} from '@attestor/contracts/metrics';
import { ATTESTATION_LOG_TABLE } from '@attestor/contracts/tables';
import type { AuthorizerVerdictCounts, AuthorizerVerdictPoint } from '../core/ports';

const PK = ATTESTATION_LOG_TABLE.partitionKey;
const SK = ATTESTATION_LOG_TABLE.sortKey ?? 'sk';
const TTL = ATTESTATION_LOG_TABLE.ttlAttribute ?? 'ttl';
const MINUTE = 60;
/** Longer than the longest series (a day) reads, with room for a clock that is off. */
export const VERDICT_COUNTER_RETENTION_SECONDS = 2 * 86400;

const partition = (tenantId: string, appId: string) => `${VERDICT_COUNTS_PARTITION_PREFIX}${tenantId}#${appId}`;
const minuteKey = (time: number) => String(Math.max(0, Math.floor(time / MINUTE) * MINUTE)).padStart(10, '0');

export class DynamoDbAuthorizerVerdicts implements AuthorizerVerdictCounts {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** One verdict of the tenant's authorizer at `time` (unix seconds), added to its minute's item (created by the first ADD). */
  async count(verdict: { readonly tenantId: string; readonly appId: string; readonly verdict: AuthorizerVerdictName; readonly time: number }): Promise<void> {
    const start = Number(minuteKey(verdict.time));
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [PK]: { S: partition(verdict.tenantId, verdict.appId) }, [SK]: { S: minuteKey(verdict.time) } },
        UpdateExpression: 'SET #ttl = :ttl ADD #v :one',
        ExpressionAttributeNames: { '#ttl': TTL, '#v': `${VERDICT_COUNTER_ATTRIBUTE}${verdict.verdict}` },
        ExpressionAttributeValues: { ':one': { N: '1' }, ':ttl': { N: String(start + MINUTE + VERDICT_COUNTER_RETENTION_SECONDS) } },
      }),
    );
  }

  async verdictsByMinute(query: { tenantId: string; appIds: readonly string[]; since: number; until: number }): Promise<AuthorizerVerdictPoint[]> {
    const from = minuteKey(query.since);
    const to = minuteKey(query.until);
    const perApp = await Promise.all(
      query.appIds.map(async (appId) => (await this.queryAll(partition(query.tenantId, appId), from, to)).map((item) => pointOf(appId, item))),
    );
    return perApp.flat().sort((a, b) => a.time - b.time || a.appId.localeCompare(b.appId));
  }

  private async queryAll(pk: string, from: string, to: string): Promise<Array<Record<string, AttributeValue>>> {
    const items: Array<Record<string, AttributeValue>> = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':pk': { S: pk }, ':from': { S: from }, ':to': { S: to } },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function pointOf(appId: string, item: Record<string, AttributeValue>): AuthorizerVerdictPoint {
  const counts: Partial<Record<AuthorizerVerdictName, number>> = {};
  for (const verdict of AUTHORIZER_VERDICTS) {
    const value = Number(item[`${VERDICT_COUNTER_ATTRIBUTE}${verdict}`]?.N ?? 0);
    if (value > 0) counts[verdict] = value;
  }
  return { time: Number(item[SK]?.S ?? 0), appId, counts };
}
