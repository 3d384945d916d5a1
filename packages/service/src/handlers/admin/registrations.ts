/** Registrations of an app: list, remove, expire (docs/ADMIN_API.md §5). */
import { expireRequestSchema } from '@attestor/contracts/admin-validation';
import type { RegistrationRecord } from '../../core/ports';
import { parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import { notFound, ownedApp, pathVersion, type AdminRequest } from './context';

/** The object key is internal to the service. */
export function publicRegistration(r: RegistrationRecord): Record<string, unknown> {
  return {
    appId: r.appId,
    version: r.version,
    sha256: r.sha256,
    size: r.size,
    registeredAt: r.registeredAt,
    ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
    ...(r.note !== undefined ? { note: r.note } : {}),
  };
}

export async function listRegistrations(request: AdminRequest) {
  const app = await ownedApp(request);
  const registrations = await request.deps.registry.listRegistrations(app.appId);
  return json(200, { registrations: registrations.map(publicRegistration) });
}

export async function deleteRegistration(request: AdminRequest) {
  const app = await ownedApp(request);
  const version = pathVersion(request);
  const removed = await request.deps.registry.deleteRegistration(app.appId, version);
  if (!removed) throw notFound(`no registration of ${app.appId} ${version}`);
  request.log.info('registration_removed', { tenantId: request.caller.tenantId, appId: app.appId, version });
  return json(200, { registration: publicRegistration(removed) });
}

export async function expireRegistration(request: AdminRequest) {
  const app = await ownedApp(request);
  const version = pathVersion(request);
  const { afterSeconds } = parseRequest(expireRequestSchema, parseJsonBody(request.event));
  const expiresAt = request.deps.clock.nowSeconds() + afterSeconds;
  const updated = await request.deps.registry.setRegistrationExpiry(app.appId, version, expiresAt);
  if (!updated) throw notFound(`no registration of ${app.appId} ${version}`);
  request.log.info('registration_expiry_set', { tenantId: request.caller.tenantId, appId: app.appId, version, expiresAt });
  return json(200, { registration: publicRegistration(updated) });
}
