/**
 * Admin API authentication and tenancy over the local cloud: no route answers without a valid
 * credential, tenants are created by the operator only, and a tenant's credential sees nothing of
 * another tenant (docs/ADMIN_API.md §1.1–1.2, §2).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { registerBuildForTest } from '../support/local-admin';
import { newInstallKey } from '../support/protocol-client';
import { ROUTES } from '../../packages/contracts/src/routes';
import { attestToken, createTenant, removeDir, startTestCloud, tokenPasses, type Credential, type TestCloud } from './admin-support';

const APP_A = 'com.tenant-a.app';
let t: TestCloud;
let acme: Credential;
let globex: Credential;
let buildA: Buffer;
let uploadA: string;

/** Every admin route with sample path parameters naming acme's app and upload. */
function adminPaths(): Array<{ method: string; path: string; body?: unknown }> {
  return ROUTES.filter((r) => r.auth === 'iam').map((r) => ({
    method: r.method,
    path: r.path.replace('{appId}', APP_A).replace('{version}', '1.0.0').replace('{uploadId}', uploadA).replace('{deviceId}', 'debug.AAAAAAAAAAAAAAAAAAAAAA'),
    ...(r.method === 'POST' || r.method === 'PUT' ? { body: {} } : {}),
  }));
}

beforeAll(async () => {
  t = await startTestCloud();
  acme = await createTenant(t, 'acme');
  globex = await createTenant(t, 'globex');
  buildA = randomBytes(4096);
  const upload = await registerBuildForTest({ ...t.cloud, adminCredentials: { ...t.cloud.adminCredentials, ...acme } } as typeof t.cloud, {
    appId: APP_A,
    version: '1.0.0',
    bytes: buildA,
  });
  uploadA = upload['uploadId'] as string;
});

afterAll(async () => {
  await t?.stop();
  await removeDir(t.dataDir);
});

describe('without a valid credential', () => {
  test('every admin route answers 403 to an unsigned request', async () => {
    for (const { method, path } of adminPaths()) {
      const res = await fetch(`${t.cloud.endpoint}${path}`, { method });
      expect({ route: `${method} ${path}`, status: res.status }).toEqual({ route: `${method} ${path}`, status: 403 });
      expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
    }
  });

  test('every admin route answers 403 to a wrong secret or an unknown access key', async () => {
    for (const { method, path, body } of adminPaths()) {
      const wrongSecret = await t.admin(method, path, body, { ...acme, secretAccessKey: 'not-the-secret' });
      const unknownKey = await t.admin(method, path, body, { accessKeyId: 'AKLOCALFFFFFFFFFFFFFFFF', secretAccessKey: acme.secretAccessKey });
      expect([wrongSecret.status, unknownKey.status]).toEqual([403, 403]);
      expect(wrongSecret.body['message']).toMatch(/signature/);
      expect(unknownKey.body['message']).toBe('The security token included in the request is invalid.');
    }
  });
});

