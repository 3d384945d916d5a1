/**
 * The ReplayLedger over DynamoDB (layout TOKEN_LEDGER_TABLE in tables.ts): consumed ids of
 * single-use tokens and proof-of-possession JWTs, shared by every authorizer container. Single use
 * rests on one conditional PutItem: DynamoDB applies a condition and its write atomically per item,
 * so of any number of concurrent consumes of one id exactly one writes it.
 */
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Clock } from '../core/ports';
import type { ReplayLedger } from '@attestor/verify/core/replay';
import { isConditionalCheckFailed } from './dynamodb-errors';
import { TOKEN_LEDGER_TABLE } from '@attestor/contracts/tables';

const TTL_ATTRIBUTE = TOKEN_LEDGER_TABLE.ttlAttribute ?? 'ttl';

/** ReplayLedger over one DynamoDB table; `clock` decides when a recorded id has expired. */
export class DynamoDbTokenLedger implements ReplayLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async consume(id: string, expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { [TOKEN_LEDGER_TABLE.partitionKey]: { S: id }, [TTL_ATTRIBUTE]: { N: String(expiresAt) } },
          // DynamoDB's TTL sweeper deletes expired items only eventually, so an item past its ttl
          // counts as absent: the id it held can no longer be accepted anyway (token or proof expired).
          ConditionExpression: 'attribute_not_exists(#id) OR #ttl <= :now',
          ExpressionAttributeNames: { '#id': TOKEN_LEDGER_TABLE.partitionKey, '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': { N: String(this.clock.nowSeconds()) } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
