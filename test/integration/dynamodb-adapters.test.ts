/**
 * The DynamoDB adapters against dynalite over HTTP, through the real AWS SDK client: the same
 * requests the Lambdas send to DynamoDB, conditional expressions included.
 */
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTables, migrateTenantKeyRecords, startDynamo, type LocalDynamo } from '../../packages/local/src/dynamodb';
import { DynamoDbNonceStore } from '../../packages/service/src/adapters/dynamodb-nonce-store';
import { DynamoDbAppStore, DynamoDbTenantApps } from '../../packages/service/src/adapters/dynamodb-registry/app-store';
import { DynamoDbAttestationCatalog } from '../../packages/service/src/adapters/dynamodb-registry/attestation-catalog';
import { DynamoDbDeviceStore } from '../../packages/service/src/adapters/dynamodb-registry/device-store';
import {
  MalformedItemError,
  policyFromItem,
  policyToItem,
  registrationFromItem,
  registrationToItem,
} from '../../packages/service/src/adapters/dynamodb-registry/items';
import { DynamoDbPolicyStore } from '../../packages/service/src/adapters/dynamodb-registry/policy-store';
import { DynamoDbRegistrationStore } from '../../packages/service/src/adapters/dynamodb-registry/registration-store';
import { DynamoDbTenantDirectory } from '../../packages/service/src/adapters/dynamodb-registry/tenant-directory';
import { DynamoDbTenantKeyStore, KeyConflictError } from '../../packages/service/src/adapters/dynamodb-registry/tenant-key-store';
import { DynamoDbUploadStore } from '../../packages/service/src/adapters/dynamodb-registry/upload-store';
import { DEFAULT_POLICY, type Policy } from '../../packages/service/src/core/policy';
import type { RegistrationRecord, TenantKeyRecord, UploadRecord } from '../../packages/service/src/core/ports';

const NOW = 1_800_000_000;
const TABLES = { nonces: 'test-nonces', registry: 'test-registry' };

function clientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

let dynamo: LocalDynamo;
let client: DynamoDBClient;
let nonces: DynamoDbNonceStore;
// The registry's adapters, one per port, all over the one table.
let apps: DynamoDbTenantApps;
let registrations: DynamoDbRegistrationStore;
let policies: DynamoDbPolicyStore;
let devices: DynamoDbDeviceStore;
let uploads: DynamoDbUploadStore;
let keyRecords: DynamoDbTenantKeyStore;
let tenants: DynamoDbTenantDirectory;
let counter = 0;
/** Fresh ids per test, so tests sharing one table cannot see each other's items. */
const unique = (prefix: string) => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  dynamo = await startDynamo({});
  client = clientFor(dynamo.endpoint);
  await ensureTables(client, TABLES);
  nonces = new DynamoDbNonceStore(client, TABLES.nonces);
  apps = new DynamoDbTenantApps(client, TABLES.registry);
  registrations = new DynamoDbRegistrationStore(client, TABLES.registry);
  policies = new DynamoDbPolicyStore(client, TABLES.registry);
  devices = new DynamoDbDeviceStore(client, TABLES.registry);
  uploads = new DynamoDbUploadStore(client, TABLES.registry);
  keyRecords = new DynamoDbTenantKeyStore(client, TABLES.registry);
  tenants = new DynamoDbTenantDirectory(client, TABLES.registry);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

describe('ensureTables', () => {
  it('is idempotent on existing tables', async () => {
    await expect(ensureTables(client, TABLES)).resolves.toBeUndefined();
  });

  it('refuses an existing table whose key schema differs from the layout', async () => {
    // Prepare
    await client.send(
      new CreateTableCommand({
        TableName: 'test-wrong-schema',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      }),
    );
    // Act / Assess
    await expect(ensureTables(client, { nonces: 'test-wrong-schema', registry: TABLES.registry })).rejects.toThrow(/key schema/);
  });
});

