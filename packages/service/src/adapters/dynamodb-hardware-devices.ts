/**
 * Hardware device records in DynamoDB (layout HARDWARE_DEVICES_TABLE in tables.ts), one item per App
 * Attest key or Android install key: pk `<platform>#<appId>#<id>`, so each install is a partition
 * of its own and no app's traffic concentrates on one. Replay protection rests on two conditional
 * writes, each atomic per item: a record is created only if absent (an App Attest key attests once),
 * and an App Attest counter moves from the value read to the new one only if nobody moved it since,
 * so of two concurrent assertions with one counter exactly one gets through.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { HARDWARE_DEVICES_TABLE } from '@attestor/contracts/tables';
import { recordRef, type HardwareDeviceRecord, type HardwareDeviceRecords, type HardwareRecordRef } from '../core/hardware/ports';
import { isConditionalCheckFailed, translateDynamoDbError } from './dynamodb-errors';

const PK = HARDWARE_DEVICES_TABLE.partitionKey;
const TTL = HARDWARE_DEVICES_TABLE.ttlAttribute ?? 'ttl';

/** `#` occurs in no app id, base64url key id or did, so no two refs share a key. */
export function hardwareRecordKey(ref: HardwareRecordRef): string {
  return `${ref.platform}#${ref.appId}#${ref.id}`;
}

export function hardwareRecordToItem(record: HardwareDeviceRecord): Record<string, AttributeValue> {
  return {
    ...marshall(record, { removeUndefinedValues: true, convertTopLevelContainer: false }),
    [PK]: { S: hardwareRecordKey(recordRef(record)) },
    // DynamoDB's TTL sweeper removes expired records eventually; attest checks expiresAt itself.
    [TTL]: { N: String(record.expiresAt) },
  };
}

export function hardwareRecordFromItem(item: Record<string, AttributeValue>): HardwareDeviceRecord | undefined {
  const { [PK]: _pk, [TTL]: _ttl, ...fields } = unmarshall(item);
  const record = fields as Partial<HardwareDeviceRecord>;
  // Written only by this adapter; anything else in the table is not a record.
  if (typeof record.appId !== 'string' || typeof record.did !== 'string' || typeof record.createdAt !== 'number' || typeof record.expiresAt !== 'number')
    return undefined;
  if (record.platform === 'ios' && typeof record.keyId === 'string' && typeof record.counter === 'number' && record.publicKey)
    return record as HardwareDeviceRecord;
  if (record.platform === 'android' && Array.isArray(record.serials) && Array.isArray(record.signatureDigests)) return record as HardwareDeviceRecord;
  return undefined;
}

export class DynamoDbHardwareDeviceRecords implements HardwareDeviceRecords {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(ref: HardwareRecordRef): Promise<HardwareDeviceRecord | undefined> {
    try {
      const { Item } = await this.client.send(
        // Strongly consistent: an assertion right after its key's attestation must see the record, and the latest counter.
        new GetItemCommand({ TableName: this.tableName, Key: { [PK]: { S: hardwareRecordKey(ref) } }, ConsistentRead: true }),
      );
      return Item ? hardwareRecordFromItem(Item) : undefined;
    } catch (error) {
      throw translateDynamoDbError(error);
    }
  }

  async create(record: HardwareDeviceRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: hardwareRecordToItem(record),
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

  async advanceCounter(ref: HardwareRecordRef, from: number, to: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [PK]: { S: hardwareRecordKey(ref) } },
          // Compare-and-set: the counter this request read and verified against must still be there.
          ConditionExpression: 'attribute_exists(#pk) AND #counter = :from',
          UpdateExpression: 'SET #counter = :to',
          ExpressionAttributeNames: { '#pk': PK, '#counter': 'counter' },
          ExpressionAttributeValues: { ':from': { N: String(from) }, ':to': { N: String(to) } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw translateDynamoDbError(error);
    }
  }
}
