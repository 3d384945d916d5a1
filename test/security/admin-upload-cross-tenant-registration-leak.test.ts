/**
 * Flaw: GET /v1/admin/uploads/{uploadId} authorises by the upload record's tenant, but then shows
 * whatever registration is *currently* stored under the upload's (appId, version). App ids are
 * global and reusable: after tenant A removes an app (its upload records stay, docs/ADMIN_API.md
 * §3) and tenant B creates the same app id and registers the same version, A's old upload id
 * still answers 200 and embeds B's registration (sha256, size, registeredAt, expiresAt, note).
 * Another tenant's registrations must answer as if they did not exist (ADMIN_API.md §1.2).
 * Fixed: the route now shows a registration only while the app is still the caller's and the
 * registration is of the upload's own build (core/admin/uploads.ts uploadStatus); this test guards it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { AdminCaller } from '../../packages/service/src/core/tenancy';
import { getUpload } from '../../packages/service/src/handlers/admin/uploads';
import { silentLogger } from '../../packages/service/src/handlers/log';
import { ManualClock, MemoryRegistry, registryPorts } from '../support/memory';

const APP = 'com.shared.app';
const VERSION = '1.0.0';
const UPLOAD_ID = 'AcmeUploadAcmeUploadAA';

function event(resource: string, pathParameters: Record<string, string>): APIGatewayProxyEvent {
  const sample = JSON.parse(readFileSync(join(__dirname, '../fixtures/apigw-request.json'), 'utf8')) as APIGatewayProxyEvent;
  return { ...sample, httpMethod: 'GET', resource, path: resource, pathParameters, queryStringParameters: null, body: null };
}

/** The route as the admin router calls it (caller already resolved), independent of how the admin functions are split. */
function asCaller(registry: MemoryRegistry, clock: ManualClock, caller: AdminCaller, pathParameters: Record<string, string>) {
  const deps = {
    ...registryPorts(registry),
    clock,
    random: { bytes: (n: number) => Buffer.alloc(n, 7) },
    defaultTenantId: 'default',
    callerOf: async () => caller,
  };
  const ev = event('/v1/admin/uploads/{uploadId}', pathParameters);
  return { deps, log: silentLogger, caller, event: ev, params: pathParameters, query: {} };
}

const ACME: AdminCaller = { principal: 'arn:aws:iam::123456789012:role/AcmeDeployer', tenantId: 'acme', operator: false, role: 'admin' };

test('admin_getUpload_leaks_other_tenants_registration_after_app_id_reuse', async () => {
  const registry = new MemoryRegistry();
  const clock = new ManualClock();
  // Tenant acme owned the app and registered 1.0.0 through an upload, then removed the app
  // (DELETE /v1/admin/apps/{appId}: upload records stay, docs/ADMIN_API.md §3).
  await registry.appStore.ensureApp({ appId: APP, tenantId: 'acme', createdAt: clock.now });
  await registry.uploadStore.putUpload({
    uploadId: UPLOAD_ID,
    appId: APP,
    version: VERSION,
    objectKey: `builds/${APP}/${VERSION}/${UPLOAD_ID}`,
    status: 'registered',
    createdAt: clock.now,
    tenantId: 'acme',
    sha256: 'a'.repeat(64),
    size: 10,
  });
  expect(await registry.appStore.deleteApp(APP)).toBeDefined();

  // Tenant globex takes the now free app id and registers its own build under the same version.
  clock.advance(100);
  await registry.appStore.ensureApp({ appId: APP, tenantId: 'globex', createdAt: clock.now });
  await registry.registrationStore.putRegistrationIfAbsent({
    appId: APP,
    version: VERSION,
    sha256: 'b'.repeat(64),
    size: 4242,
    objectKey: `builds/${APP}/${VERSION}/GlobexUploadGlobexUpl`,
    registeredAt: clock.now,
    note: 'globex internal RC',
  });

  // acme reads its stale upload: globex's registration must not be shown to it.
  const result = await getUpload(asCaller(registry, clock, ACME, { uploadId: UPLOAD_ID }));
  const text = result.body;
  expect(text).not.toContain('b'.repeat(64));
  expect(text).not.toContain('globex internal RC');
});
