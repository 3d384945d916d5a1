/**
 * The admin handler against API Gateway's real event shape (the aws-lambda-go sample), with the
 * in-memory registry: route coverage, IAM identity to tenant, and error mapping the local cloud
 * cannot provoke (S3 refusing a multipart completion, AWS tenant creation).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { MultipartRejectedError, type UploadUrlIssuer } from '../../../packages/service/src/core/ports';
import { resolveAdminCaller } from '../../../packages/service/src/core/tenancy';
import { ADMIN_ROUTE_KEYS, type AdminDeps } from '../../../packages/service/src/handlers/admin';
import { TENANT_CREATION_RESUME_SECONDS } from '../../../packages/service/src/core/admin/tenants';
import { DependencyUnavailableError } from '../../../packages/service/src/core/errors';
import { silentLogger } from '../../../packages/service/src/handlers/log';
import { ADMIN_CATALOG_ROUTES, ADMIN_KEYS_ROUTES, ADMIN_LAMBDAS, ADMIN_UPLOADS_ROUTES, ROUTES } from '../../../packages/contracts/src/routes';
import { routedAdminHandler } from './admin-routing';
import { inertKeyManager, inertUploadUrls, ManualClock, MemoryRegistry, registryPorts } from '../../support/memory';

const ROLE = 'arn:aws:iam::123456789012:role/Deployer';
const APP = 'com.example.app';

function event(method: string, resource: string, userArn: string | null, extra: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  const sample = JSON.parse(readFileSync(join(__dirname, '../../fixtures/apigw-request.json'), 'utf8')) as APIGatewayProxyEvent;
  return {
    ...sample,
    httpMethod: method,
    resource,
    path: resource,
    pathParameters: null,
    queryStringParameters: null,
    body: null,
    requestContext: { ...sample.requestContext, identity: { ...sample.requestContext.identity, userArn } },
    ...extra,
  };
}

function setup(completeMultipart: UploadUrlIssuer['completeMultipart'] = async () => undefined) {
  const registry = new MemoryRegistry();
  const clock = new ManualClock();
  registry.principals.set(ROLE, { principal: ROLE, tenantId: 'acme', operator: false });
  registry.principals.set('arn:aws:iam::123456789012:user/ops', { principal: 'arn:aws:iam::123456789012:user/ops', tenantId: 'default', operator: true });
  const keys = inertKeyManager();
  const uploads = inertUploadUrls(completeMultipart);
  const deps: AdminDeps = {
    ...registryPorts(registry),
    keys,
    uploadUrls: uploads,
    clock,
    random: { bytes: (n) => Buffer.alloc(n, 9) },
    maxBuildBytes: 2 * 1024 ** 3,
    defaultTenantId: 'default',
    callerOf: (e) => resolveAdminCaller(
      { directory: registry.directory, operatorPrincipals: new Set(), defaultTenantId: 'default' },
      e.requestContext?.identity?.userArn,
    ),
  };
  return { registry, clock, keys, handler: routedAdminHandler(deps, silentLogger) };
}

const json = (result: { body: string }) => JSON.parse(result.body) as Record<string, unknown>;

test.each(ADMIN_LAMBDAS)('every route src/routes.ts gives %s has a handler there, and no handler there lacks a route', (name) => {
  const declared = ROUTES.filter((r) => r.lambda === name).map((r) => `${r.method} ${r.path}`);
  expect(declared.length).toBeGreaterThan(0);
  expect([...ADMIN_ROUTE_KEYS[name]].sort()).toEqual([...declared].sort());
});

test("each admin function's route table (the one its router authorizes against) holds exactly its routes", () => {
  const tables = { adminKeys: ADMIN_KEYS_ROUTES, adminCatalog: ADMIN_CATALOG_ROUTES, adminUploads: ADMIN_UPLOADS_ROUTES };
  for (const name of ADMIN_LAMBDAS) {
    expect(tables[name].every((r) => r.lambda === name)).toBe(true);
    expect(tables[name]).toEqual(ROUTES.filter((r) => r.lambda === name));
  }
});

test('every /v1/admin route goes to an admin function, and no other route does', () => {
  const adminNames: readonly string[] = ADMIN_LAMBDAS;
  const key = (r: (typeof ROUTES)[number]) => `${r.method} ${r.path}`;
  expect(ROUTES.filter((r) => adminNames.includes(r.lambda)).map(key)).toEqual(ROUTES.filter((r) => r.path.startsWith('/v1/admin/')).map(key));
});

describe('IAM identity', () => {
  test('an assumed-role session acts on its role’s tenant', async () => {
    const { handler, registry } = setup();
    await registry.appStore.ensureApp({ appId: APP, tenantId: 'acme', createdAt: 1 });
    await registry.appStore.ensureApp({ appId: 'com.other.app', tenantId: 'globex', createdAt: 1 });
    const result = await handler(event('GET', '/v1/admin/apps', 'arn:aws:sts::123456789012:assumed-role/Deployer/ci-7'));
    expect(result.statusCode).toBe(200);
    expect(json(result)).toEqual({ apps: [{ appId: APP, createdAt: 1 }] });
  });

  test.each([
    ['no identity', null],
    ['an unmapped user', 'arn:aws:iam::123456789012:user/mallory'],
    ['the same role name in another account', 'arn:aws:sts::999999999999:assumed-role/Deployer/x'],
  ])('%s gets 403 and nothing is read', async (_what, arn) => {
    const { handler, registry } = setup();
    const spy = jest.spyOn(registry.appStore, 'listApps');
    const result = await handler(event('GET', '/v1/admin/apps', arn));
    expect(result.statusCode).toBe(403);
    expect(json(result)).toEqual({ error: 'forbidden', message: 'this credential has no access to any tenant' });
    expect(spy).not.toHaveBeenCalled();
  });

  test('in AWS (no credential issuer) a tenant needs principals, and gets them mapped', async () => {
    const { handler, registry } = setup();
    const ops = 'arn:aws:iam::123456789012:user/ops';
    const missing = await handler(event('POST', '/v1/admin/tenants', ops, { body: JSON.stringify({ tenantId: 'initech' }) }));
    expect(json(missing)).toEqual({
      error: 'invalid_request',
      field: 'principals',
      message: 'principals is required (IAM principal ARNs that administer the tenant)',
    });
    expect(registry.tenants.has('initech')).toBe(false);
    const created = await handler(event(
      'POST',
      '/v1/admin/tenants',
      ops,
      { body: JSON.stringify({ tenantId: 'initech', principals: ['arn:aws:iam::123456789012:role/team/Initech'] }) },
    ));
    expect(created.statusCode).toBe(201);
    expect(json(created)).toEqual({
      tenantId: 'initech',
      createdAt: expect.any(Number),
      principals: ['arn:aws:iam::123456789012:role/Initech'],
      roles: { 'arn:aws:iam::123456789012:role/Initech': 'admin' },
    });
    expect(json(created)).not.toHaveProperty('credential');
    expect(registry.principals.get('arn:aws:iam::123456789012:role/Initech')).toEqual({
      principal: 'arn:aws:iam::123456789012:role/Initech',
      tenantId: 'initech',
      operator: false,
      role: 'admin',
    });
  });
});

describe('tenant creation that fails part-way', () => {
  const ops = 'arn:aws:iam::123456789012:user/ops';
  const create = (tenantId: string, principal: string) => event(
    'POST',
    '/v1/admin/tenants',
    ops,
    { body: JSON.stringify({ tenantId, principals: [principal] }) },
  );

  test('is undone, so that creating it again works at once', async () => {
    // Prepare: KMS fails once, after the tenant record was written.
    const { handler, registry, keys } = setup();
    jest.spyOn(keys, 'ensureSigningKey').mockRejectedValueOnce(new DependencyUnavailableError('kms throttled', { code: 'throttled' }));
    const principal = 'arn:aws:iam::123456789012:role/Globex';
    // Act
    const failed = await handler(create('globex', principal));
    const undone = !registry.tenants.has('globex');
    const retried = await handler(create('globex', principal));
    // Assess: a throttled dependency is a 503 to retry, and nothing was left half-written.
    expect(failed.statusCode).toBe(503);
    expect(failed.headers?.['retry-after']).toBe('1');
    expect(undone).toBe(true);
    expect(retried.statusCode).toBe(201);
  });

  test('whose undo fails too is finished by creating the tenant again a minute later, and refused before that', async () => {
    // Prepare: KMS fails once, after the tenant record was written, and DynamoDB then fails the undo.
    const { handler, registry, clock, keys } = setup();
    jest.spyOn(keys, 'ensureSigningKey').mockRejectedValueOnce(new DependencyUnavailableError('kms throttled', { code: 'throttled' }));
    jest.spyOn(registry.directory, 'deleteTenant').mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException'));
    const principal = 'arn:aws:iam::123456789012:role/Globex';
    const failed = await handler(create('globex', principal));
    expect(failed.statusCode).toBe(503);
    const createdAt = registry.tenants.get('globex')!.createdAt;
    expect(registry.principals.has(principal)).toBe(false);

    // Act and assess: too soon, then resumed.
    clock.advance(TENANT_CREATION_RESUME_SECONDS - 1);
    const early = await handler(create('globex', principal));
    expect(early.statusCode).toBe(409);
    expect(json(early)['message']).toMatch(/is being created: if that creation failed, run the command again in a minute/);
    clock.advance(1);
    const resumed = await handler(create('globex', principal));
    expect(resumed.statusCode).toBe(201);
    expect(json(resumed)).toEqual({ tenantId: 'globex', createdAt, principals: [principal], roles: { [principal]: 'admin' } });
    expect(registry.principals.get(principal)).toEqual({ principal, tenantId: 'globex', operator: false, role: 'admin' });
    // The tenant's key, then (once it exists) the default tenant's, which unknown app ids fetch as a stand-in.
    expect(jest.mocked(keys.ensureSigningKey).mock.calls.map(([tenantId]) => tenantId)).toEqual(['globex', 'globex', 'default']);

    // A finished tenant is never resumed, however old; nor is the default tenant, which has no principals in AWS.
    clock.advance(3600);
    expect(json(await handler(create('globex', 'arn:aws:iam::123456789012:role/Other')))).toEqual({ error: 'conflict', message: 'tenant globex exists' });
    await registry.directory.putTenantIfAbsent({ tenantId: 'default', createdAt: 1 });
    // In AWS operators are named by the stack (OPERATOR_PRINCIPALS), so the default tenant lists no principals.
    jest.spyOn(registry.directory, 'listPrincipals').mockResolvedValue([]);
    expect(json(await handler(create('default', 'arn:aws:iam::123456789012:role/Other')))).toEqual({ error: 'conflict', message: 'tenant default exists' });
    expect(registry.principals.has('arn:aws:iam::123456789012:role/Other')).toBe(false);
  });
});

describe('completing a multipart upload', () => {
  async function pendingMultipart(registry: MemoryRegistry) {
    await registry.appStore.ensureApp({ appId: APP, tenantId: 'acme', createdAt: 1 });
    const uploadId = 'CQkJCQkJCQkJCQkJCQkJCQ';
    await registry.uploadStore.putUpload({
      uploadId,
      appId: APP,
      version: '1.0.0',
      objectKey: `builds/${APP}/1.0.0/${uploadId}`,
      status: 'pending',
      createdAt: 1,
      tenantId: 'acme',
      expectedSize: 100 * 1024 ** 2,
      multipartUploadId: 'mp-1',
    });
    return uploadId;
  }
  const parts = JSON.stringify({ parts: Array.from({ length: 7 }, (_, i) => ({ partNumber: i + 1, etag: `"e${i}"` })) });
  const complete = (uploadId: string) =>
    event('POST', '/v1/admin/uploads/{uploadId}/complete', 'arn:aws:sts::123456789012:assumed-role/Deployer/x', { pathParameters: { uploadId }, body: parts });

  test.each([
    ['refused parts', new MultipartRejectedError('S3 refused the parts: InvalidPart', false), 400, 'invalid_request'],
    ['a vanished multipart upload', new MultipartRejectedError('gone', true), 409, 'conflict'],
    ['an S3 outage', new Error('socket hang up'), 500, 'internal_error'],
  ])('maps %s to its status', async (_what, error, status, code) => {
    const { handler, registry } = setup(async () => Promise.reject(error));
    const uploadId = await pendingMultipart(registry);
    const result = await handler(complete(uploadId));
    expect(result.statusCode).toBe(status);
    expect(json(result)['error']).toBe(code);
    expect(registry.uploads.get(uploadId)?.completedAt).toBeUndefined();
  });

  test('records completion once and answers a retry the same', async () => {
    let calls = 0;
    const { handler, registry } = setup(async () => {
      calls++;
    });
    const uploadId = await pendingMultipart(registry);
    const first = await handler(complete(uploadId));
    const second = await handler(complete(uploadId));
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(json(first)).toEqual(json(second));
    expect(json(first)).not.toHaveProperty('multipartUploadId');
    expect(calls).toBe(1);
  });
});
