/** Tenants (operators only): POST/GET /v1/admin/tenants, POST /v1/admin/tenants/{tenantId}/principals. */
import { createTenantSchema, grantRoleSchema, revokeRoleSchema } from '@attestor/contracts/admin-validation';
import { parseRequest, tenantIdSchema } from '@attestor/contracts/validation';
import { requireOperator } from '../../core/admin/ownership';
import { createTenant as create, grantRole as grant, listTenants as listAll, revokeRole as revoke } from '../../core/admin/tenants';
import { json, parseJsonBody } from '../http';
import { pathParam, type AdminRequestWith, type UseCaseDeps } from './context';

export { TENANT_CREATION_RESUME_SECONDS } from '../../core/admin/tenants';

export async function createTenant(request: AdminRequestWith<UseCaseDeps<typeof create>>) {
  const { caller } = request;
  // Before parsing: a caller who may not create tenants learns nothing of what a valid request is.
  requireOperator(caller);
  const created = await create(request.deps, caller, parseRequest(createTenantSchema, parseJsonBody(request.event)));
  if (created.resumed) request.log.info('tenant_creation_resumed', { tenantId: created.tenantId, by: caller.principal });
  // Counts the principals the request named, not the credential issued for it.
  const named = created.principals.length - (created.credential ? 1 : 0);
  request.log.info('tenant_created', { tenantId: created.tenantId, by: caller.principal, principals: named });
  return json(201, {
    tenantId: created.tenantId,
    createdAt: created.createdAt,
    principals: created.principals,
    roles: created.roles,
    ...(created.credential ? { credential: created.credential } : {}),
  });
}

export async function listTenants(request: AdminRequestWith<UseCaseDeps<typeof listAll>>) {
  return json(200, { tenants: await listAll(request.deps, request.caller) });
}

export async function grantRole(request: AdminRequestWith<UseCaseDeps<typeof grant>>) {
  const { caller } = request;
  requireOperator(caller);
  const tenantId = pathParam(request, 'tenantId', tenantIdSchema);
  const granted = await grant(request.deps, caller, { tenantId, ...parseRequest(grantRoleSchema, parseJsonBody(request.event)) });
  request.log.info('principal_role_granted', {
    tenantId,
    by: caller.principal,
    principal: granted.principal,
    role: granted.role,
    ...(granted.previousRole ? { previousRole: granted.previousRole } : {}),
  });
  return json(granted.previousRole ? 200 : 201, {
    tenantId,
    principal: granted.principal,
    role: granted.role,
    ...(granted.previousRole ? { previousRole: granted.previousRole } : {}),
    ...(granted.credential ? { credential: granted.credential } : {}),
  });
}

export async function revokeRole(request: AdminRequestWith<UseCaseDeps<typeof revoke>>) {
  const { caller } = request;
  requireOperator(caller);
  const tenantId = pathParam(request, 'tenantId', tenantIdSchema);
  const revoked = await revoke(request.deps, caller, { tenantId, ...parseRequest(revokeRoleSchema, parseJsonBody(request.event)) });
  request.log.info('principal_role_revoked', { tenantId, by: caller.principal, principal: revoked.principal, role: revoked.role });
  return json(200, revoked);
}