describe('DynamoDbNonceStore', () => {
  it('consumes a stored nonce once', async () => {
    // Prepare
    const nonceId = unique('n');
    await nonces.put({ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 });
    // Act
    const first = await nonces.consume(nonceId, 'com.example.app', NOW);
    const second = await nonces.consume(nonceId, 'com.example.app', NOW);
    // Assess
    expect(first).toEqual({ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 });
    expect(second).toBeUndefined();
  });

  it('stores expiresAt and the TTL attribute as numbers', async () => {
    const nonceId = unique('n');
    await nonces.put({ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 });
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLES.nonces, Key: { nonceId: { S: nonceId } }, ConsistentRead: true }));
    expect(Item).toEqual({
      nonceId: { S: nonceId },
      appId: { S: 'com.example.app' },
      expiresAt: { N: String(NOW + 60) },
      ttl: { N: String(NOW + 60) },
    });
  });

  it('refuses an unknown nonce', async () => {
    await expect(nonces.consume(unique('n'), 'com.example.app', NOW)).resolves.toBeUndefined();
  });

  it('refuses an expired nonce, including at the exact expiry second', async () => {
    const nonceId = unique('n');
    await nonces.put({ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 });
    await expect(nonces.consume(nonceId, 'com.example.app', NOW + 60)).resolves.toBeUndefined();
    await expect(nonces.consume(nonceId, 'com.example.app', NOW + 3600)).resolves.toBeUndefined();
  });

  it("refuses another app's nonce without consuming it", async () => {
    // Prepare
    const nonceId = unique('n');
    await nonces.put({ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 });
    // Act
    const wrongApp = await nonces.consume(nonceId, 'com.example.other', NOW);
    const rightApp = await nonces.consume(nonceId, 'com.example.app', NOW);
    // Assess
    expect(wrongApp).toBeUndefined();
    expect(rightApp).toBeDefined();
  });

  it('lets exactly one of 50 concurrent consumes succeed', async () => {
    // Prepare
    const nonceId = unique('n');
    await nonces.put({ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 });
    // Act
    const results = await Promise.all(Array.from({ length: 50 }, () => nonces.consume(nonceId, 'com.example.app', NOW)));
    // Assess
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('puts a consumed nonce back as it was, once, and never over a live one', async () => {
    // Prepare
    const nonceId = unique('n');
    await nonces.put({ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 });
    const removed = await nonces.consume(nonceId, 'com.example.app', NOW);
    // Act: a retried restore must not fail, and the nonce is single-use again after it
    await nonces.restore(removed!);
    await nonces.restore(removed!);
    const again = await Promise.all(Array.from({ length: 20 }, () => nonces.consume(nonceId, 'com.example.app', NOW)));
    // Assess
    expect(again.filter(Boolean)).toEqual([{ nonceId, appId: 'com.example.app', expiresAt: NOW + 60 }]);
    await expect(nonces.consume(nonceId, 'com.example.app', NOW + 60)).resolves.toBeUndefined();
  });
});

