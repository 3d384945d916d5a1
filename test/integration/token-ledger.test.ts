/**
 * DynamoDbTokenLedger against dynalite over HTTP, through the real AWS SDK client: single use of
 * token ids and proof jtis must hold across concurrent requests, as it must across Lambda containers.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ensureTables, startDynamo, type LocalDynamo } from '../../packages/local/src/dynamodb';
import { DynamoDbTokenLedger } from '../../packages/service/src/adapters/dynamodb-token-ledger';
import { ManualClock } from '../support/memory';

const TABLES = { nonces: 'ledger-test-nonces', registry: 'ledger-test-registry', tokenLedger: 'ledger-test-token-ledger' };

let dynamo: LocalDynamo;
let client: DynamoDBClient;
let clock: ManualClock;
let ledger: DynamoDbTokenLedger;
let counter = 0;
const unique = (prefix: string) => `${prefix}#${++counter}#${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  dynamo = await startDynamo({});
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureTables(client, TABLES);
});

beforeEach(() => {
  clock = new ManualClock();
  ledger = new DynamoDbTokenLedger(client, TABLES.tokenLedger, clock);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

describe('DynamoDbTokenLedger', () => {
  it('of 100 concurrent consumes of one id, exactly one wins', async () => {
    // Prepare
    const id = unique('token');
    // Act
    const results = await Promise.all(Array.from({ length: 100 }, () => ledger.consume(id, clock.now + 300)));
    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('keeps ids apart', async () => {
    const [a, b] = [unique('token'), unique('proof')];
    expect(await ledger.consume(a, clock.now + 60)).toBe(true);
    expect(await ledger.consume(b, clock.now + 60)).toBe(true);
    expect(await ledger.consume(a, clock.now + 60)).toBe(false);
    expect(await ledger.consume(b, clock.now + 60)).toBe(false);
  });

  it('writes the expiry as the ttl attribute DynamoDB deletes items by', async () => {
    const id = unique('token');
    await ledger.consume(id, clock.now + 360);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLES.tokenLedger, Key: { id: { S: id } }, ConsistentRead: true }));
    expect(Item).toEqual({ id: { S: id }, ttl: { N: String(clock.now + 360) } });
  });

  it('treats an item past its ttl as gone (DynamoDB deletes expired items only eventually)', async () => {
    const id = unique('proof');
    expect(await ledger.consume(id, clock.now + 120)).toBe(true);
    clock.advance(119);
    expect(await ledger.consume(id, clock.now + 120)).toBe(false);
    clock.advance(1);
    expect(await ledger.consume(id, clock.now + 120)).toBe(true);
    expect(await ledger.consume(id, clock.now + 120)).toBe(false);
  });

  it('fails (so the authorizer denies) when the table does not exist', async () => {
    const missing = new DynamoDbTokenLedger(client, 'no-such-ledger', clock);
    await expect(missing.consume(unique('token'), clock.now + 60)).rejects.toThrow(/ResourceNotFound|not found/i);
  });
});
