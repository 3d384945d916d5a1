/** Tenants (docs/ADMIN_API.md §2), operators only: create one, list them. */
import { ConflictError, InvalidRequestError } from '../errors';
import type { AdminCredentialIssuer, Clock, IssuedAdminCredential, TenantDirectory, TenantKeyManager } from '../ports';
import { normalisePrincipal, type AdminCaller } from '../tenancy';
import { requireOperator } from './ownership';

/**
 * A creation that failed part-way (a KMS or DynamoDB error after the tenant record was written)
 * undoes its record, so the next call starts afresh. When the undo fails too (DynamoDB is the fault),
 * the tenant is left with no principal, which nobody could administer and nobody could create again:
 * once this long has passed since its record was written, creating it again finishes the job;
 * sooner, the first creation may still be running.
 */
export const TENANT_CREATION_RESUME_SECONDS = 60;

export interface TenantAdminDeps {
  readonly tenants: TenantDirectory;
  /** A tenant's apps are signed with its key, so it gets one when it is created. */
  readonly keys: Pick<TenantKeyManager, 'ensureSigningKey'>;
  /** Local cloud only: mints a credential for the new tenant. In AWS, IAM owns identities. */
  readonly credentialIssuer?: AdminCredentialIssuer;
  readonly clock: Clock;
  readonly defaultTenantId: string;
}

export interface NewTenant {
  readonly tenantId: string;
  /** IAM principal ARNs that administer the tenant, as given (normalised here). */
  readonly principals?: readonly string[];
}

export interface CreatedTenant {
  readonly tenantId: string;
  readonly createdAt: number;
  /** Normalised, the issued credential's last. */
  readonly principals: readonly string[];
  readonly credential?: IssuedAdminCredential['credential'];
  /** True when this finished an earlier creation that had failed part-way. */
  readonly resumed: boolean;
}

/**
 * Creates a tenant, its first signing key and its principal mappings. ConflictError when the tenant
 * exists or a principal already administers one; an unfinished creation is resumed rather than
 * refused (TENANT_CREATION_RESUME_SECONDS).
 */
export async function createTenant(deps: TenantAdminDeps, caller: AdminCaller, request: NewTenant): Promise<CreatedTenant> {
  requireOperator(caller);
  const { tenantId } = request;
  // In AWS, IAM owns identities: a tenant nobody can sign for would be unreachable.
  if (!request.principals && !deps.credentialIssuer) throw new InvalidRequestError('principals', 'is required (IAM principal ARNs that administer the tenant)');
  const principals = [...new Set((request.principals ?? []).map(normalisePrincipal))];
  for (const principal of principals) {
    if (await deps.tenants.getPrincipal(principal)) throw new ConflictError(`principal ${principal} already administers a tenant`);
  }
  const now = deps.clock.nowSeconds();
  let createdAt = now;
  let resumed = false;
  // Not transactional (DynamoDB transactions are not used, so that the local stand-in serves): the
  // steps below are each idempotent, and an unfinished creation is resumed rather than refused.
  if (!(await deps.tenants.putTenantIfAbsent({ tenantId, createdAt: now }))) {
    const existing = await deps.tenants.getTenant(tenantId);
    // The default tenant has no principals in AWS (its operators are configured), and is never unfinished.
    const unfinished = existing !== undefined && tenantId !== deps.defaultTenantId && (await deps.tenants.listPrincipals(tenantId)).length === 0;
    if (!unfinished) throw new ConflictError(`tenant ${tenantId} exists`);
    if (now - existing.createdAt < TENANT_CREATION_RESUME_SECONDS) {
      throw new ConflictError(`tenant ${tenantId} is being created: if that creation failed, run the command again in a minute to finish it`);
    }
    createdAt = existing.createdAt;
    resumed = true;
  }
  try {
    await deps.keys.ensureSigningKey(tenantId);
    // Unregistered app ids fetch the default tenant's key as a stand-in (core/attestation.ts): with
    // one there, an unknown id's first attestation in a container makes the calls a tenant's app makes.
    await deps.keys.ensureSigningKey(deps.defaultTenantId);

    const issued = deps.credentialIssuer ? await deps.credentialIssuer.issue(tenantId) : undefined;
    const mapped = [...principals, ...(issued ? [issued.principal] : [])];
    for (const principal of mapped) {
      if (!(await deps.tenants.putPrincipalIfAbsent({ principal, tenantId, operator: false }))) {
        throw new ConflictError(`principal ${principal} already administers a tenant`);
      }
    }
    return { tenantId, createdAt, principals: mapped, ...(issued ? { credential: issued.credential } : {}), resumed };
  } catch (error) {
    // Undone here, so that the caller's retry creates it at once (a key made meanwhile is found and
    // reused by ensureSigningKey). Not a resumed creation's record, nor one that a principal administers.
    if (!resumed) await undoTenant(deps.tenants, tenantId).catch(() => undefined);
    throw error;
  }
}

async function undoTenant(tenants: TenantDirectory, tenantId: string): Promise<void> {
  if ((await tenants.listPrincipals(tenantId)).length === 0) await tenants.deleteTenant(tenantId);
}

export interface TenantListing {
  readonly tenantId: string;
  readonly createdAt: number;
  readonly principals: readonly string[];
}

/** Every tenant with its principals, sorted by tenantId. */
export async function listTenants(deps: Pick<TenantAdminDeps, 'tenants' | 'clock' | 'defaultTenantId'>, caller: AdminCaller): Promise<TenantListing[]> {
  requireOperator(caller);
  // The default tenant exists from the first deployment on, whether or not it was ever recorded.
  await deps.tenants.putTenantIfAbsent({ tenantId: deps.defaultTenantId, createdAt: deps.clock.nowSeconds() });
  const tenants = await deps.tenants.listTenants();
  return Promise.all(
    tenants.map(async ({ tenantId, createdAt }) => ({
      tenantId,
      createdAt,
      principals: (await deps.tenants.listPrincipals(tenantId)).map((p) => p.principal),
    })),
  );
}
