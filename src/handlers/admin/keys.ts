/** The caller's tenant's signing keys (docs/ADMIN_API.md §8). */
import { json } from '../http';
import type { AdminDepsWith, AdminRequest } from './context';

export async function listKeys(request: AdminRequest<AdminDepsWith<'keys'>>) {
  return json(200, { keys: await request.deps.keys.describeKeys(request.caller.tenantId) });
}

export async function rotateKey(request: AdminRequest<AdminDepsWith<'keys'>>) {
  const { tenantId } = request.caller;
  const rotation = await request.deps.keys.rotateSigningKey(tenantId);
  const { kid, activatesAt, keysDeleted, keysNotDeleted } = rotation;
  request.log.info('key_rotated', { tenantId, kid, activatesAt, keysDeleted: [...keysDeleted] });
  for (const failed of keysNotDeleted) request.log.warn('retired_key_not_deleted', { tenantId, kid: failed.kid, reason: failed.reason });
  return json(201, rotation);
}

export async function jwks(request: AdminRequest<AdminDepsWith<'keys'>>) {
  return json(200, await request.deps.keys.jwks(request.caller.tenantId));
}
