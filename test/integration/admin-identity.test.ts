/**
 * App identities and hardware policies through the admin API over the local cloud: SigV4-signed
 * requests through the local gateway, the adminCatalog handler, the registry on the DynamoDB
 * stand-in. What is stored is read back the way attest reads it (the app's partition in one Query,
 * through the catalog cache), so "the attest path sees it within 30 s" is checked, not assumed.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_HARDWARE_POLICY } from '../../packages/contracts/src/admin-api';
import {
  identityFromItem,
  identityItemKey,
  identityToItem,
  keyAttributes,
  MalformedItemError,
  policyFromItem,
  policyToItem,
} from '../../packages/service/src/adapters/dynamodb-registry/items';
import { CachedAttestationCatalog, CATALOG_CACHE_SECONDS } from '../../packages/service/src/core/catalog-cache';
import { createTenant, removeDir, startTestCloud, type Credential, type TestCloud } from './admin-support';

const APP = 'com.example.identity';
const IDENTITY = `/v1/admin/apps/${APP}/identity`;
const POLICY = `/v1/admin/apps/${APP}/policy`;
const DIGEST = '3fa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f';
const KEYTOOL = DIGEST.toUpperCase().match(/../g)!.join(':');
const IOS = { teamId: 'ABCDE12345', bundleId: 'com.example.identity' };
const ANDROID = { packageName: 'com.example.identity', signingCertificates: [DIGEST], minVersionCode: 42 };
const REJECT = { rooted: false, emulator: false, debugger: false, hooked: true };

let t: TestCloud;
let globex: Credential;

beforeAll(async () => {
  t = await startTestCloud();
  globex = await createTenant(t, 'globex');
  expect((await t.admin('POST', '/v1/admin/apps', { appId: APP })).status).toBe(201);
});

afterAll(async () => {
  await t?.stop();
  await removeDir(t.dataDir);
});

/** The identity item as DynamoDB holds it, read directly (not through the adapter under test). */
async function storedItem(appId = APP) {
  const result = await t.cloud.services.clients.dynamodb().send(
    new GetItemCommand({ TableName: t.cloud.config.registryTable, Key: keyAttributes(identityItemKey(appId)), ConsistentRead: true }),
  );
  return result.Item;
}

