/** Tenants (operators only): POST/GET /v1/admin/tenants. */
import { createTenantSchema } from '../../core/admin-validation';
import { normalisePrincipal } from '../../core/tenancy';
import { InvalidRequestError, parseRequest } from '../../core/validation';
import { json, parseJsonBody } from '../http';
import { conflict, requireOperator, type AdminDepsWith, type AdminRequest } from './context';

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
  const createdAt = deps.clock.nowSeconds();
  if (!(await deps.tenants.putTenantIfAbsent({ tenantId: body.tenantId, createdAt }))) throw conflict(`tenant ${body.tenantId} exists`);
  await deps.keys.ensureSigningKey(body.tenantId);

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
