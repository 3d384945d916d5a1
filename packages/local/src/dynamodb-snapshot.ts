/**
 * The tables as one JSON file, for a data directory deleted while the service ran. LevelDB keeps
 * serving from the files it holds open, but writes its next files into a directory that is gone,
 * and a restart would find nothing; so the running service reads every item back out through the
 * DynamoDB API into `dynamodb-snapshot.json` (when it notices the deletion, and again when it
 * stops), and the next start, on a fresh database, puts them back.
 */
import { BatchWriteItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export const DYNAMODB_SNAPSHOT_FILE = 'dynamodb-snapshot.json';

type Item = Record<string, AttributeValue>;

interface Snapshot {
  readonly version: 1;
  readonly takenAt: string;
  readonly tables: Record<string, Item[]>;
}

/** Scans every table into `file` (write-then-rename); returns the number of items. */
export async function writeSnapshot(client: DynamoDBClient, tables: readonly string[], file: string): Promise<number> {
  const snapshot: Snapshot = { version: 1, takenAt: new Date().toISOString(), tables: {} };
  let count = 0;
  for (const table of tables) {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    snapshot.tables[table] = items;
    count += items.length;
  }
  writeFileSync(`${file}.tmp`, JSON.stringify(snapshot), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return count;
}

/** Puts the items of `file` back and removes it; undefined when there is no snapshot. */
export async function importSnapshot(client: DynamoDBClient, file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const snapshot = JSON.parse(text) as Partial<Snapshot>;
  if (snapshot.version !== 1 || typeof snapshot.tables !== 'object' || snapshot.tables === null) {
    throw new Error(`${file} is not a table snapshot this version can read: move it away to start without it`);
  }
  let count = 0;
  for (const [table, items] of Object.entries(snapshot.tables)) {
    // BatchWriteItem takes 25 puts at a time and may hand some back unprocessed.
    for (let i = 0; i < items.length; i += 25) {
      let requests: Record<string, Array<{ PutRequest: { Item: Item } }>> | undefined = {
        [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
      };
      while (requests && Object.keys(requests).length > 0) {
        const result = await client.send(new BatchWriteItemCommand({ RequestItems: requests }));
        requests = result.UnprocessedItems as typeof requests;
      }
    }
    count += items.length;
  }
  rmSync(file, { force: true });
  return count;
}
