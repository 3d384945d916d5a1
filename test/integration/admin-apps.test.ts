/**
 * Apps, registrations, policies and devices through the admin API over the local cloud, each
 * checked by what attestations do afterwards (docs/ADMIN_API.md §3, §5–7, §10). Every attestation
 * here comes CATALOG_CACHE_SECONDS after the change before it, the time a change takes to apply.
 */
import { randomBytes } from 'node:crypto';
import { registerBuildForTest } from '../support/local-admin';
import { CLEAN_DEVICE, newInstallKey, type InstallKey } from '../support/protocol-client';
import { CATALOG_CACHE_SECONDS } from '../../packages/service/src/core/catalog-cache';
import { DEFAULT_HARDWARE_POLICY } from '../../packages/contracts/src/admin-api';
import { jwkThumbprint } from '../../packages/verify/src/core/install-key';
import { afterCatalogCache, attestToken, createTenant, removeDir, startTestCloud, tokenPasses, type Credential, type TestCloud } from './admin-support';

const APP = 'com.example.admin';
let t: TestCloud;
const builds = new Map<string, Buffer>();

async function register(version: string, extra: { appId?: string; expireAfterSeconds?: number } = {}): Promise<Record<string, unknown>> {
  const bytes = randomBytes(2048);
  builds.set(`${extra.appId ?? APP}@${version}`, bytes);
  return registerBuildForTest(t.cloud, {
    appId: extra.appId ?? APP,
    version,
    bytes,
    ...(extra.expireAfterSeconds ? { expireAfterSeconds: extra.expireAfterSeconds } : {}),
  });
}

async function passes(
  version: string,
  options: { appId?: string; key?: InstallKey; packageBytes?: Buffer; extra?: Record<string, unknown>; device?: typeof CLEAN_DEVICE } = {},
): Promise<boolean> {
  const appId = options.appId ?? APP;
  afterCatalogCache(t);
  const token = await attestToken(t, {
    appId,
    appVersion: version,
    packageBytes: options.packageBytes ?? builds.get(`${appId}@${version}`) ?? Buffer.from('unregistered'),
    key: options.key ?? newInstallKey(),
    ...(options.extra ? { extra: options.extra } : {}),
    ...(options.device ? { device: options.device } : {}),
  });
  return tokenPasses(t, token);
}

beforeAll(async () => {
  t = await startTestCloud();
  await register('1.0.0');
});

afterAll(async () => {
  await t?.stop();
  await removeDir(t.dataDir);
});

describe('apps', () => {
  test('create is idempotent for the owner, list shows it, bad ids get 400', async () => {
    const created = await t.admin('POST', '/v1/admin/apps', { appId: 'com.example.fresh' });
    const again = await t.admin('POST', '/v1/admin/apps', { appId: 'com.example.fresh' });
    const bad = await t.admin('POST', '/v1/admin/apps', { appId: 'nodots' });
    const tooLong = await t.admin('POST', '/v1/admin/apps', { appId: `a.${'b'.repeat(254)}` });
    expect(created).toEqual({ status: 201, body: { appId: 'com.example.fresh', createdAt: t.clock.now } });
    expect(again).toEqual({ status: 200, body: created.body });
    expect(bad).toEqual({ status: 400, body: { error: 'invalid_request', field: 'appId', message: 'appId must be reverse-DNS style, e.g. com.example.app' } });
    expect(tooLong.body).toMatchObject({ field: 'appId', message: 'appId must be at most 255 characters' });
    const list = await t.admin('GET', '/v1/admin/apps');
    expect((list.body['apps'] as Array<{ appId: string }>).map((a) => a.appId)).toEqual(['com.example.admin', 'com.example.fresh']);
  });

  test('remove takes registrations, policy and devices with it; attestations fail from the next one', async () => {
    const appId = 'com.example.doomed';
    await register('1.0.0', { appId });
    await register('2.0.0', { appId });
    await t.admin('PUT', `/v1/admin/apps/${appId}/policy`, { reject: { rooted: true, emulator: false, debugger: false, hooked: true } });
    const key = newInstallKey();
    await t.admin('POST', `/v1/admin/apps/${appId}/devices`, { did: jwkThumbprint(key.jwk) });
    expect(await passes('1.0.0', { appId })).toBe(true);

    const removed = await t.admin('DELETE', `/v1/admin/apps/${appId}`);
    expect(removed).toEqual({ status: 200, body: { appId, removed: { registrations: 2, devices: 1, policy: true } } });
    expect(await passes('1.0.0', { appId })).toBe(false);
    expect(await passes('1.0.0', { appId, key })).toBe(false);
    expect((await t.admin('GET', '/v1/admin/apps')).body['apps']).not.toContainEqual(expect.objectContaining({ appId }));
    expect((await t.admin('DELETE', `/v1/admin/apps/${appId}`)).status).toBe(404);
    expect((await t.admin('GET', `/v1/admin/apps/${appId}/registrations`)).status).toBe(404);
  });

  test('concurrent creates of one id: only the creator gets 201, its own tenant 200, another tenant 409', async () => {
    // Prepare: two tenants racing for one id, each with several requests in flight at once.
    const appId = 'com.example.raced';
    const rival = await createTenant(t, 'rival');
    const create = (as?: Credential) => t.admin('POST', '/v1/admin/apps', { appId }, as);
    // Act
    const answers = await Promise.all([...Array.from({ length: 8 }, () => create()), ...Array.from({ length: 8 }, () => create(rival))]);
    // Assess
    const [operators, rivals] = [answers.slice(0, 8).map((a) => a.status), answers.slice(8).map((a) => a.status)];
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    const [winners, losers] = operators.includes(201) ? [operators, rivals] : [rivals, operators];
    expect(winners.filter((status) => status !== 201).every((status) => status === 200)).toBe(true);
    expect(losers.every((status) => status === 409)).toBe(true);
    await t.admin('DELETE', `/v1/admin/apps/${appId}`, undefined, operators.includes(201) ? undefined : rival);
  });
});

