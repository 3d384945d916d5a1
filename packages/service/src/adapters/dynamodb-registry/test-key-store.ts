/**
 * A tenant's test-token secrets (PROTOCOL.md §5.7), wrapped, in the registry beside its signing keys:
 *   KEYS#<tenantId> / TESTKEY#<kid>
 * Outside the KEY# range, so no reader of signing keys (attest, the key admin routes) ever lists one,
 * and inside the tenant's key partition, so an authorizer that accepts test tokens reads them with
 * the Query on that partition it already has.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { REGISTRY_PARTITIONS } from '@attestor/contracts/tables';
import { KeyConflictError } from '../../core/errors';
import { keyAttributes, MalformedItemError, type Item } from './items';
import { RegistryTable } from './table';

/** A test secret as stored: only ever wrapped, under the tenant's secrets key and the test encryption context. */
export interface TestKeyRecord {
  readonly tenantId: string;
  readonly kid: string;
  /** The KMS key that wraps it (the tenant's secrets key). */
  readonly keyId: string;
  /** base64 of the KMS ciphertext. */
  readonly wrappedSecret: string;
  readonly createdAt: number;
}

/** What the test-token adapter needs of the registry. */
export interface TestKeyStore {
  /** The test secrets in use, newest first: never a retired one. */
  listTestKeys(tenantId: string): Promise<TestKeyRecord[]>;
  /** Refuses (KeyConflictError) a kid already recorded. */
  putTestKey(record: TestKeyRecord): Promise<void>;
  /**
   * Takes a test secret out of use for good (a rotation): the record stays, marked retired at `time`,
   * since the functions that write key records delete none (docs/DEPLOY.md, least privilege).
   */
  retireTestKey(tenantId: string, kid: string, time: number): Promise<void>;
}

const TEST_KEY = 'TESTKEY#';
/** Set on a retired test secret's item; a retired secret is never listed again. */
const RETIRED_AT = 'retiredAt';
const testKeyItemKey = (tenantId: string, kid: string) => ({ pk: `${REGISTRY_PARTITIONS.tenantKeys}${tenantId}`, sk: `${TEST_KEY}${kid}` });

function recordFromItem(item: Item): TestKeyRecord {
  const v = unmarshall(item) as Record<string, unknown>;
  const text = (name: string) => {
    const value = v[name];
    if (typeof value !== 'string' || value === '') throw new MalformedItemError(`test key item lacks ${name}`);
    return value;
  };
  if (typeof v['createdAt'] !== 'number') throw new MalformedItemError('test key item lacks createdAt');
  return { tenantId: text('tenantId'), kid: text('kid'), keyId: text('keyId'), wrappedSecret: text('wrappedSecret'), createdAt: v['createdAt'] };
}

export class DynamoDbTestKeyStore implements TestKeyStore {
  private readonly table: RegistryTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new RegistryTable(client, tableName);
  }

  async listTestKeys(tenantId: string): Promise<TestKeyRecord[]> {
    const items = await this.table.query({ pk: `${REGISTRY_PARTITIONS.tenantKeys}${tenantId}`, prefix: TEST_KEY });
    return items
      .filter((item) => item[RETIRED_AT] === undefined)
      .map(recordFromItem)
      .sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  async retireTestKey(tenantId: string, kid: string, time: number): Promise<void> {
    // Retired once: a second rotation leaves the first retirement's time as it was.
    await this.table.update(testKeyItemKey(tenantId, kid), {
      update: 'SET #retiredAt = :time',
      condition: 'attribute_not_exists(#retiredAt)',
      names: { '#retiredAt': RETIRED_AT },
      values: { ':time': { N: String(time) } },
    });
  }

  async putTestKey(record: TestKeyRecord): Promise<void> {
    const item = { ...keyAttributes(testKeyItemKey(record.tenantId, record.kid)), ...marshall({ ...record }) };
    if (!(await this.table.putIfAbsent(item))) throw new KeyConflictError(record.tenantId, record.kid);
  }
}