describe('DynamoDbAppStore', () => {
  it('returns undefined for an unknown app', async () => {
    await expect(apps.getApp(unique('app'))).resolves.toBeUndefined();
  });

  it('creates an app and never moves it to another tenant', async () => {
    // Prepare
    const appId = unique('com.example');
    // Act
    const created = await apps.ensureApp({ appId, tenantId: 'tenant-a', createdAt: NOW });
    const again = await apps.ensureApp({ appId, tenantId: 'tenant-b', createdAt: NOW + 10 });
    // Assess
    expect(created).toEqual({ app: { appId, tenantId: 'tenant-a', createdAt: NOW }, created: true });
    expect(again).toEqual({ app: created.app, created: false });
    await expect(apps.getApp(appId)).resolves.toEqual(created.app);
  });

  it('settles concurrent ensureApp calls from two tenants on one owner', async () => {
    const appId = unique('com.example');
    const [a, b] = await Promise.all([
      apps.ensureApp({ appId, tenantId: 'tenant-a', createdAt: NOW }),
      apps.ensureApp({ appId, tenantId: 'tenant-b', createdAt: NOW }),
    ]);
    expect(a.app.tenantId).toBe(b.app.tenantId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
  });

  it('says created to exactly one of many concurrent calls of one tenant', async () => {
    const appId = unique('com.example');
    const results = await Promise.all(Array.from({ length: 10 }, () => apps.ensureApp({ appId, tenantId: 'tenant-a', createdAt: NOW })));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});

describe('DynamoDbRegistrationStore', () => {
  const registration = (appId: string, sha256: string, extra: Partial<RegistrationRecord> = {}): RegistrationRecord => ({
    appId,
    version: '1.2.3',
    sha256,
    size: 123_456_789,
    objectKey: `builds/${appId}/1.2.3/upload0123456789ab`,
    registeredAt: NOW,
    ...extra,
  });

  it('writes a registration once and returns the stored one on repeats', async () => {
    // Prepare
    const appId = unique('com.example');
    const first = registration(appId, 'a'.repeat(64), { expiresAt: NOW + 86_400, note: 'release build' });
    // Act
    const stored = await registrations.putRegistrationIfAbsent(first);
    const repeated = await registrations.putRegistrationIfAbsent(first);
    // Assess
    expect(stored).toEqual(first);
    expect(repeated).toEqual(first);
    await expect(registrations.getRegistration(appId, '1.2.3')).resolves.toEqual(first);
  });

  it('does not overwrite a registration with a different digest', async () => {
    // Prepare
    const appId = unique('com.example');
    const original = registration(appId, 'a'.repeat(64));
    await registrations.putRegistrationIfAbsent(original);
    // Act
    const result = await registrations.putRegistrationIfAbsent(registration(appId, 'b'.repeat(64), { registeredAt: NOW + 5 }));
    // Assess
    expect(result).toEqual(original);
    await expect(registrations.getRegistration(appId, '1.2.3')).resolves.toEqual(original);
  });

  it('keeps optional fields absent rather than stored empty', async () => {
    const appId = unique('com.example');
    const stored = await registrations.putRegistrationIfAbsent(registration(appId, 'c'.repeat(64)));
    expect(stored).not.toHaveProperty('expiresAt');
    expect(stored).not.toHaveProperty('note');
  });

  it('returns undefined for an unknown version', async () => {
    await expect(registrations.getRegistration(unique('com.example'), '9.9.9')).resolves.toBeUndefined();
  });

  it('stores numbers as DynamoDB numbers', async () => {
    // Prepare
    const appId = unique('com.example');
    await registrations.putRegistrationIfAbsent(registration(appId, 'd'.repeat(64), { expiresAt: NOW + 1 }));
    // Act
    const { Item } = await client.send(
      new GetItemCommand({ TableName: TABLES.registry, Key: { pk: { S: `APP#${appId}` }, sk: { S: 'VER#1.2.3' } }, ConsistentRead: true }),
    );
    // Assess
    expect(Item?.['size']).toEqual({ N: '123456789' });
    expect(Item?.['registeredAt']).toEqual({ N: String(NOW) });
    expect(Item?.['expiresAt']).toEqual({ N: String(NOW + 1) });
  });
});

describe('DynamoDbPolicyStore', () => {
  it('returns undefined when an app has no policy', async () => {
    await expect(policies.getPolicy(unique('com.example'))).resolves.toBeUndefined();
  });

  it('reads a stored policy back', async () => {
    // Prepare
    const appId = unique('com.example');
    const policy: Policy = { reject: { rooted: true, emulator: false, debugger: true, hooked: true }, minSdkVersion: '1.4.0' };
    await client.send(new PutItemCommand({ TableName: TABLES.registry, Item: policyToItem(appId, policy) }));
    // Act / Assess
    await expect(policies.getPolicy(appId)).resolves.toEqual(policy);
  });

  it('ignores the tokenTtlSeconds a protocol 1 policy stored', async () => {
    const appId = unique('com.example');
    const item = policyToItem(appId, { reject: DEFAULT_POLICY.reject });
    await client.send(new PutItemCommand({ TableName: TABLES.registry, Item: { ...item, tokenTtlSeconds: { N: '120' } } }));
    await expect(policies.getPolicy(appId)).resolves.toEqual({ reject: DEFAULT_POLICY.reject });
  });
});

describe('DynamoDbAttestationCatalog.appSnapshot', () => {
  it("reads an app, its policy, registrations and devices in one Query, and nothing of another app", async () => {
    // Prepare
    const appId = unique('com.example');
    const other = `${appId}x`;
    await apps.ensureApp({ appId, tenantId: 't', createdAt: NOW });
    await policies.putPolicy(appId, { reject: { ...DEFAULT_POLICY.reject, rooted: true } });
    for (const version of ['1.0.0', '1.1.0']) {
      await registrations.putRegistrationIfAbsent({
        appId,
        version,
        sha256: 'a'.repeat(64),
        size: 1,
        objectKey: `builds/${appId}/${version}/u`,
        registeredAt: NOW,
      });
    }
    await devices.putDeviceIfAbsent({ appId, deviceId: 'did-1', kind: 'install', did: 'did-1', createdAt: NOW });
    await apps.ensureApp({ appId: other, tenantId: 't', createdAt: NOW });
    await registrations.putRegistrationIfAbsent({ appId: other, version: '9.0.0', sha256: 'b'.repeat(64), size: 1, objectKey: 'k', registeredAt: NOW });
    const queries: string[] = [];
    const counting = clientFor(dynamo.endpoint);
    counting.middlewareStack.add((next, context) => (args) => (queries.push(String(context.commandName)), next(args)), { step: 'initialize', name: 'count' });

    // Act
    const snapshot = await new DynamoDbAttestationCatalog(counting, TABLES.registry).appSnapshot(appId);
    const unknown = await new DynamoDbAttestationCatalog(counting, TABLES.registry).appSnapshot(unique('com.unknown'));

    // Assess
    expect(queries).toEqual(['QueryCommand', 'QueryCommand']);
    expect(snapshot.app).toMatchObject({ appId, tenantId: 't' });
    expect(snapshot.policy?.reject.rooted).toBe(true);
    expect([...snapshot.registrations.keys()].sort()).toEqual(['1.0.0', '1.1.0']);
    expect([...snapshot.devices.keys()]).toEqual(['did-1']);
    expect(unknown).toEqual({ registrations: new Map(), devices: new Map() });
    counting.destroy();
  });
});

describe('DynamoDbUploadStore', () => {
  const upload = (uploadId: string): UploadRecord => ({
    uploadId,
    appId: 'com.example.app',
    version: '2.0.0',
    objectKey: `builds/com.example.app/2.0.0/${uploadId}`,
    status: 'pending',
    createdAt: NOW,
    expireAfterSeconds: 3600,
    note: 'beta',
  });

  it('stores and reads an upload', async () => {
    const record = upload(unique('up'));
    await uploads.putUpload(record);
    await expect(uploads.getUpload(record.uploadId)).resolves.toEqual(record);
  });

  it('returns undefined for an unknown upload', async () => {
    await expect(uploads.getUpload(unique('up'))).resolves.toBeUndefined();
  });

  it('settles a pending upload', async () => {
    // Prepare
    const record = upload(unique('up'));
    await uploads.putUpload(record);
    // Act
    await uploads.settleUpload(record.uploadId, { status: 'registered', sha256: 'e'.repeat(64), size: 42 });
    // Assess
    await expect(uploads.getUpload(record.uploadId)).resolves.toEqual({ ...record, status: 'registered', sha256: 'e'.repeat(64), size: 42 });
  });

  it('leaves a settled upload as it is, without an error', async () => {
    // Prepare
    const record = upload(unique('up'));
    await uploads.putUpload(record);
    await uploads.settleUpload(record.uploadId, { status: 'rejected', reason: 'too_large' });
    // Act
    await uploads.settleUpload(record.uploadId, { status: 'registered', sha256: 'f'.repeat(64), size: 7 });
    // Assess
    await expect(uploads.getUpload(record.uploadId)).resolves.toEqual({ ...record, status: 'rejected', reason: 'too_large' });
  });

  it('does not create an upload when settling an unknown id', async () => {
    const uploadId = unique('up');
    await uploads.settleUpload(uploadId, { status: 'rejected', reason: 'unknown' });
    await expect(uploads.getUpload(uploadId)).resolves.toBeUndefined();
  });
});

describe('DynamoDbTenantKeyStore', () => {
  const key = (tenantId: string, kid: string, createdAt: number): TenantKeyRecord => ({
    tenantId,
    kid,
    keyId: `arn:aws:kms:us-east-1:123456789012:key/${kid}`,
    createdAt,
    status: 'active',
  });

  it("lists a tenant's keys newest first, whatever the kid order", async () => {
    // Prepare: kids sort opposite to creation time, so a sort-key order would be wrong.
    const tenantId = unique('tenant');
    await keyRecords.putTenantKey(key(tenantId, 'aaa', NOW + 20));
    await keyRecords.putTenantKey(key(tenantId, 'zzz', NOW));
    await keyRecords.putTenantKey({ ...key(tenantId, 'mmm', NOW + 10), status: 'retired' });
    await keyRecords.putTenantKey(key(unique('other-tenant'), 'bbb', NOW + 30));
    // Act
    const keys = await keyRecords.listTenantKeys(tenantId);
    // Assess
    expect(keys.map((k) => k.kid)).toEqual(['aaa', 'mmm', 'zzz']);
    expect(keys[1]).toEqual({ ...key(tenantId, 'mmm', NOW + 10), status: 'retired' });
  });

  it('returns no keys for an unknown tenant', async () => {
    await expect(keyRecords.listTenantKeys(unique('tenant'))).resolves.toEqual([]);
  });

  it("keeps a tenant's key records in a partition of their own, apart from its app and principal indexes", async () => {
    // The attest and authorizer roles may Query KEYS# partitions only (lib/attestor-stack.ts): IAM's
    // LeadingKeys sees partition keys, so anything else stored there would be readable to them.
    const tenantId = unique('tenant');
    await tenants.putTenantIfAbsent({ tenantId, createdAt: NOW });
    await apps.ensureApp({ appId: `com.example.${unique('app').replace(/-/g, '')}`, tenantId, createdAt: NOW });
    await tenants.putPrincipalIfAbsent({ principal: `arn:aws:iam::123456789012:role/${unique('admin')}`, tenantId, operator: false });
    await keyRecords.putTenantKey(key(tenantId, 'kid-1', NOW));
    const partition = async (pk: string) =>
      (await client.send(new QueryCommand({
        TableName: TABLES.registry,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: pk } },
      }))).Items ?? [];
    const keyPartition = await partition(`KEYS#${tenantId}`);
    expect(keyPartition.map((item) => item['sk']!.S)).toEqual(['KEY#kid-1']);
    const tenantPartition = (await partition(`TENANT#${tenantId}`)).map((item) => item['sk']!.S!);
    expect(tenantPartition).toHaveLength(2);
    expect(tenantPartition.every((sk) => sk.startsWith('APP#') || sk.startsWith('PRINCIPAL#'))).toBe(true);
  });

  it('records when a key\'s deletion was scheduled, keeping the first time and ignoring unknown keys', async () => {
    const tenantId = unique('tenant');
    await keyRecords.putTenantKey({ ...key(tenantId, 'kid-1', NOW), retiresAt: NOW + 10 });
    await keyRecords.markTenantKeyDeletionScheduled(tenantId, 'kid-1', NOW + 20);
    await keyRecords.markTenantKeyDeletionScheduled(tenantId, 'kid-1', NOW + 30);
    await keyRecords.markTenantKeyDeletionScheduled(tenantId, 'no-such-kid', NOW + 20);
    await expect(keyRecords.listTenantKeys(tenantId)).resolves.toEqual([{
      ...key(tenantId, 'kid-1', NOW),
      retiresAt: NOW + 10,
      deletionScheduledAt: NOW + 20,
    }]);
  });

  it('keeps an hs256 record\'s format and wrapped secret, and erases the secret when the key is destroyed', async () => {
    const tenantId = unique('tenant');
    const hs256: TenantKeyRecord = { ...key(tenantId, 'secret-1', NOW), format: 'hs256', wrappedSecret: Buffer.from('wrapped bytes').toString('base64') };
    await keyRecords.putTenantKey(hs256);
    await expect(keyRecords.listTenantKeys(tenantId)).resolves.toEqual([hs256]);
    await keyRecords.markTenantKeyDeletionScheduled(tenantId, 'secret-1', NOW + 5);
    const [destroyed] = await keyRecords.listTenantKeys(tenantId);
    expect(destroyed).toEqual({ ...key(tenantId, 'secret-1', NOW), format: 'hs256', deletionScheduledAt: NOW + 5 });
  });

  it('throws KeyConflictError for an existing (tenant, kid) and keeps the first record', async () => {
    // Prepare
    const tenantId = unique('tenant');
    const first = key(tenantId, 'kid-1', NOW);
    await keyRecords.putTenantKey(first);
    // Act
    const second = keyRecords.putTenantKey({ ...first, keyId: 'arn:other', createdAt: NOW + 1 });
    // Assess
    await expect(second).rejects.toBeInstanceOf(KeyConflictError);
    await expect(keyRecords.listTenantKeys(tenantId)).resolves.toEqual([first]);
  });
});

describe('DynamoDbTenantDirectory principals and their roles', () => {
  const arn = () => `arn:aws:iam::123456789012:role/${unique('ci')}`;

  it('stores a role with the mapping and its tenant index entry', async () => {
    const tenantId = unique('tenant');
    const principal = arn();
    expect(await tenants.putPrincipalIfAbsent({ principal, tenantId, operator: false, role: 'register' })).toBe(true);
    await expect(tenants.getPrincipal(principal)).resolves.toEqual({ principal, tenantId, operator: false, role: 'register' });
    await expect(tenants.listPrincipals(tenantId)).resolves.toEqual([{ principal, tenantId, operator: false, role: 'register' }]);
  });

  it('reads a mapping written before roles with no role, which the core takes for admin', async () => {
    // Prepare: the item as the code before roles wrote it.
    const principal = arn();
    await client.send(new PutItemCommand({
      TableName: TABLES.registry,
      Item: { pk: { S: `PRINCIPAL#${principal}` }, sk: { S: 'PRINCIPAL' }, principal: { S: principal }, tenantId: { S: 'acme' }, operator: { BOOL: false } },
    }));
    // Act and assess
    await expect(tenants.getPrincipal(principal)).resolves.toEqual({ principal, tenantId: 'acme', operator: false });
  });

  it("changes a role within the tenant, and never takes another tenant's principal or an operator's mapping", async () => {
    // Prepare
    const tenantId = unique('tenant');
    const [mine, theirs, operator] = [arn(), arn(), arn()];
    await tenants.putPrincipalIfAbsent({ principal: mine, tenantId, operator: false, role: 'admin' });
    await tenants.putPrincipalIfAbsent({ principal: theirs, tenantId: 'other', operator: false });
    await tenants.putPrincipalIfAbsent({ principal: operator, tenantId, operator: true });
    // Act
    const changed = await tenants.putPrincipalOfTenant({ principal: mine, tenantId, operator: false, role: 'read' });
    const added = await tenants.putPrincipalOfTenant({ principal: arn(), tenantId, operator: false, role: 'register' });
    const taken = await tenants.putPrincipalOfTenant({ principal: theirs, tenantId, operator: false, role: 'register' });
    const demoted = await tenants.putPrincipalOfTenant({ principal: operator, tenantId, operator: false, role: 'read' });
    // Assess
    expect([changed, added, taken, demoted]).toEqual([true, true, false, false]);
    await expect(tenants.getPrincipal(mine)).resolves.toMatchObject({ role: 'read' });
    await expect(tenants.getPrincipal(theirs)).resolves.toEqual({ principal: theirs, tenantId: 'other', operator: false });
    await expect(tenants.getPrincipal(operator)).resolves.toEqual({ principal: operator, tenantId, operator: true });
    expect((await tenants.listPrincipals(tenantId)).map((p) => p.role ?? 'none').sort()).toEqual(['none', 'read', 'register']);
  });

  it("removes a principal from its own tenant only, never an operator's mapping, and finishes a half-done removal", async () => {
    // Prepare
    const tenantId = unique('tenant');
    const [mine, theirs, operator, halfDone] = [arn(), arn(), arn(), arn()];
    await tenants.putPrincipalIfAbsent({ principal: mine, tenantId, operator: false, role: 'register' });
    await tenants.putPrincipalIfAbsent({ principal: theirs, tenantId: 'other', operator: false });
    await tenants.putPrincipalIfAbsent({ principal: operator, tenantId, operator: true });
    await tenants.putPrincipalIfAbsent({ principal: halfDone, tenantId, operator: false, role: 'read' });
    // A removal that failed after its first write: the mapping is gone, the tenant's index entry is not.
    await client.send(new DeleteItemCommand({ TableName: TABLES.registry, Key: { pk: { S: `PRINCIPAL#${halfDone}` }, sk: { S: 'PRINCIPAL' } } }));
    // Act
    const removed = await tenants.removePrincipalOfTenant(mine, tenantId);
    const again = await tenants.removePrincipalOfTenant(mine, tenantId);
    const other = await tenants.removePrincipalOfTenant(theirs, tenantId);
    const op = await tenants.removePrincipalOfTenant(operator, tenantId);
    const finished = await tenants.removePrincipalOfTenant(halfDone, tenantId);
    // Assess
    expect(removed).toEqual({ principal: mine, tenantId, operator: false, role: 'register' });
    expect([again, other, op]).toEqual([undefined, undefined, undefined]);
    expect(finished).toMatchObject({ principal: halfDone, role: 'read' });
    await expect(tenants.getPrincipal(mine)).resolves.toBeUndefined();
    await expect(tenants.getPrincipal(theirs)).resolves.toMatchObject({ tenantId: 'other' });
    await expect(tenants.getPrincipal(operator)).resolves.toMatchObject({ operator: true });
    expect((await tenants.listPrincipals(tenantId)).map((p) => p.principal)).toEqual([operator]);
  });

  it('never lets the index hide a principal a grant mapped again while it was being removed', async () => {
    // Prepare: a directory whose client runs a grant right after the removal's first write lands
    // (the mapping deleted, the index entry not yet), as a concurrent operator's call could.
    const tenantId = unique('tenant');
    const principal = arn();
    await tenants.putPrincipalIfAbsent({ principal, tenantId, operator: false, role: 'register' });
    const racing = clientFor(dynamo.endpoint);
    let raced = false;
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const key = (args.input as { Key?: { pk?: { S?: string } } }).Key;
        if (!raced && context.commandName === 'DeleteItemCommand' && key?.pk?.S === `PRINCIPAL#${principal}`) {
          raced = true;
          await tenants.putPrincipalOfTenant({ principal, tenantId, operator: false, role: 'admin' });
        }
        return result;
      },
      { step: 'initialize', name: 'grantDuringRemoval' },
    );
    // Act
    const removed = await new DynamoDbTenantDirectory(racing, TABLES.registry).removePrincipalOfTenant(principal, tenantId);
    // Assess: the grant came last, so the principal has access, and the index shows it.
    expect(raced).toBe(true);
    expect(removed).toMatchObject({ principal, role: 'register' });
    await expect(tenants.getPrincipal(principal)).resolves.toMatchObject({ tenantId, role: 'admin' });
    expect(await tenants.listPrincipals(tenantId)).toEqual([{ principal, tenantId, operator: false, role: 'admin' }]);
    racing.destroy();
  });

  it('records that a tenant is finished, which reads back', async () => {
    const tenantId = unique('tenant');
    await tenants.putTenantIfAbsent({ tenantId, createdAt: 1 });
    await expect(tenants.getTenant(tenantId)).resolves.toEqual({ tenantId, createdAt: 1 });
    await tenants.markTenantFinished(tenantId);
    await tenants.markTenantFinished(unique('absent'));
    await expect(tenants.getTenant(tenantId)).resolves.toEqual({ tenantId, createdAt: 1, finished: true });
  });
});