describe('registrations', () => {
  test('list shows every registration newest first without internal fields', async () => {
    t.clock.advance(1);
    await register('1.1.0');
    const list = await t.admin('GET', `/v1/admin/apps/${APP}/registrations`);
    expect(list.status).toBe(200);
    const registrations = list.body['registrations'] as Array<Record<string, unknown>>;
    expect(registrations.map((r) => r['version'])).toEqual(['1.1.0', '1.0.0']);
    expect(registrations[0]).toEqual({ appId: APP, version: '1.1.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: 2048, registeredAt: t.clock.now });
  });

  test('removal makes the next attestation of that build fail, and only that build', async () => {
    await register('3.0.0');
    expect(await passes('3.0.0')).toBe(true);
    const removed = await t.admin('DELETE', `/v1/admin/apps/${APP}/registrations/3.0.0`);
    expect(removed.status).toBe(200);
    expect(removed.body['registration']).toMatchObject({ appId: APP, version: '3.0.0' });
    expect(await passes('3.0.0')).toBe(false);
    expect(await passes('1.0.0')).toBe(true);
    expect((await t.admin('DELETE', `/v1/admin/apps/${APP}/registrations/3.0.0`)).body).toEqual({
      error: 'not_found',
      message: `no registration of ${APP} 3.0.0`,
    });
  });

  test('expire --after 7d fails attestations once that time has passed, not before', async () => {
    await register('4.0.0');
    const expired = await t.admin('POST', `/v1/admin/apps/${APP}/registrations/4.0.0/expire`, { afterSeconds: 7 * 86400 });
    expect(expired.body['registration']).toMatchObject({ version: '4.0.0', expiresAt: t.clock.now + 7 * 86400 });
    // passes() lets the catalog cache lapse first, so this attests one second before the expiry.
    t.clock.advance(7 * 86400 - 1 - CATALOG_CACHE_SECONDS);
    expect(await passes('4.0.0')).toBe(true);
    t.clock.advance(1);
    expect(await passes('4.0.0')).toBe(false);
  });

  test('expire with 0 takes effect on the very next attestation', async () => {
    await register('5.0.0');
    expect(await passes('5.0.0')).toBe(true);
    expect((await t.admin('POST', `/v1/admin/apps/${APP}/registrations/5.0.0/expire`, { afterSeconds: 0 })).status).toBe(200);
    expect(await passes('5.0.0')).toBe(false);
  });

  test('a registration expiring on its own (--expire-after) stops passing then', async () => {
    await register('6.0.0', { expireAfterSeconds: 3600 });
    expect(await passes('6.0.0')).toBe(true);
    t.clock.advance(3600);
    expect(await passes('6.0.0')).toBe(false);
  });

  test('bad versions and durations get 400 and change nothing', async () => {
    const before = await t.admin('GET', `/v1/admin/apps/${APP}/registrations`);
    const negative = await t.admin('POST', `/v1/admin/apps/${APP}/registrations/1.0.0/expire`, { afterSeconds: -1 });
    const fraction = await t.admin('POST', `/v1/admin/apps/${APP}/registrations/1.0.0/expire`, { afterSeconds: 1.5 });
    const missing = await t.admin('POST', `/v1/admin/apps/${APP}/registrations/1.0.0/expire`, {});
    const badVersion = await t.admin('DELETE', `/v1/admin/apps/${APP}/registrations/${'9'.repeat(65)}`);
    const unknown = await t.admin('POST', `/v1/admin/apps/${APP}/registrations/7.7.7/expire`, { afterSeconds: 1 });
    expect(negative.body).toEqual({ error: 'invalid_request', field: 'afterSeconds', message: 'afterSeconds must be at least 0 seconds' });
    expect(fraction.body).toMatchObject({ field: 'afterSeconds', message: 'afterSeconds must be a whole number of seconds' });
    expect(missing.body).toMatchObject({ field: 'afterSeconds', message: 'afterSeconds is required' });
    expect(badVersion.body).toMatchObject({ error: 'invalid_request', field: 'version' });
    expect(unknown.status).toBe(404);
    expect(await t.admin('GET', `/v1/admin/apps/${APP}/registrations`)).toEqual(before);
  });
});

describe('policy', () => {
  const POLICY_APP = 'com.example.policy';
  beforeAll(async () => {
    await register('1.0.0', { appId: POLICY_APP });
  });

  test('get returns the default until one is set; set replaces it and applies to attestations', async () => {
    expect((await t.admin('GET', `/v1/admin/apps/${POLICY_APP}/policy`)).body).toEqual({
      reject: { rooted: false, emulator: false, debugger: false, hooked: true },
      hardware: DEFAULT_HARDWARE_POLICY,
      measurement: 'require',
    });
    const rooted = { ...CLEAN_DEVICE, signals: { ...CLEAN_DEVICE.signals, rooted: true } };
    expect(await passes('1.0.0', { appId: POLICY_APP, device: rooted })).toBe(true);

    const policy = { reject: { rooted: true, emulator: true, debugger: false, hooked: true }, minSdkVersion: '1.2.0' };
    // Answered and stored with every default stated.
    const stored = { ...policy, hardware: DEFAULT_HARDWARE_POLICY, measurement: 'require' };
    expect(await t.admin('PUT', `/v1/admin/apps/${POLICY_APP}/policy`, policy)).toEqual({ status: 200, body: stored });
    expect((await t.admin('GET', `/v1/admin/apps/${POLICY_APP}/policy`)).body).toEqual(stored);
    expect(await passes('1.0.0', { appId: POLICY_APP, device: rooted })).toBe(false);
    // sdkVersion 1.0.0 (the protocol client's) is below the minimum now.
    expect(await passes('1.0.0', { appId: POLICY_APP })).toBe(false);

    const relaxed = { reject: { rooted: false, emulator: false, debugger: false, hooked: false } };
    await t.admin('PUT', `/v1/admin/apps/${POLICY_APP}/policy`, relaxed);
    afterCatalogCache(t);
    const token = await attestToken(t, { appId: POLICY_APP, appVersion: '1.0.0', packageBytes: builds.get(`${POLICY_APP}@1.0.0`)!, key: newInstallKey() });
    // Whatever the policy, the token lives the deployment's lifetime.
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBe(300);
    expect(await tokenPasses(t, token)).toBe(true);
  });

  test.each([
    [
      { tokenTtlSeconds: 600, reject: { rooted: false, emulator: false, debugger: false, hooked: false } },
      'tokenTtlSeconds',
      'tokenTtlSeconds is no longer part of a policy: every token of a deployment lives as long (ATTESTOR_TOKEN_TTL_SECONDS, the stack prop tokenTtl)',
    ],
    [{}, 'reject', 'reject is required'],
    [{ reject: { rooted: 'yes', emulator: false, debugger: false, hooked: false } }, 'reject.rooted', 'reject.rooted must be a boolean'],
    [{ reject: { rooted: false, emulator: false, debugger: false } }, 'reject.hooked', 'reject.hooked is required'],
    [
      { reject: { rooted: false, emulator: false, debugger: false, hooked: false }, minSdkVersion: 'latest' },
      'minSdkVersion',
      'minSdkVersion must be a version such as 1.2.0',
    ],
  ])('set refuses %j with 400 and keeps the stored policy', async (policy, field, message) => {
    const before = await t.admin('GET', `/v1/admin/apps/${POLICY_APP}/policy`);
    const res = await t.admin('PUT', `/v1/admin/apps/${POLICY_APP}/policy`, policy);
    expect(res).toEqual({ status: 400, body: { error: 'invalid_request', field, message } });
    expect(await t.admin('GET', `/v1/admin/apps/${POLICY_APP}/policy`)).toEqual(before);
  });
});

describe('devices', () => {
  const DEVICE_APP = 'com.example.devices';
  beforeAll(async () => {
    await register('1.0.0', { appId: DEVICE_APP });
  });

  test('an allow-listed install key passes with an unregistered build, and is logged allowlisted', async () => {
    const key = newInstallKey();
    const did = jwkThumbprint(key.jwk);
    const tampered = Buffer.from('not the registered build');
    expect(await passes('1.0.0', { appId: DEVICE_APP, key, packageBytes: tampered })).toBe(false);

    const added = await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { did, note: 'Pixel in the lab' });
    expect(added).toEqual({ status: 201, body: { deviceId: did, kind: 'install', did, note: 'Pixel in the lab', createdAt: t.clock.now } });
    t.clock.advance(1);
    expect(await passes('9.9.9-dev', { appId: DEVICE_APP, key, packageBytes: tampered })).toBe(true);
    // Another install key does not pass. (A second apart: the log orders by time, within a second arbitrarily.)
    t.clock.advance(1);
    expect(await passes('9.9.9-dev', { appId: DEVICE_APP, packageBytes: tampered })).toBe(false);
    const log = await t.admin('GET', `/v1/admin/log?appId=${DEVICE_APP}&limit=2`);
    expect((log.body['entries'] as Array<Record<string, unknown>>).map((e) => [e['did'] === did, e['outcome']])).toEqual([
      [false, 'fail'],
      [true, 'allowlisted'],
    ]);

    expect((await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { did })).status).toBe(409);
    const removed = await t.admin('DELETE', `/v1/admin/apps/${DEVICE_APP}/devices/${did}`);
    expect(removed.body).toEqual({ device: added.body });
    expect(await passes('9.9.9-dev', { appId: DEVICE_APP, key, packageBytes: tampered })).toBe(false);
  });

  test('a debug secret is shown once, stored only as a digest, passes attestations and is logged debug', async () => {
    const added = await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { debug: true, note: 'CI' });
    expect(added.status).toBe(201);
    const secret = added.body['debugSecret'] as string;
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(added.body).toEqual({
      deviceId: expect.stringMatching(/^debug\.[A-Za-z0-9_-]{22}$/),
      kind: 'debug',
      note: 'CI',
      createdAt: t.clock.now,
      debugSecret: secret,
    });
    const list = await t.admin('GET', `/v1/admin/apps/${DEVICE_APP}/devices`);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(list.body['devices']).toContainEqual({ deviceId: added.body['deviceId'], kind: 'debug', note: 'CI', createdAt: t.clock.now });

    const emulatorBuild = Buffer.from('a debug build on an emulator');
    const emulator = { ...CLEAN_DEVICE, signals: { ...CLEAN_DEVICE.signals, emulator: true, hooked: true } };
    t.clock.advance(1);
    expect(await passes('0.0.1-debug', { appId: DEVICE_APP, packageBytes: emulatorBuild, device: emulator, extra: { debugSecret: secret } })).toBe(true);
    const wrong = randomBytes(32).toString('base64url');
    t.clock.advance(1);
    expect(await passes('0.0.1-debug', { appId: DEVICE_APP, packageBytes: emulatorBuild, device: emulator, extra: { debugSecret: wrong } })).toBe(false);
    // A wrong secret fails even a genuine build: a debug secret in a release is a bug.
    t.clock.advance(1);
    expect(await passes('1.0.0', { appId: DEVICE_APP, extra: { debugSecret: wrong } })).toBe(false);
    const log = await t.admin('GET', `/v1/admin/log?appId=${DEVICE_APP}&limit=3`);
    expect((log.body['entries'] as Array<Record<string, unknown>>).map((e) => [e['outcome'], e['reasons']])).toEqual([
      ['fail', ['debug_secret_invalid']],
      ['fail', ['version_unknown', 'device_hooked', 'debug_secret_invalid']],
      ['debug', ['version_unknown', 'device_hooked']],
    ]);
    expect(JSON.stringify(log.body)).not.toContain(secret);

    await t.admin('DELETE', `/v1/admin/apps/${DEVICE_APP}/devices/${added.body['deviceId'] as string}`);
    expect(await passes('0.0.1-debug', { appId: DEVICE_APP, packageBytes: emulatorBuild, device: emulator, extra: { debugSecret: secret } })).toBe(false);
  });

  test('a debug secret of one app does not open another', async () => {
    const added = await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { debug: true });
    const secret = added.body['debugSecret'] as string;
    expect(await passes('0.0.1', { appId: APP, packageBytes: Buffer.from('x'), extra: { debugSecret: secret } })).toBe(false);
  });

  test('bad device requests get 400 or 404 and add nothing', async () => {
    const before = await t.admin('GET', `/v1/admin/apps/${DEVICE_APP}/devices`);
    const neither = await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { note: 'x' });
    const both = await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { did: 'A'.repeat(43), debug: true });
    const badDid = await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { did: 'short' });
    const debugFalse = await t.admin('POST', `/v1/admin/apps/${DEVICE_APP}/devices`, { debug: false });
    const unknown = await t.admin('DELETE', `/v1/admin/apps/${DEVICE_APP}/devices/debug.AAAAAAAAAAAAAAAAAAAAAA`);
    const badId = await t.admin('DELETE', `/v1/admin/apps/${DEVICE_APP}/devices/nope`);
    expect(neither.body).toEqual({
      error: 'invalid_request',
      message: 'give exactly one of did (allow-list an install key) or debug: true (create a debug secret)',
    });
    expect(both.status).toBe(400);
    expect(badDid.body).toMatchObject({ field: 'did', message: 'did must be base64url of 32 bytes (43 characters)' });
    expect(debugFalse.body).toMatchObject({ field: 'debug' });
    expect(unknown.status).toBe(404);
    expect(badId.body).toMatchObject({ error: 'invalid_request', field: 'deviceId' });
    expect(await t.admin('GET', `/v1/admin/apps/${DEVICE_APP}/devices`)).toEqual(before);
  });
});

