/** Tenants (operators only): POST/GET /v1/admin/tenants. */
import { createTenantSchema } from '@attestor/contracts/admin-validation';
import { normalisePrincipal } from '../../core/tenancy';
import { InvalidRequestError, parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import { conflict, requireOperator, type AdminDepsWith, type AdminRequest } from './context';

/**
 * A creation that failed part-way (a KMS or DynamoDB error after the tenant record was written)
 * leaves a tenant with no principal, which nobody could administer and nobody could create again.
 * Once this long has passed since its record was written, creating it again finishes the job;
 * sooner, the first creation may still be running.
 */
export const TENANT_CREATION_RESUME_SECONDS = 60;

export async function createTenant(request: AdminRequest<AdminDepsWith<'keys' | 'credentialIssuer'>>) {
  requireOperator(request);
  const { deps } = request;
  const body = parseRequest(createTenantSchema, parseJsonBody(request.event));
  // In AWS, IAM owns identities: a tenant nobody can sign for would be unreachable.
  if (!body.principals && !deps.credentialIssuer) throw new InvalidRequestError('principals', 'is required (IAM principal ARNs that administer the tenant)');
  const principals = [...new Set((body.principals ?? []).map(normalisePrincipal))];
  for (const principal of principals) {
    const mapped = await deps.tenants.getPrincipal(principal);
    if (mapped) throw conflict(`principal ${principal} already administers a tenant`);
  }
  const now = deps.clock.nowSeconds();
  let createdAt = now;
  // Not transactional (DynamoDB transactions are not used, so that the local stand-in serves): the
  // steps below are each idempotent, and an unfinished creation is resumed rather than refused.
  if (!(await deps.tenants.putTenantIfAbsent({ tenantId: body.tenantId, createdAt: now }))) {
    const existing = await deps.tenants.getTenant(body.tenantId);
    const unfinished = existing !== undefined && body.tenantId !== deps.defaultTenantId && (await deps.tenants.listPrincipals(body.tenantId)).length === 0;
    if (!unfinished) throw conflict(`tenant ${body.tenantId} exists`);
    if (now - existing.createdAt < TENANT_CREATION_RESUME_SECONDS) {
      throw conflict(`tenant ${body.tenantId} is being created: if that creation failed, run the command again in a minute to finish it`);
    }
    createdAt = existing.createdAt;
    request.log.info('tenant_creation_resumed', { tenantId: body.tenantId, by: request.caller.principal });
  }
  await deps.keys.ensureSigningKey(body.tenantId);
  // Unregistered app ids fetch the default tenant's key as a stand-in (core/attestation.ts): with
  // one there, an unknown id's first attestation in a container makes the calls a tenant's app makes.
  await deps.keys.ensureSigningKey(deps.defaultTenantId);

  const issued = deps.credentialIssuer ? await deps.credentialIssuer.issue(body.tenantId) : undefined;
  for (const principal of [...principals, ...(issued ? [issued.principal] : [])]) {
    if (!(await deps.tenants.putPrincipalIfAbsent({ principal, tenantId: body.tenantId, operator: false }))) {
      throw conflict(`principal ${principal} already administers a tenant`);
    }
  }
  request.log.info('tenant_created', { tenantId: body.tenantId, by: request.caller.principal, principals: principals.length });
  return json(201, {
    tenantId: body.tenantId,
    createdAt,
    principals: [...principals, ...(issued ? [issued.principal] : [])],
    ...(issued ? { credential: issued.credential } : {}),
  });
}

export async function listTenants(request: AdminRequest) {
  requireOperator(request);
  const { deps } = request;
  // The default tenant exists from the first deployment on, whether or not it was ever recorded.
  await deps.tenants.putTenantIfAbsent({ tenantId: deps.defaultTenantId, createdAt: deps.clock.nowSeconds() });
  const tenants = await deps.tenants.listTenants();
  const withPrincipals = await Promise.all(
    tenants.map(async (t) => ({ tenantId: t.tenantId, createdAt: t.createdAt, principals: (await deps.tenants.listPrincipals(t.tenantId)).map((p) => p.principal) })),
  );
  return json(200, { tenants: withPrincipals });
}
