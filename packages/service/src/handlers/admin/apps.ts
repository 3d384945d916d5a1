/** Apps of the caller's tenant: GET/POST /v1/admin/apps, DELETE /v1/admin/apps/{appId}. */
import { createAppSchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import { conflict, notFound, ownedApp, type AdminDepsWith, type AdminRequest } from './context';

export async function listApps(request: AdminRequest) {
  const apps = await request.deps.registry.listApps(request.caller.tenantId);
  return json(200, { apps: apps.map((a) => ({ appId: a.appId, createdAt: a.createdAt })) });
}

/** Idempotent for the owner (200 with the existing app); 409 when another tenant has the id. */
export async function createApp(request: AdminRequest<AdminDepsWith<'keys'>>) {
  const { deps, caller } = request;
  const { appId } = parseRequest(createAppSchema, parseJsonBody(request.event));
  const existing = await deps.registry.getApp(appId);
  if (existing && existing.tenantId !== caller.tenantId) throw conflict(`app ${appId} belongs to another tenant`);
  const app = existing ?? (await deps.registry.ensureApp({ appId, tenantId: caller.tenantId, createdAt: deps.clock.nowSeconds() }));
  if (app.tenantId !== caller.tenantId) throw conflict(`app ${appId} belongs to another tenant`);
  // Tokens of the app are signed with the tenant's key, so the tenant needs one before the first attestation.
  await deps.keys.ensureSigningKey(caller.tenantId);
  if (existing) {
    // Repairs the tenant's app index if an earlier creation was interrupted.
    await deps.registry.ensureApp(existing);
    return json(200, { appId: app.appId, createdAt: app.createdAt });
  }
  request.log.info('app_created', { tenantId: caller.tenantId, appId });
  return json(201, { appId: app.appId, createdAt: app.createdAt });
}

export async function deleteApp(request: AdminRequest) {
  const app = await ownedApp(request);
  const removal = await request.deps.registry.deleteApp(app.appId);
  if (!removal) throw notFound(`no app ${app.appId} in tenant ${request.caller.tenantId}`);
  request.log.info('app_removed', { tenantId: request.caller.tenantId, appId: app.appId, registrations: removal.registrations, devices: removal.devices });
  return json(200, { appId: app.appId, removed: { registrations: removal.registrations, devices: removal.devices, policy: removal.policy } });
}
