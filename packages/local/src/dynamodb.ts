/**
 * DynamoDB for the local cloud: dynalite (the DynamoDB API over LevelDB) on 127.0.0.1, and the
 * bootstrap that creates the tables the CDK stack creates in AWS, from the same layouts.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeDefinition,
  type AttributeValue,
  type DynamoDBClient,
  type KeySchemaElement,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { processIsAlive } from '@attestor/contracts/local-state';
import {
  ATTESTATION_LOG_TABLE,
  HARDWARE_DEVICES_TABLE,
  NONCES_TABLE,
  REGISTRY_PARTITIONS,
  REGISTRY_TABLE,
  TOKEN_LEDGER_TABLE,
  type TableLayout,
} from '@attestor/contracts/tables';
import { listen } from './listen';

interface DynaliteOptions {
  /** LevelDB directory; absent keeps everything in memory. */
  path?: string;
  /** How long a new table stays CREATING (default 500 ms), like AWS's asynchronous creation. */
  createTableMs?: number;
}
// dynalite ships no type declarations; this is the part of its API used here.
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;

export interface LocalDynamo {
  /** http://127.0.0.1:<port>, for the `endpoint` of a DynamoDBClient. */
  readonly endpoint: string;
  close(): Promise<void>;
}

const OWNER_FILE = 'attestor-owner.pid';

