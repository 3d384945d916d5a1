/**
 * Principal roles on every admin route (docs/ADMIN_API.md §1.2): each role is tried on each route of
 * src/routes.ts through the admin functions as API Gateway routes to them, and the outcome is held
 * to what the roles mean, written out here rather than read from the table: `register` may only
 * upload builds and follow them into registrations, `read` may only call GET routes, `admin` may
 * call every tenant route, and only operators the operator routes. A refusal is a 403 naming the
 * roles that may, and no port is called.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ADMIN_KEYS_ROUTES, ADMIN_UPLOADS_ROUTES, ROUTES, routeKey, type PrincipalRole } from '../../../packages/contracts/src/routes';
import { ForbiddenError, RoleRequiredError } from '../../../packages/service/src/core/errors';
import { authorizeRoute, resolveAdminCaller, type AdminCaller } from '../../../packages/service/src/core/tenancy';
import type { AdminDeps } from '../../../packages/service/src/handlers/admin';
import { silentLogger } from '../../../packages/service/src/handlers/log';
import { inertKeyManager, inertUploadUrls, ManualClock, MemoryRegistry, registryPorts } from '../../support/memory';
import { routedAdminHandler } from './admin-routing';

const ACCOUNT = 'arn:aws:iam::123456789012';
const PRINCIPAL: Readonly<Record<PrincipalRole, string>> = {
  register: `${ACCOUNT}:role/AcmeCiRegister`,
  read: `${ACCOUNT}:role/AcmeViewer`,
  admin: `${ACCOUNT}:role/AcmeDeployer`,
};
const LEGACY = `${ACCOUNT}:role/AcmeFromBeforeRoles`;
const OPERATOR = `${ACCOUNT}:user/ops`;

/** What registering a build calls (the CLI's `attestor register`): the upload, and reads of its outcome. */
const REGISTER_ROUTES = [
  'POST /v1/admin/apps/{appId}/uploads',
  'POST /v1/admin/uploads/{uploadId}/complete',
  'GET /v1/admin/uploads/{uploadId}',
  'GET /v1/admin/apps/{appId}/registrations',
];
/** Every tenant's business: tenants and the register function's failures. */
const OPERATOR_ROUTES = [
  'GET /v1/admin/tenants',
  'POST /v1/admin/tenants',
  'POST /v1/admin/tenants/{tenantId}/principals',
  'POST /v1/admin/tenants/{tenantId}/principals/revoke',
  'GET /v1/admin/registrations/failures',
  'POST /v1/admin/registrations/failures/retry',
  'POST /v1/admin/registrations/failures/clear',
];

function mayCall(role: PrincipalRole, route: { method: string; path: string }): boolean {
  const key = routeKey(route);
  if (OPERATOR_ROUTES.includes(key)) return false;
  if (role === 'admin') return true;
  if (role === 'read') return route.method === 'GET';
  return REGISTER_ROUTES.includes(key);
}

const ADMIN_ROUTES = ROUTES.filter((r) => r.auth === 'iam');
const PARAMS: Readonly<Record<string, string>> = {
  appId: 'com.acme.app',
  version: '1.0.0',
  uploadId: 'CQkJCQkJCQkJCQkJCQkJCQ',
  deviceId: 'debug.AAAAAAAAAAAAAAAAAAAAAA',
  tenantId: 'acme',
};

function event(route: { method: string; path: string }, userArn: string): APIGatewayProxyEvent {
  const sample = JSON.parse(readFileSync(join(__dirname, '../../fixtures/apigw-request.json'), 'utf8')) as APIGatewayProxyEvent;
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return {
    ...sample,
    httpMethod: route.method,
    resource: route.path,
    path: route.path.replace(/\{(\w+)\}/g, (_, name: string) => PARAMS[name]!),
    pathParameters: names.length ? Object.fromEntries(names.map((n) => [n, PARAMS[n]!])) : null,
    queryStringParameters: null,
    body: route.method === 'POST' || route.method === 'PUT' ? '{}' : null,
    requestContext: { ...sample.requestContext, identity: { ...sample.requestContext.identity, userArn } },
  };
}

