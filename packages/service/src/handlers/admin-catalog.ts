/**
 * The adminCatalog function (docs/ADMIN_API.md): what a tenant has registered (apps, registrations,
 * identities, policies, devices) and what happened to it (the attestation log, stats). DynamoDB only.
 * App creation provisions the tenant's signing key, so it is served by adminKeys.
 */
import { deleteApp, listApps } from './admin/apps';
import type { AdminCatalogDeps } from './admin/context';
import { addDevice, listDevices, removeDevice } from './admin/devices';
import { getIdentity, putIdentity } from './admin/identity';
import { readLog, stats } from './admin/log';
import { getPolicy, putPolicy } from './admin/policy';
import { deleteRegistration, expireRegistration, listRegistrations } from './admin/registrations';
import { adminRouter, type AdminRoutes } from './admin/router';
import { ADMIN_CATALOG_ROUTES } from '@attestor/contracts/routes';
import type { ApiHandler } from './http';
import type { Logger } from './log';
import { noMetrics, type ServiceMetrics } from './metrics';

export const CATALOG_ROUTES: AdminRoutes<AdminCatalogDeps> = {
  'GET /v1/admin/apps': listApps,
  'DELETE /v1/admin/apps/{appId}': deleteApp,
  'GET /v1/admin/apps/{appId}/registrations': listRegistrations,
  'DELETE /v1/admin/apps/{appId}/registrations/{version}': deleteRegistration,
  'POST /v1/admin/apps/{appId}/registrations/{version}/expire': expireRegistration,
  'GET /v1/admin/apps/{appId}/identity': getIdentity,
  'PUT /v1/admin/apps/{appId}/identity': putIdentity,
  'GET /v1/admin/apps/{appId}/policy': getPolicy,
  'PUT /v1/admin/apps/{appId}/policy': putPolicy,
  'GET /v1/admin/apps/{appId}/devices': listDevices,
  'POST /v1/admin/apps/{appId}/devices': addDevice,
  'DELETE /v1/admin/apps/{appId}/devices/{deviceId}': removeDevice,
  'GET /v1/admin/log': readLog,
  'GET /v1/admin/stats': stats,
};

export function adminCatalogHandler(deps: AdminCatalogDeps, log: Logger, metrics: ServiceMetrics = noMetrics): ApiHandler {
  return adminRouter('adminCatalog', ADMIN_CATALOG_ROUTES, CATALOG_ROUTES, deps, log, metrics);
}
