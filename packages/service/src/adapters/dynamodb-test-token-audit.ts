/**
 * The audit record of test-token mints (PROTOCOL.md §5.7), in the attestation log table beside the
 * tenant's other buckets (dynamodb-attestation-log.ts):
 *   TENANT#<tenantId>#~test-tokens / <time>#<jti>
 * Written by the minting function before it hands a token out; read by GET /v1/admin/log?kind=test-tokens.
 * Never the token: who, which app, how long, which claims were set, when. Kept as long as the log's
 * other entries (LOG_RETENTION_SECONDS, the table's TTL).
 */
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ATTESTATION_LOG_TABLE } from '@attestor/contracts/tables';
import type { TestTokenAuditEntry } from '@attestor/contracts/test-tokens';
import type { LogPage } from '../core/ports';
import type { TestTokenAudit } from '../core/test-tokens';
import { LOG_RETENTION_SECONDS, newestFirstPage, timeKey } from './dynamodb-attestation-log';
import { translateDynamoDbError } from './dynamodb-errors';

/** `~` cannot occur in an app id, so the bucket cannot collide with an app's. */
export const TEST_TOKEN_BUCKET = '~test-tokens';
const PK = ATTESTATION_LOG_TABLE.partitionKey;
const SK = ATTESTATION_LOG_TABLE.sortKey ?? 'sk';
const TTL = ATTESTATION_LOG_TABLE.ttlAttribute ?? 'ttl';

const partition = (tenantId: string) => `TENANT#${tenantId}#${TEST_TOKEN_BUCKET}`;

function entryFromItem(item: Record<string, AttributeValue>): TestTokenAuditEntry {
  const v = unmarshall(item) as Record<string, unknown>;
  const str = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : '');
  const num = (name: string) => (typeof v[name] === 'number' ? (v[name] as number) : 0);
  const names = v['claimNames'];
  return {
    time: num('time'),
    tenantId: str('tenantId'),
    principal: str('principal'),
    appId: str('appId'),
    ttlSeconds: num('ttlSeconds'),
    expiresAt: num('expiresAt'),
    kid: str('kid'),
    jti: str('jti'),
    claimNames: Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [],
  };
}

export class DynamoDbTestTokenAudit implements TestTokenAudit {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async recordTestTokenMint(entry: TestTokenAuditEntry): Promise<void> {
    const item = {
      ...marshall({ ...entry, claimNames: [...entry.claimNames] }),
      [PK]: { S: partition(entry.tenantId) },
      [SK]: { S: `${timeKey(entry.time)}#${entry.jti}` },
      [TTL]: { N: String(entry.time + LOG_RETENTION_SECONDS) },
    };
    try {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
    } catch (error) {
      throw translateDynamoDbError(error);
    }
  }

  /** The tenant's mints, newest first, at most `limit` from `since` on, after `cursor`. */
  async queryTestTokenMints(query: {
    readonly tenantId: string;
    readonly limit: number;
    readonly since?: number;
    readonly cursor?: string;
  }): Promise<LogPage<TestTokenAuditEntry>> {
    let page;
    try {
      page = await newestFirstPage(this.client, this.tableName, [partition(query.tenantId)], query);
    } catch (error) {
      throw translateDynamoDbError(error);
    }
    return { entries: page.items.map(entryFromItem), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }
}