describe('log and stats', () => {
  const LOG_APP = 'com.example.logged';
  beforeAll(async () => {
    await register('1.0.0', { appId: LOG_APP });
  });

  test('records every attestation with device, version, outcome and reasons, newest first, never secrets', async () => {
    t.clock.advance(10);
    const since = t.clock.now;
    const key = newInstallKey();
    const pass = await attestToken(t, { appId: LOG_APP, appVersion: '1.0.0', packageBytes: builds.get(`${LOG_APP}@1.0.0`)!, key });
    t.clock.advance(1);
    await attestToken(t, { appId: LOG_APP, appVersion: '1.0.0', packageBytes: Buffer.from('tampered'), key });
    const res = await t.admin('GET', `/v1/admin/log?appId=${LOG_APP}&since=${since}`);
    expect(res.status).toBe(200);
    const entries = res.body['entries'] as Array<Record<string, unknown>>;
    const jti = (JSON.parse(Buffer.from(pass.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    expect(entries).toEqual([
      {
        time: since + 1,
        appId: LOG_APP,
        appVersion: '1.0.0',
        did: jwkThumbprint(key.jwk),
        platform: 'android',
        osVersion: '15',
        model: 'Pixel 9',
        sdkVersion: '1.0.0',
        outcome: 'fail',
        reasons: ['measurement_mismatch'],
        jti: expect.any(String),
      },
      {
        time: since,
        appId: LOG_APP,
        appVersion: '1.0.0',
        did: jwkThumbprint(key.jwk),
        platform: 'android',
        osVersion: '15',
        model: 'Pixel 9',
        sdkVersion: '1.0.0',
        outcome: 'pass',
        reasons: [],
        jti,
      },
    ]);
    expect(res.body['cursor']).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain(pass.split('.')[2]!);
  });

  test('pages with a cursor over all apps of the tenant, including unregistered app ids for the default tenant', async () => {
    t.clock.advance(100);
    const since = t.clock.now;
    for (let i = 0; i < 5; i++) {
      t.clock.advance(1);
      await attestToken(t, {
        appId: i % 2 ? LOG_APP : 'com.example.never.registered',
        appVersion: '1.0.0',
        packageBytes: Buffer.from('x'),
        key: newInstallKey(),
      });
    }
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await t.admin('GET', `/v1/admin/log?since=${since}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...(res.body['entries'] as Array<{ time: number }>).map((e) => e.time));
      cursor = res.body['cursor'] as string | undefined;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual([since + 5, since + 4, since + 3, since + 2, since + 1]);
    expect((await t.admin('GET', '/v1/admin/log?cursor=bm9wZQ')).body).toEqual({
      error: 'invalid_request',
      field: 'cursor',
      message: 'cursor is not a cursor this service issued',
    });
    expect((await t.admin('GET', '/v1/admin/log?limit=0')).body).toMatchObject({ field: 'limit', message: 'limit must be at least 1' });
    expect((await t.admin('GET', '/v1/admin/log?limit=101')).body).toMatchObject({ field: 'limit' });
    expect((await t.admin('GET', '/v1/admin/log?appId=nodots')).body).toMatchObject({ field: 'appId' });
  });

  test('stats count outcomes and reasons over the window', async () => {
    t.clock.advance(7200);
    const key = newInstallKey();
    const genuine = builds.get(`${LOG_APP}@1.0.0`)!;
    await attestToken(t, { appId: LOG_APP, appVersion: '1.0.0', packageBytes: genuine, key });
    await attestToken(t, { appId: LOG_APP, appVersion: '1.0.0', packageBytes: genuine, key });
    await attestToken(t, { appId: LOG_APP, appVersion: '1.0.0', packageBytes: Buffer.from('tampered'), key });
    const hooked = { ...CLEAN_DEVICE, signals: { ...CLEAN_DEVICE.signals, hooked: true } };
    await attestToken(t, { appId: LOG_APP, appVersion: '2.0.0', packageBytes: genuine, key, device: hooked });
    const res = await t.admin('GET', `/v1/admin/stats?appId=${LOG_APP}&windowSeconds=600`);
    expect(res).toEqual({
      status: 200,
      body: {
        windowSeconds: 600,
        since: t.clock.now - 600,
        total: 4,
        byOutcome: { pass: 2, fail: 2, debug: 0, allowlisted: 0 },
        byReason: { measurement_mismatch: 1, version_unknown: 1, device_hooked: 1 },
        nonceInvalid: 0,
      },
    });
    // The same window per minute and category, from the counters: the console's charts.
    const perMinute = await t.admin('GET', `/v1/admin/stats?appId=${LOG_APP}&windowSeconds=600&series=minute`);
    const series = perMinute.body['series'] as { bucketSeconds: number; points: { time: number; appId: string; counts: Record<string, number> }[] };
    expect(series.bucketSeconds).toBe(60);
    expect(series.points.map((p) => p.appId)).toEqual(series.points.map(() => LOG_APP));
    const summed: Record<string, number> = {};
    for (const p of series.points) for (const [category, n] of Object.entries(p.counts)) summed[category] = (summed[category] ?? 0) + n;
    expect(summed).toEqual({ pass: 2, fail_build: 2 });
    expect((await t.admin('GET', `/v1/admin/stats?series=hour`)).body).toMatchObject({ field: 'series' });
    expect((await t.admin('GET', `/v1/admin/stats?series=minute&windowSeconds=90000`)).body).toMatchObject({ field: 'windowSeconds' });
    const wide = await t.admin('GET', `/v1/admin/stats?appId=${LOG_APP}`);
    expect(wide.body['windowSeconds']).toBe(3600);
    expect((await t.admin('GET', '/v1/admin/stats?windowSeconds=59')).body).toMatchObject({ field: 'windowSeconds' });
  });
});