/** Who holds a data directory's database: the pid in its owner file, while that process runs. */
export function dynamoOwner(dataDir: string): number | undefined {
  let owner: number;
  try {
    owner = Number.parseInt(readFileSync(join(dataDir, OWNER_FILE), 'utf8'), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(owner) && owner > 0 && processIsAlive(owner) ? owner : undefined;
}

/**
 * Claims a data directory for this process. A second dynalite on a directory LevelDB has locked
 * does not fail: its database never opens and every request hangs (and closing it later throws an
 * unhandled iterator error). A pid file turns that into an immediate, explicit error; a file left
 * by a process that no longer runs is taken over.
 */
function claimDirectory(dataDir: string): () => void {
  const file = join(dataDir, OWNER_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = dynamoOwner(dataDir);
      if (owner !== undefined) {
        throw new Error(`${dataDir} is in use by process ${owner}${owner === process.pid ? ' (this one)' : ''}; stop it first`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not claim ${dataDir}`);
}

export async function startDynamo(options: {
  /** LevelDB directory, created if missing; undefined keeps data in memory. */
  dataDir?: string;
  /** 0 or undefined picks a free port. */
  port?: number;
}): Promise<LocalDynamo> {
  let release = () => {};
  if (options.dataDir !== undefined) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    release = claimDirectory(options.dataDir);
  }
  const server = dynalite(options.dataDir !== undefined ? { path: options.dataDir } : {});
  // If listening fails (a fixed port in use), the directory stays claimed until this process exits:
  // dynalite has already opened LevelDB and offers no way to close it without a running server.
  const port = await listen(server, options.port ?? 0, '127.0.0.1');
  const endpoint = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    // dynalite's close stops the server and then closes LevelDB, releasing its LOCK file, so the
    // same directory can be opened again once this resolves. Idempotent, as callers tear down in finally blocks.
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => {
          if (error) return reject(error);
          release();
          resolve();
        });
        // Idle keep-alive sockets of SDK clients would otherwise hold close() open.
        server.closeIdleConnections();
      })),
  };
}

function keySchema(layout: TableLayout): { keys: KeySchemaElement[]; attributes: AttributeDefinition[] } {
  const keys: KeySchemaElement[] = [{ AttributeName: layout.partitionKey, KeyType: 'HASH' }];
  if (layout.sortKey) keys.push({ AttributeName: layout.sortKey, KeyType: 'RANGE' });
  return { keys, attributes: keys.map((k) => ({ AttributeName: k.AttributeName, AttributeType: 'S' })) };
}

async function describe(client: DynamoDBClient, name: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: name }))).Table;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

const ACTIVE_TIMEOUT_MS = 30_000;
const POLL_MS = 50;

async function ensureTable(client: DynamoDBClient, name: string, layout: TableLayout): Promise<void> {
  const { keys, attributes } = keySchema(layout);
  let table = await describe(client, name);
  if (!table) {
    try {
      await client.send(
        new CreateTableCommand({ TableName: name, KeySchema: keys, AttributeDefinitions: attributes, BillingMode: 'PAY_PER_REQUEST' }),
      );
    } catch (error) {
      // Another process bootstrapping the same dynalite got there first: fine, it is the same table.
      if ((error as { name?: unknown }).name !== 'ResourceInUseException') throw error;
    }
    table = await describe(client, name);
  }
  // A table left over from an older layout would fail later with puzzling validation errors; fail here.
  const found = (table?.KeySchema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  const wanted = keys.map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
  if (found !== wanted) throw new Error(`table ${name} has key schema [${found}], expected [${wanted}]`);

  // CreateTable returns while the table is CREATING (as in AWS); writes before ACTIVE fail.
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  while (table?.TableStatus !== 'ACTIVE') {
    if (Date.now() > deadline) throw new Error(`table ${name} not ACTIVE after ${ACTIVE_TIMEOUT_MS} ms (status ${table?.TableStatus})`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    table = await describe(client, name);
  }
  // No UpdateTimeToLive: dynalite does not implement it (UnknownOperationException), and locally
  // nothing depends on TTL deletion, since nonce expiry is enforced by the consume condition. In
  // AWS the CDK stack turns TTL on from NONCES_TABLE.ttlAttribute.
}

export interface TableNames {
  readonly nonces: string;
  readonly registry: string;
  readonly attestationLog?: string;
  readonly tokenLedger?: string;
  readonly hardwareDevices?: string;
}

/** Creates the tables if absent and waits until they are ACTIVE. Safe to repeat. */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all([
    ensureTable(client, names.nonces, NONCES_TABLE),
    ensureTable(client, names.registry, REGISTRY_TABLE),
    ...(names.attestationLog ? [ensureTable(client, names.attestationLog, ATTESTATION_LOG_TABLE)] : []),
    ...(names.tokenLedger ? [ensureTable(client, names.tokenLedger, TOKEN_LEDGER_TABLE)] : []),
    ...(names.hardwareDevices ? [ensureTable(client, names.hardwareDevices, HARDWARE_DEVICES_TABLE)] : []),
  ]);
}

/**
 * Moves tenant key records written before they had partitions of their own (TENANT#<tenant> /
 * KEY#<kid>, up to 0.1.0) to KEYS#<tenant> / KEY#<kid>, so a local cloud started on older data
 * keeps its tenants' keys. Returns how many it moved. A scan is fine for local data; in AWS
 * nothing was deployed with the old layout.
 */
export async function migrateTenantKeyRecords(client: DynamoDBClient, registryTable: string): Promise<number> {
  const { partitionKey: pk, sortKey: sk = 'sk' } = REGISTRY_TABLE;
  let moved = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: registryTable,
        FilterExpression: 'begins_with(#pk, :tenant) AND begins_with(#sk, :key)',
        ExpressionAttributeNames: { '#pk': pk, '#sk': sk },
        ExpressionAttributeValues: { ':tenant': { S: REGISTRY_PARTITIONS.tenant }, ':key': { S: 'KEY#' } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const tenantId = item[pk]!.S!.slice(REGISTRY_PARTITIONS.tenant.length);
      // Put first, delete second: an interrupted move leaves the record in both places, never in neither.
      await client.send(new PutItemCommand({ TableName: registryTable, Item: { ...item, [pk]: { S: `${REGISTRY_PARTITIONS.tenantKeys}${tenantId}` } } }));
      await client.send(new DeleteItemCommand({ TableName: registryTable, Key: { [pk]: item[pk]!, [sk]: item[sk]! } }));
      moved++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return moved;
}
