/** The caller's tenant's signing keys (docs/ADMIN_API.md §8). */
import { json } from '../http';
import type { AdminDepsWith, AdminRequest } from './context';

export async function listKeys(request: AdminRequest<AdminDepsWith<'keys'>>) {
  return json(200, { keys: await request.deps.keys.describeKeys(request.caller.tenantId) });
}

export async function rotateKey(request: AdminRequest<AdminDepsWith<'keys'>>) {
  const { kid, activatesAt } = await request.deps.keys.rotateSigningKey(request.caller.tenantId);
  request.log.info('key_rotated', { tenantId: request.caller.tenantId, kid, activatesAt });
  return json(201, { kid, activatesAt });
}

export async function jwks(request: AdminRequest<AdminDepsWith<'keys'>>) {
  return json(200, await request.deps.keys.jwks(request.caller.tenantId));
}
