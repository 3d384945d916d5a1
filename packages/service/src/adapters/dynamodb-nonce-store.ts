/**
 * Nonces in DynamoDB (layout NONCES_TABLE in tables.ts). Single use rests on one conditional
 * DeleteItem: DynamoDB applies a condition and its write atomically per item, so of any number of
 * concurrent consumes exactly one sees the item and deletes it. A read-then-delete would let two
 * callers both see the item.
 */
import {
  DeleteItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { NonceRecord, NonceStore } from '../core/ports';
import { NONCES_TABLE } from '@attestor/contracts/tables';
import { isConditionalCheckFailed, translateDynamoDbError } from './dynamodb-errors';

/**
 * `ttl` repeats `expiresAt` for DynamoDB's TTL sweeper, which deletes expired items only eventually
 * (often hours later). Expiry is therefore also enforced by the consume condition on `expiresAt`.
 */
export function nonceToItem(record: NonceRecord): Record<string, AttributeValue> {
  return {
    [NONCES_TABLE.partitionKey]: { S: record.nonceId },
    appId: { S: record.appId },
    expiresAt: { N: String(record.expiresAt) },
    [NONCES_TABLE.ttlAttribute ?? 'ttl']: { N: String(record.expiresAt) },
  };
}

export class DynamoDbNonceStore implements NonceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async put(record: NonceRecord): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: nonceToItem(record) }));
    } catch (error) {
      throw translateDynamoDbError(error);
    }
  }

  async consume(nonceId: string, appId: string, nowSeconds: number): Promise<NonceRecord | undefined> {
    try {
      const { Attributes: removed } = await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [NONCES_TABLE.partitionKey]: { S: nonceId } },
          // Names go through placeholders so no attribute can collide with a DynamoDB reserved word.
          ConditionExpression: 'attribute_exists(#id) AND #appId = :appId AND #expiresAt > :now',
          ExpressionAttributeNames: { '#id': NONCES_TABLE.partitionKey, '#appId': 'appId', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':appId': { S: appId }, ':now': { N: String(nowSeconds) } },
          // What was removed comes back in the same round trip, so that restore can put it back as it was.
          ReturnValues: 'ALL_OLD',
        }),
      );
      const expiresAt = Number(removed?.['expiresAt']?.N);
      return { nonceId, appId, expiresAt: Number.isFinite(expiresAt) ? expiresAt : nowSeconds + 1 };
    } catch (error) {
      // Unknown, already used, expired or another app's nonce: all the same answer, and the item
      // (if any) is left untouched, so a wrong appId cannot burn someone else's nonce.
      if (isConditionalCheckFailed(error)) return undefined;
      throw translateDynamoDbError(error);
    }
  }

  /**
   * Conditional on absence: nonce ids are hashes of 32 random bytes, so an item with the id can only
   * be this nonce put back already (a retried restore), never one to overwrite.
   */
  async restore(record: NonceRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: nonceToItem(record),
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': NONCES_TABLE.partitionKey },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) return;
      throw translateDynamoDbError(error);
    }
  }
}