/** Wraps a port so that every method call is recorded: a refused request must call none. */
function recording<T extends object>(port: T, calls: string[], name: string): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(`${name}.${String(property)}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function setup() {
  const registry = new MemoryRegistry();
  for (const role of ['register', 'read', 'admin'] as const) {
    registry.principals.set(PRINCIPAL[role], { principal: PRINCIPAL[role], tenantId: 'acme', operator: false, role });
  }
  // Mapped before principals had roles: no role recorded.
  registry.principals.set(LEGACY, { principal: LEGACY, tenantId: 'acme', operator: false });
  registry.tenants.set('acme', { tenantId: 'acme', createdAt: 1 });
  const keys = inertKeyManager();
  const uploadUrls = inertUploadUrls();
  const calls: string[] = [];
  const ports = { ...registryPorts(registry), keys, uploadUrls };
  const recorded = Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, recording(port, calls, name)])) as typeof ports;
  const deps: AdminDeps = {
    ...recorded,
    clock: new ManualClock(),
    random: { bytes: (n) => Buffer.alloc(n, 9) },
    maxBuildBytes: 2 * 1024 ** 3,
    defaultTenantId: 'default',
    callerOf: (e) =>
      resolveAdminCaller(
        { directory: registry.directory, operatorPrincipals: new Set([OPERATOR]), defaultTenantId: 'default' },
        e.requestContext?.identity?.userArn,
      ),
  };
  return { calls, handler: routedAdminHandler(deps, silentLogger) };
}

const cases = ADMIN_ROUTES.flatMap((route) => (['register', 'read', 'admin'] as const).map((role) => ({ role, route, key: routeKey(route) })));

describe.each(cases)('$role on $key', ({ role, route, key }) => {
  if (mayCall(role, route)) {
    test('is let through to the route', async () => {
      const { handler } = setup();
      const result = await handler(event(route, PRINCIPAL[role]));
      // Whatever the route then answers (400 for the empty body, 404 for the missing app...), it is not a refusal.
      expect({ key, status: result.statusCode }).not.toEqual({ key, status: 403 });
    });
  } else {
    test('is refused with 403, and nothing is read or written', async () => {
      // Prepare
      const { handler, calls } = setup();

      // Act
      const result = await handler(event(route, PRINCIPAL[role]));

      // Assess
      expect(result.statusCode).toBe(403);
      const body = JSON.parse(result.body) as Record<string, unknown>;
      if (OPERATOR_ROUTES.includes(key)) {
        expect(body).toEqual({ error: 'forbidden', message: `only an operator credential may call ${key}` });
      } else {
        // A write needs admin, or register too for an upload; a read that register may not make needs read or admin.
        const requiredRoles = REGISTER_ROUTES.includes(key) ? ['register', 'admin'] : route.method === 'GET' ? ['read', 'admin'] : ['admin'];
        expect(body).toEqual({
          error: 'forbidden',
          message: `${key} needs role ${requiredRoles.join(' or ')}; principal ${PRINCIPAL[role]} has role ${role} in tenant acme`,
          requiredRoles,
          role,
          tenantId: 'acme',
          principal: PRINCIPAL[role],
        });
      }
      expect(calls).toEqual([]);
    });
  }
});

test.each(ADMIN_ROUTES.map((r) => ({ key: routeKey(r), route: r })))('an operator is let through to $key', async ({ route, key }) => {
  const { handler } = setup();
  const result = await handler(event(route, OPERATOR));
  expect({ key, status: result.statusCode }).not.toEqual({ key, status: 403 });
});

test.each(ADMIN_ROUTES.map((r) => ({ key: routeKey(r), route: r })))(
  'a principal mapped before roles existed is an admin on $key',
  async ({ route, key }) => {
    const { handler } = setup();
    const result = await handler(event(route, LEGACY));
    const refused = { key, status: 403 };
    if (OPERATOR_ROUTES.includes(key)) expect({ key, status: result.statusCode }).toEqual(refused);
    else expect({ key, status: result.statusCode }).not.toEqual(refused);
  },
);

test('the test covers every admin route the table has, and each tenant role may call something', () => {
  expect(ADMIN_ROUTES.length).toBeGreaterThan(20);
  for (const key of [...REGISTER_ROUTES, ...OPERATOR_ROUTES]) expect(ADMIN_ROUTES.map(routeKey)).toContain(key);
  for (const role of ['register', 'read', 'admin'] as const) expect(ADMIN_ROUTES.some((r) => mayCall(role, r))).toBe(true);
});

describe('authorizeRoute', () => {
  const caller = (role: PrincipalRole, operator = false): AdminCaller => ({ principal: PRINCIPAL[role], tenantId: 'acme', operator, role });

  test('fails closed on a route the table does not list, even for an operator', () => {
    expect(() => authorizeRoute(caller('admin', true), 'GET /v1/admin/secret-backdoor', ADMIN_UPLOADS_ROUTES)).toThrow(ForbiddenError);
    expect(() => authorizeRoute(caller('admin'), 'GET /v1/admin/secret-backdoor', ADMIN_UPLOADS_ROUTES)).toThrow(
      'GET /v1/admin/secret-backdoor is not an admin route',
    );
  });

  test("fails closed on another function's route: each function authorizes against its own table", () => {
    // An operator may call every route, but a key rotation sent to adminUploads is no route of adminUploads.
    expect(() => authorizeRoute(caller('admin', true), 'POST /v1/admin/keys/rotate', ADMIN_UPLOADS_ROUTES)).toThrow(ForbiddenError);
    expect(() => authorizeRoute(caller('admin', true), 'POST /v1/admin/keys/rotate', ADMIN_KEYS_ROUTES)).not.toThrow();
  });

  test('refuses with RoleRequiredError, naming the roles that may, least privileged first', () => {
    let thrown: unknown;
    try {
      authorizeRoute(caller('read'), 'POST /v1/admin/apps/{appId}/uploads', ADMIN_UPLOADS_ROUTES);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RoleRequiredError);
    expect(thrown).toMatchObject({ requiredRoles: ['register', 'admin'], role: 'read', code: 'forbidden' });
  });
});

describe('resolveAdminCaller', () => {
  test('gives a mapped principal its recorded role, one without a role admin, and an operator admin', async () => {
    const registry = new MemoryRegistry();
    registry.principals.set(PRINCIPAL.register, { principal: PRINCIPAL.register, tenantId: 'acme', operator: false, role: 'register' });
    registry.principals.set(LEGACY, { principal: LEGACY, tenantId: 'acme', operator: false });
    const options = { directory: registry.directory, operatorPrincipals: new Set([OPERATOR]), defaultTenantId: 'default' };
    expect((await resolveAdminCaller(options, 'arn:aws:sts::123456789012:assumed-role/AcmeCiRegister/gha-42'))?.role).toBe('register');
    expect((await resolveAdminCaller(options, LEGACY))?.role).toBe('admin');
    expect(await resolveAdminCaller(options, OPERATOR)).toEqual({ principal: OPERATOR, tenantId: 'default', operator: true, role: 'admin' });
  });
});
