/**
 * Admin API (docs/ADMIN_API.md): AWS_IAM (SigV4) in AWS, SigV4 against the local credentials on
 * the local cloud. Every route first resolves the caller to its tenant; a caller with no tenant
 * gets 403 and nothing is read. The routes themselves live in ./admin/, one file per resource.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createApp, deleteApp, listApps } from './admin/apps';
import { forbidden, notFound, type AdminDeps, type AdminRoute } from './admin/context';
import { addDevice, listDevices, removeDevice } from './admin/devices';
import { jwks, listKeys, rotateKey } from './admin/keys';
import { readLog, stats } from './admin/log';
import { getPolicy, putPolicy } from './admin/policy';
import { deleteRegistration, expireRegistration, listRegistrations } from './admin/registrations';
import { createTenant, listTenants } from './admin/tenants';
import { completeUpload, createUpload, getUpload } from './admin/uploads';
import { httpHandler, type ApiHandler } from './http';
import type { Logger } from './log';

export type { AdminDeps } from './admin/context';

/** Keyed like src/routes.ts: `${method} ${path}`. A route added there without a handler here answers 404. */
const ADMIN_ROUTES: Readonly<Record<string, AdminRoute>> = {
  'GET /v1/admin/tenants': listTenants,
  'POST /v1/admin/tenants': createTenant,
  'GET /v1/admin/apps': listApps,
  'POST /v1/admin/apps': createApp,
  'DELETE /v1/admin/apps/{appId}': deleteApp,
  'POST /v1/admin/apps/{appId}/uploads': createUpload,
  'GET /v1/admin/uploads/{uploadId}': getUpload,
  'POST /v1/admin/uploads/{uploadId}/complete': completeUpload,
  'GET /v1/admin/apps/{appId}/registrations': listRegistrations,
  'DELETE /v1/admin/apps/{appId}/registrations/{version}': deleteRegistration,
  'POST /v1/admin/apps/{appId}/registrations/{version}/expire': expireRegistration,
  'GET /v1/admin/apps/{appId}/policy': getPolicy,
  'PUT /v1/admin/apps/{appId}/policy': putPolicy,
  'GET /v1/admin/apps/{appId}/devices': listDevices,
  'POST /v1/admin/apps/{appId}/devices': addDevice,
  'DELETE /v1/admin/apps/{appId}/devices/{deviceId}': removeDevice,
  'GET /v1/admin/keys': listKeys,
  'POST /v1/admin/keys/rotate': rotateKey,
  'GET /v1/admin/keys/jwks': jwks,
  'GET /v1/admin/log': readLog,
  'GET /v1/admin/stats': stats,
};

/** The admin routes this handler serves, for checking against src/routes.ts. */
export const ADMIN_ROUTE_KEYS: readonly string[] = Object.keys(ADMIN_ROUTES);

const routeKey = (event: APIGatewayProxyEvent) => `${event.httpMethod} ${event.resource}`;

export function adminHandler(deps: AdminDeps, log: Logger): ApiHandler {
  return httpHandler('admin', log, async (event) => {
    const caller = await deps.callerOf(event);
    if (!caller) throw forbidden('this credential has no access to any tenant');
    const route = ADMIN_ROUTES[routeKey(event)];
    if (!route) throw notFound(`no admin route ${routeKey(event)}`);
    return route({ deps, log, caller, event, params: event.pathParameters ?? {}, query: event.queryStringParameters ?? {} });
  });
}
