/** The caller's tenant's token keys (docs/ADMIN_API.md §8): the key manager (core/ports.ts TenantKeyManager) decides everything. */
import { rotateKeySchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import type { AdminRequestWith } from './context';
import type { TenantKeyManager } from '../../core/ports';
import { rotateTenantKeys, type KeyRotationDeps } from '../../core/admin/key-rotation';

type KeysRequest = AdminRequestWith<{ readonly keys: TenantKeyManager }>;

export async function listKeys(request: KeysRequest) {
  return json(200, { keys: await request.deps.keys.describeKeys(request.caller.tenantId) });
}

/** 201 with the new key; 429 rate_limited (Retry-After) when the tenant rotated within the hour. */
export async function rotateKey(request: AdminRequestWith<KeyRotationDeps>) {
  const { tenantId } = request.caller;
  // An empty body keeps the tenant's format; {"format": "es256"} or {"format": "hs256"} switches it.
  const body = request.event.body ? parseRequest(rotateKeySchema, parseJsonBody(request.event)) : {};
  const rotation = await rotateTenantKeys(request.deps, request.caller, body.format);
  const { kid, format, activatesAt, keysDeleted, keysNotDeleted } = rotation;
  request.log.info('key_rotated', { tenantId, kid, format, activatesAt, keysDeleted: [...keysDeleted] });
  for (const failed of keysNotDeleted) request.log.warn('retired_key_not_deleted', { tenantId, kid: failed.kid, reason: failed.reason });
  return json(201, rotation);
}

/** es256 public keys. Empty for a tenant that signs hs256, whose tokens no public key verifies. */
export async function jwks(request: KeysRequest) {
  return json(200, await request.deps.keys.jwks(request.caller.tenantId));
}

/** hs256 secrets, wrapped: only a caller allowed KMS Decrypt under the tenant's encryption context can use them. */
export async function wrappedSecrets(request: KeysRequest) {
  return json(200, await request.deps.keys.wrappedSecrets(request.caller.tenantId));
}