describe('identity', () => {
  test('GET answers {} before one is set; PUT stores the keytool form as lower-case hex; attest reads it with the app', async () => {
    expect(await t.admin('GET', IDENTITY)).toEqual({ status: 200, body: {} });
    const put = await t.admin('PUT', IDENTITY, { ios: IOS, android: { ...ANDROID, signingCertificates: [KEYTOOL] } });
    expect(put).toEqual({ status: 200, body: { ios: IOS, android: ANDROID } });
    expect(await t.admin('GET', IDENTITY)).toEqual(put);
    expect(await storedItem()).toMatchObject({ android: { M: expect.objectContaining({ signingCertificates: { L: [{ S: DIGEST }] } }) } });
    const snapshot = await t.cloud.services.registry().appSnapshot(APP);
    expect(snapshot.app).toMatchObject({ appId: APP, tenantId: 'default' });
    expect(snapshot.identity).toEqual({ ios: IOS, android: ANDROID });
  });

  test("another tenant's app answers 404 to GET and PUT, exactly like an unknown app, and nothing changes", async () => {
    const before = await t.admin('GET', IDENTITY);
    const foreignGet = await t.admin('GET', IDENTITY, undefined, globex);
    const foreignPut = await t.admin('PUT', IDENTITY, { ios: { teamId: 'ZZZZZ99999', bundleId: 'com.evil' } }, globex);
    const unknown = await t.admin('GET', '/v1/admin/apps/com.example.nowhere/identity', undefined, globex);
    expect(foreignGet).toEqual({ status: 404, body: { error: 'not_found', message: `no app ${APP} in tenant globex` } });
    expect(foreignPut).toEqual(foreignGet);
    expect(unknown).toEqual({ status: 404, body: { error: 'not_found', message: 'no app com.example.nowhere in tenant globex' } });
    expect(await t.admin('GET', IDENTITY)).toEqual(before);
  });

  test.each<[string, unknown, string]>([
    ['a lower-case team id', { ios: { ...IOS, teamId: 'abcde12345' } }, 'ios.teamId'],
    ['a package name with one segment', { android: { ...ANDROID, packageName: 'identity' } }, 'android.packageName'],
    ['a SHA-1 digest', { android: { ...ANDROID, signingCertificates: ['ab'.repeat(20)] } }, 'android.signingCertificates.0'],
    ['no certificate', { android: { ...ANDROID, signingCertificates: [] } }, 'android.signingCertificates'],
    ['a negative minVersionCode', { android: { ...ANDROID, minVersionCode: -5 } }, 'android.minVersionCode'],
  ])('PUT refuses %s with 400 naming the field and keeps the stored identity', async (_what, body, field) => {
    const before = await t.admin('GET', IDENTITY);
    const res = await t.admin('PUT', IDENTITY, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', field, message: expect.stringMatching(new RegExp(`^${field.replace(/\./g, '\\.')} `)) });
    expect(await t.admin('GET', IDENTITY)).toEqual(before);
  });

  test('a change reaches the attest path within the catalog cache time, not before', async () => {
    // Prepare: attest's cache over the real catalog, warmed with the identity as it is now.
    const cached = new CachedAttestationCatalog(t.cloud.services.registry(), { clock: t.clock });
    const before = (await cached.appSnapshot(APP)).identity;
    // Act
    await t.admin('PUT', IDENTITY, { android: ANDROID });
    const soon = (await cached.appSnapshot(APP)).identity;
    t.clock.advance(CATALOG_CACHE_SECONDS);
    const later = (await cached.appSnapshot(APP)).identity;
    // Assess
    expect(before).toEqual({ ios: IOS, android: ANDROID });
    expect(soon).toEqual(before);
    expect(later).toEqual({ android: ANDROID });
  });

  test('PUT {} removes the item; removing the app removes an identity with it', async () => {
    await t.admin('PUT', IDENTITY, { ios: IOS });
    expect(await t.admin('PUT', IDENTITY, {})).toEqual({ status: 200, body: {} });
    expect(await storedItem()).toBeUndefined();
    expect(await t.cloud.services.registry().appSnapshot(APP)).not.toHaveProperty('identity');

    const doomed = 'com.example.identity.doomed';
    await t.admin('POST', '/v1/admin/apps', { appId: doomed });
    await t.admin('PUT', `/v1/admin/apps/${doomed}/identity`, { ios: IOS });
    expect(await storedItem(doomed)).toBeDefined();
    expect((await t.admin('DELETE', `/v1/admin/apps/${doomed}`)).status).toBe(200);
    expect(await storedItem(doomed)).toBeUndefined();
    await t.admin('POST', '/v1/admin/apps', { appId: doomed });
    expect(await t.admin('GET', `/v1/admin/apps/${doomed}/identity`)).toEqual({ status: 200, body: {} });
  });
});

describe('policy hardware and measurement', () => {
  test('a policy stored before hardware existed reads back with the defaults filled in', async () => {
    // Prepare: the item exactly as the previous version of the service wrote it.
    const old = policyToItem(APP, { reject: { ...REJECT, rooted: true }, minSdkVersion: '1.0.0' });
    await t.cloud.services.clients.dynamodb().send(new PutItemCommand({ TableName: t.cloud.config.registryTable, Item: old }));
    // Act / Assess
    expect(await t.admin('GET', POLICY)).toEqual({
      status: 200,
      body: { reject: { ...REJECT, rooted: true }, minSdkVersion: '1.0.0', hardware: DEFAULT_HARDWARE_POLICY, measurement: 'require' },
    });
  });

  test('PUT stores hardware whole; GET and the attest snapshot show it', async () => {
    const res = await t.admin('PUT', POLICY, { reject: REJECT, hardware: { ios: 'prefer', android: 'require', minAndroidPatchLevel: 202406 } });
    const hardware = { ...DEFAULT_HARDWARE_POLICY, ios: 'prefer', android: 'require', minAndroidPatchLevel: 202406 };
    expect(res).toEqual({ status: 200, body: { reject: REJECT, hardware, measurement: 'require' } });
    expect(await t.admin('GET', POLICY)).toEqual(res);
    expect((await t.cloud.services.registry().appSnapshot(APP)).policy).toEqual({ reject: REJECT, hardware, measurement: 'require' });
  });

  test.each<[string, unknown, string]>([
    ['an unknown Android mode', { reject: REJECT, hardware: { android: 'strict' } }, 'hardware.android'],
    ['rememberDays over a year', { reject: REJECT, hardware: { rememberDays: 400 } }, 'hardware.rememberDays'],
    [
      'measurement off with Android only preferred',
      { reject: REJECT, measurement: 'off', hardware: { ios: 'require', android: 'prefer', otherPlatforms: 'refuse' } },
      'measurement',
    ],
  ])('PUT refuses %s with 400 naming the field and keeps the stored policy', async (_what, body, field) => {
    const before = await t.admin('GET', POLICY);
    const res = await t.admin('PUT', POLICY, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', field });
    expect(await t.admin('GET', POLICY)).toEqual(before);
  });
});

describe('item codec', () => {
  test('an identity round-trips through its item, optional members left out rather than stored as NULL', () => {
    const item = identityToItem(APP, { android: { packageName: 'a.b', signingCertificates: [DIGEST] } });
    expect(Object.keys(item).sort()).toEqual(['android', 'appId', 'pk', 'sk']);
    expect(identityFromItem(item)).toStrictEqual({ android: { packageName: 'a.b', signingCertificates: [DIGEST] } });
    expect(identityFromItem(identityToItem(APP, { ios: IOS, android: ANDROID }))).toStrictEqual({ ios: IOS, android: ANDROID });
  });

  test('a hardware member missing from a stored policy (written before it existed) takes its default', () => {
    const item = policyToItem(APP, { reject: REJECT, hardware: { ...DEFAULT_HARDWARE_POLICY, android: 'require' }, measurement: 'require' });
    const { rememberDays: _dropped, ...older } = item['hardware']!.M!;
    expect(policyFromItem({ ...item, hardware: { M: older } }).hardware).toEqual({ ...DEFAULT_HARDWARE_POLICY, android: 'require' });
  });

  test('a stored hardware policy this code would not write fails loudly, naming the member, rather than loosen the app', () => {
    const item = policyToItem(APP, { reject: REJECT, hardware: { ...DEFAULT_HARDWARE_POLICY, android: 'require' }, measurement: 'require' });
    const tampered = { ...item, hardware: { M: { ...item['hardware']!.M, android: { S: 'sometimes' } } } };
    expect(() => policyFromItem(tampered)).toThrow(MalformedItemError);
    expect(() => policyFromItem(tampered)).toThrow(`registry item APP#${APP}/POLICY: hardware.android is not one of off, prefer, require`);
    const noCerts = { ...identityToItem(APP, { android: ANDROID }), android: { M: { packageName: { S: 'a.b' } } } };
    expect(() => identityFromItem(noCerts)).toThrow(`registry item APP#${APP}/IDENTITY: android.signingCertificates is not a list of the expected values`);
  });
});
