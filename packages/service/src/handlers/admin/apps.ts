/** Apps of the caller's tenant: GET/POST /v1/admin/apps, DELETE /v1/admin/apps/{appId}. */
import { createAppSchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { createApp as createTenantApp, listApps as listTenantApps, removeApp } from '../../core/admin/apps';
import { json, parseJsonBody } from '../http';
import { pathAppId, type AdminRequestWith, type UseCaseDeps } from './context';

export async function listApps(request: AdminRequestWith<UseCaseDeps<typeof listTenantApps>>) {
  const apps = await listTenantApps(request.deps, request.caller);
  return json(200, { apps: apps.map((a) => ({ appId: a.appId, createdAt: a.createdAt })) });
}

/** 201 when created, 200 with the existing app when the caller's tenant has it already. */
export async function createApp(request: AdminRequestWith<UseCaseDeps<typeof createTenantApp>>) {
  const { caller } = request;
  const { appId } = parseRequest(createAppSchema, parseJsonBody(request.event));
  const { app, created } = await createTenantApp(request.deps, caller, appId);
  if (created) request.log.info('app_created', { tenantId: caller.tenantId, appId });
  return json(created ? 201 : 200, { appId: app.appId, createdAt: app.createdAt });
}

export async function deleteApp(request: AdminRequestWith<UseCaseDeps<typeof removeApp>>) {
  const removal = await removeApp(request.deps, request.caller, pathAppId(request));
  const { app, registrations, devices, policy } = removal;
  request.log.info('app_removed', { tenantId: request.caller.tenantId, appId: app.appId, registrations, devices });
  return json(200, { appId: app.appId, removed: { registrations, devices, policy } });
}
