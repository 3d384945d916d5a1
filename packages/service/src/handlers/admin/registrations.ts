/** Registrations of an app: list, remove, expire (docs/ADMIN_API.md §5). */
import { expireRequestSchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { expireRegistration as expire, listRegistrations as listOf, removeRegistration } from '../../core/admin/registrations';
import type { RegistrationRecord } from '../../core/ports';
import { json, parseJsonBody } from '../http';
import { pathAppId, pathVersion, type AdminRequestWith, type UseCaseDeps } from './context';

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

type RegistrationsRequest = AdminRequestWith<UseCaseDeps<typeof expire>>;

export async function listRegistrations(request: RegistrationsRequest) {
  const registrations = await listOf(request.deps, request.caller, pathAppId(request));
  return json(200, { registrations: registrations.map(publicRegistration) });
}

export async function deleteRegistration(request: RegistrationsRequest) {
  const removed = await removeRegistration(request.deps, request.caller, pathAppId(request), pathVersion(request));
  request.log.info('registration_removed', { tenantId: request.caller.tenantId, appId: removed.appId, version: removed.version });
  return json(200, { registration: publicRegistration(removed) });
}

export async function expireRegistration(request: RegistrationsRequest) {
  const appId = pathAppId(request);
  const version = pathVersion(request);
  const { afterSeconds } = parseRequest(expireRequestSchema, parseJsonBody(request.event));
  const updated = await expire(request.deps, request.caller, appId, version, afterSeconds);
  request.log.info('registration_expiry_set', { tenantId: request.caller.tenantId, appId, version, expiresAt: updated.expiresAt });
  return json(200, { registration: publicRegistration(updated) });
}