describe('tenants', () => {
  test('a tenant credential is returned once and kept in a 0600 file so the gateway accepts it', async () => {
    expect(acme).toEqual({ accessKeyId: expect.stringMatching(/^AKLOCAL/), secretAccessKey: expect.any(String), region: 'us-east-1' });
    const file = join(t.dataDir, 'tenant-credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(acme.accessKeyId);
    expect((await t.admin('GET', '/v1/admin/apps', undefined, acme)).status).toBe(200);
  });

  test('the operator lists tenants with their principals; a tenant credential may neither list nor create', async () => {
    const list = await t.admin('GET', '/v1/admin/tenants');
    expect(list.status).toBe(200);
    const tenants = list.body['tenants'] as Array<{ tenantId: string; principals: string[] }>;
    expect(tenants.map((x) => x.tenantId)).toEqual(['acme', 'default', 'globex']);
    expect(tenants.find((x) => x.tenantId === 'acme')?.principals).toEqual([`arn:aws:iam::000000000000:user/attestor/${acme.accessKeyId}`]);

    const listed = await t.admin('GET', '/v1/admin/tenants', undefined, acme);
    const created = await t.admin('POST', '/v1/admin/tenants', { tenantId: 'sneaky' }, acme);
    expect(listed).toEqual({ status: 403, body: { error: 'forbidden', message: 'only an operator credential may call GET /v1/admin/tenants' } });
    expect(created.status).toBe(403);
    const after = await t.admin('GET', '/v1/admin/tenants');
    expect((after.body['tenants'] as unknown[]).length).toBe(3);
  });

  test('a duplicate tenant gets 409, a bad id or principal 400, and nothing changes', async () => {
    const duplicate = await t.admin('POST', '/v1/admin/tenants', { tenantId: 'acme' });
    const badId = await t.admin('POST', '/v1/admin/tenants', { tenantId: 'no spaces' });
    const badPrincipal = await t.admin('POST', '/v1/admin/tenants', { tenantId: 'initech', principals: ['alice'] });
    expect(duplicate).toEqual({ status: 409, body: { error: 'conflict', message: 'tenant acme exists' } });
    expect(badId.body).toEqual({ error: 'invalid_request', field: 'tenantId', message: 'tenantId must be 1 to 64 letters, digits, _ or -' });
    expect(badPrincipal.body).toMatchObject({ error: 'invalid_request', field: 'principals.0' });
    const after = await t.admin('GET', '/v1/admin/tenants');
    expect((after.body['tenants'] as Array<{ tenantId: string }>).map((x) => x.tenantId)).toEqual(['acme', 'default', 'globex']);
  });

  test('IAM principals given at creation are mapped (assumed-role sessions to their role); a mapped one cannot be reused', async () => {
    const created = await t.admin('POST', '/v1/admin/tenants', {
      tenantId: 'initech',
      principals: ['arn:aws:sts::123456789012:assumed-role/Deployer/ci-42', 'arn:aws:iam::123456789012:user/ops/alice'],
    });
    expect(created.status).toBe(201);
    expect(created.body['principals']).toEqual(expect.arrayContaining(['arn:aws:iam::123456789012:role/Deployer', 'arn:aws:iam::123456789012:user/ops/alice']));
    const reused = await t.admin('POST', '/v1/admin/tenants', { tenantId: 'initech2', principals: ['arn:aws:iam::123456789012:role/path/Deployer'] });
    expect(reused).toEqual({
      status: 409,
      body: { error: 'conflict', message: 'principal arn:aws:iam::123456789012:role/Deployer already administers a tenant' },
    });
    expect((await t.admin('GET', '/v1/admin/tenants')).body['tenants']).not.toContainEqual(expect.objectContaining({ tenantId: 'initech2' }));
  });
});

describe("another tenant's credential", () => {
  test('gets 404 on every app-scoped route of acme and changes nothing', async () => {
    const before = await t.admin('GET', `/v1/admin/apps/${APP_A}/registrations`, undefined, acme);
    const calls: Array<[string, string, unknown?]> = [
      ['DELETE', `/v1/admin/apps/${APP_A}`],
      ['GET', `/v1/admin/uploads/${uploadA}`],
      ['POST', `/v1/admin/uploads/${uploadA}/complete`, { parts: [{ partNumber: 1, etag: 'x' }] }],
      ['GET', `/v1/admin/apps/${APP_A}/registrations`],
      ['DELETE', `/v1/admin/apps/${APP_A}/registrations/1.0.0`],
      ['POST', `/v1/admin/apps/${APP_A}/registrations/1.0.0/expire`, { afterSeconds: 0 }],
      ['GET', `/v1/admin/apps/${APP_A}/policy`],
      ['PUT', `/v1/admin/apps/${APP_A}/policy`, { reject: { rooted: true, emulator: true, debugger: true, hooked: true } }],
      ['GET', `/v1/admin/apps/${APP_A}/devices`],
      ['POST', `/v1/admin/apps/${APP_A}/devices`, { debug: true }],
      ['DELETE', `/v1/admin/apps/${APP_A}/devices/debug.AAAAAAAAAAAAAAAAAAAAAA`],
      ['GET', `/v1/admin/log?appId=${APP_A}`],
      ['GET', `/v1/admin/stats?appId=${APP_A}`],
    ];
    for (const [method, path, body] of calls) {
      const res = await t.admin(method, path, body, globex);
      expect({ call: `${method} ${path}`, status: res.status, error: res.body['error'] }).toEqual({
        call: `${method} ${path}`,
        status: 404,
        error: 'not_found',
      });
    }
    // The operator of the default tenant is just another tenant here.
    expect((await t.admin('GET', `/v1/admin/apps/${APP_A}/registrations`)).status).toBe(404);
    expect(await t.admin('GET', `/v1/admin/apps/${APP_A}/registrations`, undefined, acme)).toEqual(before);
    expect((await t.admin('GET', `/v1/admin/apps/${APP_A}/policy`, undefined, acme)).body['reject']).toEqual({
      rooted: false,
      emulator: false,
      debugger: false,
      hooked: true,
    });
  });

  test('gets 409 creating an app or upload under acme’s app id', async () => {
    const app = await t.admin('POST', '/v1/admin/apps', { appId: APP_A }, globex);
    const upload = await t.admin('POST', `/v1/admin/apps/${APP_A}/uploads`, { version: '9.9.9', size: 10 }, globex);
    expect(app).toEqual({ status: 409, body: { error: 'conflict', message: `app ${APP_A} belongs to another tenant` } });
    expect(upload.status).toBe(409);
  });

  test('sees only its own apps, keys and log', async () => {
    expect((await t.admin('GET', '/v1/admin/apps', undefined, globex)).body).toEqual({ apps: [] });
    expect((await t.admin('GET', '/v1/admin/apps', undefined, acme)).body).toEqual({ apps: [{ appId: APP_A, createdAt: expect.any(Number) }] });

    const acmeKids = ((await t.admin('GET', '/v1/admin/keys', undefined, acme)).body['keys'] as Array<{ kid: string }>).map((k) => k.kid);
    const globexKids = ((await t.admin('GET', '/v1/admin/keys', undefined, globex)).body['keys'] as Array<{ kid: string }>).map((k) => k.kid);
    expect(acmeKids).toHaveLength(1);
    expect(globexKids).toHaveLength(1);
    expect(acmeKids).not.toEqual(globexKids);

    const token = await attestToken(t, { appId: APP_A, appVersion: '1.0.0', packageBytes: buildA, key: newInstallKey() });
    expect(await tokenPasses(t, token, 'acme', acme)).toBe(true);
    // Another tenant's keys do not verify acme's tokens.
    expect(await tokenPasses(t, token, 'acme', globex)).toBe(false);
    const acmeLog = await t.admin('GET', '/v1/admin/log', undefined, acme);
    const globexLog = await t.admin('GET', '/v1/admin/log', undefined, globex);
    expect((acmeLog.body['entries'] as unknown[]).length).toBeGreaterThanOrEqual(1);
    expect(globexLog.body).toEqual({ entries: [] });
  });
});

test('tenant credentials keep working after a restart', async () => {
  await t.stop();
  const dataDir = t.dataDir;
  t = await startTestCloud({}, dataDir);
  const res = await t.admin('GET', '/v1/admin/apps', undefined, acme);
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ apps: [{ appId: APP_A, createdAt: expect.any(Number) }] });
});
