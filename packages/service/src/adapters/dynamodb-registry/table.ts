/**
 * The registry table's few operations, shared by the registry adapters beside this module: reads
 * (strongly consistent where a change must be seen at once), puts, conditional puts and deletes,
 * updates of existing items only, and paged Queries. DynamoDB's errors are translated here once
 * (dynamodb-errors.ts): a throttled request surfaces as DependencyUnavailableError.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, translateDynamoDbError } from '../dynamodb-errors';
import { type Item, type ItemKey, type ItemRange, keyAttributes, PK, SK } from './items';

/** An UpdateItem expression, with its placeholders (`#pk` names the partition key). */
export interface ItemUpdate {
  readonly update: string;
  /** Besides the item existing, which every update requires. */
  readonly condition?: string;
  readonly names: Readonly<Record<string, string>>;
  readonly values: Item;
  /** Return the item as it is after the update. */
  readonly returnNew?: boolean;
}

export class RegistryTable {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(key: ItemKey, consistent: boolean): Promise<Item | undefined> {
    const command = new GetItemCommand({ TableName: this.tableName, Key: keyAttributes(key), ConsistentRead: consistent });
    const result = await this.send(() => this.client.send(command));
    return result.Item;
  }

  /** Reads an item just written or found by a conditional put; its absence means it was deleted in between. */
  async getWritten(key: ItemKey): Promise<Item> {
    const item = await this.get(key, true);
    if (!item) throw new Error(`registry item ${key.pk}/${key.sk} vanished after a conditional put`);
    return item;
  }

  async put(item: Item): Promise<void> {
    await this.send(() => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item })));
  }

  /** True if written, false if an item with the same key was already there. */
  async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw translateDynamoDbError(error);
    }
  }

  /**
   * Puts `item` if no item has its key, or if the one there satisfies `condition` (placeholders in
   * `names` and `values`). True if written.
   */
  async putIfAbsentOr(item: Item, change: Pick<ItemUpdate, 'condition' | 'names' | 'values'>): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: `attribute_not_exists(#pk) OR (${change.condition ?? 'attribute_exists(#pk)'})`,
          ExpressionAttributeNames: { '#pk': PK, ...change.names },
          ExpressionAttributeValues: change.values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw translateDynamoDbError(error);
    }
  }

  /** Deletes an item if it exists and satisfies `condition`; returns what it held, or undefined when nothing was deleted. */
  async deleteIf(key: ItemKey, change: Pick<ItemUpdate, 'condition' | 'names' | 'values'>): Promise<Item | undefined> {
    try {
      const result = await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: keyAttributes(key),
          ConditionExpression: `attribute_exists(#pk) AND (${change.condition ?? 'attribute_exists(#pk)'})`,
          ExpressionAttributeNames: { '#pk': PK, ...change.names },
          ExpressionAttributeValues: change.values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      return result.Attributes;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw translateDynamoDbError(error);
    }
  }

  /** Deletes an item and returns what it held, if anything. */
  async delete(key: ItemKey): Promise<Item | undefined> {
    const result = await this.send(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: keyAttributes(key), ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes && Object.keys(result.Attributes).length > 0 ? result.Attributes : undefined;
  }

  /**
   * Updates an existing item: without that condition UpdateItem would create a half-empty one for
   * an unknown key. Returns the item after the update (empty unless `returnNew`), or undefined when
   * the item is absent or `condition` fails.
   */
  async update(key: ItemKey, change: ItemUpdate): Promise<Item | undefined> {
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyAttributes(key),
          UpdateExpression: change.update,
          ConditionExpression: change.condition ? `attribute_exists(#pk) AND (${change.condition})` : 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK, ...change.names },
          ExpressionAttributeValues: change.values,
          ...(change.returnNew ? { ReturnValues: 'ALL_NEW' as const } : {}),
        }),
      );
      return result.Attributes ?? {};
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw translateDynamoDbError(error);
    }
  }

  /** Every item of the range, all pages, consistently. */
  async query(range: ItemRange): Promise<Item[]> {
    const { pk, prefix } = range;
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.send(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
            ExpressionAttributeNames: prefix ? { '#pk': PK, '#sk': SK } : { '#pk': PK },
            ExpressionAttributeValues: prefix ? { ':pk': { S: pk }, ':prefix': { S: prefix } } : { ':pk': { S: pk } },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private async send<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw translateDynamoDbError(error);
    }
  }
}