describe('migrateTenantKeyRecords (local data written before key records had partitions of their own)', () => {
  it('moves TENANT#<tenant> / KEY#<kid> records to KEYS#<tenant>, once', async () => {
    // Prepare: a record as 0.1.0 stored it, under the tenant's index partition.
    const tenantId = unique('tenant');
    const record: TenantKeyRecord = { tenantId, kid: 'old-kid', keyId: 'arn:aws:kms:us-east-1:123456789012:key/old', createdAt: NOW, status: 'active' };
    await keyRecords.putTenantKey(record);
    const current = { pk: { S: `KEYS#${tenantId}` }, sk: { S: 'KEY#old-kid' } };
    const { Item: item } = await client.send(new GetItemCommand({ TableName: TABLES.registry, Key: current }));
    await client.send(new PutItemCommand({ TableName: TABLES.registry, Item: { ...item, pk: { S: `TENANT#${tenantId}` } } }));
    await client.send(new DeleteItemCommand({ TableName: TABLES.registry, Key: current }));
    await apps.ensureApp({ appId: `com.example.${unique('app').replace(/-/g, '')}`, tenantId, createdAt: NOW });
    await expect(keyRecords.listTenantKeys(tenantId)).resolves.toEqual([]);
    // Act
    const moved = await migrateTenantKeyRecords(client, TABLES.registry);
    // Assess: the key is found again, the tenant's app index stays where it was, a second run moves nothing.
    expect(moved).toBeGreaterThanOrEqual(1);
    await expect(keyRecords.listTenantKeys(tenantId)).resolves.toEqual([record]);
    const old = await client.send(new QueryCommand({
      TableName: TABLES.registry,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: `TENANT#${tenantId}` } },
    }));
    expect(old.Items!.map((i) => i['sk']!.S!.split('#')[0])).toEqual(['APP']);
    await expect(migrateTenantKeyRecords(client, TABLES.registry)).resolves.toBe(0);
  });
});

