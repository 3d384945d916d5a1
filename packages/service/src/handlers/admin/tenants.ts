/** Tenants (operators only): POST/GET /v1/admin/tenants. */
import { createTenantSchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { requireOperator } from '../../core/admin/ownership';
import { createTenant as create, listTenants as listAll } from '../../core/admin/tenants';
import { json, parseJsonBody } from '../http';
import type { AdminRequestWith, UseCaseDeps } from './context';

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
    ...(created.credential ? { credential: created.credential } : {}),
  });
}

export async function listTenants(request: AdminRequestWith<UseCaseDeps<typeof listAll>>) {
  return json(200, { tenants: await listAll(request.deps, request.caller) });
}