describe('registry item serialisation', () => {
  it('round-trips a registration and leaves absent fields out of the item', () => {
    const record: RegistrationRecord = { appId: 'a.b', version: '1', sha256: '0'.repeat(64), size: 5, objectKey: 'builds/a.b/1/x', registeredAt: NOW };
    const item = registrationToItem(record);
    expect(item['pk']).toEqual({ S: 'APP#a.b' });
    expect(item['sk']).toEqual({ S: 'VER#1' });
    expect(Object.keys(item)).not.toContain('note');
    expect(registrationFromItem(item)).toEqual(record);
  });

  it('refuses an item with a mistyped field', () => {
    const item = {
      ...registrationToItem({ appId: 'a.b', version: '1', sha256: '0'.repeat(64), size: 5, objectKey: 'k', registeredAt: NOW }),
      size: { S: '5' },
    };
    expect(() => registrationFromItem(item)).toThrow(MalformedItemError);
  });

  it("fills a policy's missing signal with the default", () => {
    const item = policyToItem('a.b', { ...DEFAULT_POLICY, reject: { rooted: true, emulator: true, debugger: true, hooked: false } });
    const reject = item['reject']?.M ?? {};
    delete reject['hooked'];
    expect(policyFromItem(item).reject).toEqual({ rooted: true, emulator: true, debugger: true, hooked: DEFAULT_POLICY.reject.hooked });
  });
});

describe('startDynamo on disk', () => {
  it('keeps tables and items across close and restart on the same directory', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'attestor-dynamo-'));
    try {
      const first = await startDynamo({ dataDir });
      const firstClient = clientFor(first.endpoint);
      await ensureTables(firstClient, TABLES);
      await new DynamoDbAppStore(firstClient, TABLES.registry).ensureApp({ appId: 'com.example.persist', tenantId: 'tenant-p', createdAt: NOW });
      firstClient.destroy();
      await first.close();
      // Act
      const second = await startDynamo({ dataDir });
      const secondClient = clientFor(second.endpoint);
      try {
        await ensureTables(secondClient, TABLES);
        const app = await new DynamoDbAppStore(secondClient, TABLES.registry).getApp('com.example.persist');
        // Assess
        expect(app).toEqual({ appId: 'com.example.persist', tenantId: 'tenant-p', createdAt: NOW });
        expect(existsSync(join(dataDir, 'CURRENT'))).toBe(true); // LevelDB's files, so the data really is on disk
        // A second server on a directory in use would hang on LevelDB's lock; it is refused instead.
        await expect(startDynamo({ dataDir })).rejects.toThrow(/in use by process/);
      } finally {
        secondClient.destroy();
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
