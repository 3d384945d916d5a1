/** Tenants (docs/ADMIN_API.md §2), operators only: create one, list them, give their principals roles. */
import type { PrincipalRole } from '@attestor/contracts/routes';
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors';
import type { AdminCredentialIssuer, Clock, IssuedAdminCredential, TenantDirectory, TenantKeyManager } from '../ports';
import { DEFAULT_PRINCIPAL_ROLE, normalisePrincipal, type AdminCaller } from '../tenancy';
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

/** A principal given with its role; a bare ARN is an admin. */
export type PrincipalGrant = string | { readonly principal: string; readonly role: PrincipalRole };

export interface NewTenant {
  readonly tenantId: string;
  /** IAM principal ARNs that administer the tenant, as given (normalised here), each with its role or none (admin). */
  readonly principals?: readonly PrincipalGrant[];
}

export interface CreatedTenant {
  readonly tenantId: string;
  readonly createdAt: number;
  /** Normalised, the issued credential's last. */
  readonly principals: readonly string[];
  /** Each principal's role. */
  readonly roles: Readonly<Record<string, PrincipalRole>>;
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
  const grants = principalGrants(request.principals ?? []);
  const principals = [...grants.keys()];
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
    // The default tenant has no principals in AWS (its operators are configured), and is never
    // unfinished; nor is a finished tenant whose principals were all revoked since.
    const unfinished =
      existing !== undefined &&
      tenantId !== deps.defaultTenantId &&
      existing.finished !== true &&
      (await deps.tenants.listPrincipals(tenantId)).length === 0;
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
    // The local credential is the tenant's first administrator, whatever roles the named principals have.
    if (issued) grants.set(issued.principal, 'admin');
    const mapped = [...grants.keys()];
    for (const [principal, role] of grants) {
      if (!(await deps.tenants.putPrincipalIfAbsent({ principal, tenantId, operator: false, role }))) {
        throw new ConflictError(`principal ${principal} already administers a tenant`);
      }
    }
    // Best effort: a tenant that has principals counts as finished anyway, and revoking its last one
    // sets the flag first (revokeRole).
    await deps.tenants.markTenantFinished(tenantId).catch(() => undefined);
    const roles = Object.fromEntries(grants);
    return { tenantId, createdAt, principals: mapped, roles, ...(issued ? { credential: issued.credential } : {}), resumed };
  } catch (error) {
    // Undone here, so that the caller's retry creates it at once (a key made meanwhile is found and
    // reused by ensureSigningKey). Not a resumed creation's record, nor one that a principal administers.
    if (!resumed) await undoTenant(deps.tenants, tenantId).catch(() => undefined);
    throw error;
  }
}

/** Normalised principals with their roles, in the order given; the same principal twice must have one role. */
function principalGrants(given: readonly PrincipalGrant[]): Map<string, PrincipalRole> {
  const grants = new Map<string, PrincipalRole>();
  for (const grant of given) {
    const principal = normalisePrincipal(typeof grant === 'string' ? grant : grant.principal);
    const role = typeof grant === 'string' ? DEFAULT_PRINCIPAL_ROLE : grant.role;
    const earlier = grants.get(principal);
    if (earlier !== undefined && earlier !== role) throw new InvalidRequestError('principals', `name ${principal} twice, with roles ${earlier} and ${role}`);
    grants.set(principal, role);
  }
  return grants;
}

async function undoTenant(tenants: TenantDirectory, tenantId: string): Promise<void> {
  if ((await tenants.listPrincipals(tenantId)).length === 0) await tenants.deleteTenant(tenantId);
}

export interface RevokedRole {
  readonly tenantId: string;
  readonly principal: string;
  /** The role the principal had. */
  readonly role: PrincipalRole;
}

/**
 * Takes a principal's role in a tenant away: it administers nothing afterwards, and its next admin
 * call is refused (403). Operators only, like granting. A principal that another tenant has, or
 * none, is NotFoundError; an operator's mapping is ConflictError (operators are configured, not
 * granted). A tenant may be left without principals: operators can still administer it.
 */
export async function revokeRole(
  deps: Pick<TenantAdminDeps, 'tenants'>,
  caller: AdminCaller,
  request: { readonly tenantId: string; readonly principal: string },
): Promise<RevokedRole> {
  requireOperator(caller);
  const { tenantId } = request;
  const principal = normalisePrincipal(request.principal);
  const existing = await deps.tenants.getPrincipal(principal);
  if (existing?.operator) throw new ConflictError(`principal ${principal} is an operator: operators are configured, not granted`);
  const notHere = () => new NotFoundError(`principal ${principal} does not administer tenant ${tenantId}: \`attestor tenants list\` shows who does`);
  if (existing && existing.tenantId !== tenantId) throw notHere();
  // Before its principals can run out: a tenant without principals and without the flag is taken
  // for an unfinished creation, which `tenants create` would resume for whoever it names.
  await deps.tenants.markTenantFinished(tenantId);
  const removed = await deps.tenants.removePrincipalOfTenant(principal, tenantId);
  if (!removed) throw notHere();
  return { tenantId, principal, role: removed.role ?? DEFAULT_PRINCIPAL_ROLE };
}

export interface TenantListing {
  readonly tenantId: string;
  readonly createdAt: number;
  readonly principals: readonly string[];
  /** Each principal's role (operators' mappings: admin). */
  readonly roles: Readonly<Record<string, PrincipalRole>>;
}

/** Every tenant with its principals, sorted by tenantId. */
export async function listTenants(deps: Pick<TenantAdminDeps, 'tenants' | 'clock' | 'defaultTenantId'>, caller: AdminCaller): Promise<TenantListing[]> {
  requireOperator(caller);
  // The default tenant exists from the first deployment on, whether or not it was ever recorded.
  await deps.tenants.putTenantIfAbsent({ tenantId: deps.defaultTenantId, createdAt: deps.clock.nowSeconds() });
  const tenants = await deps.tenants.listTenants();
  return Promise.all(
    tenants.map(async ({ tenantId, createdAt }) => {
      const principals = await deps.tenants.listPrincipals(tenantId);
      return {
        tenantId,
        createdAt,
        principals: principals.map((p) => p.principal),
        roles: Object.fromEntries(principals.map((p) => [p.principal, p.operator ? 'admin' : (p.role ?? DEFAULT_PRINCIPAL_ROLE)] as const)),
      };
    }),
  );
}

export interface RoleGrant {
  readonly tenantId: string;
  /** The IAM principal ARN (normalised here); absent on the local cloud, a new credential gets the role. */
  readonly principal?: string;
  readonly role: PrincipalRole;
}

export interface GrantedRole {
  readonly tenantId: string;
  readonly principal: string;
  readonly role: PrincipalRole;
  /** The principal's role before, if it had one in this tenant. */
  readonly previousRole?: PrincipalRole;
  /** Local cloud only, when no principal was named: returned once. */
  readonly credential?: IssuedAdminCredential['credential'];
}

/**
 * Gives a principal a role in an existing tenant: adds it, or changes the role it has there.
 * Operators only, like creating tenants: a tenant's admin cannot mint more credentials for itself,
 * so a leaked admin credential cannot leave others behind, and cannot claim a principal another
 * tenant is about to be given. ConflictError if another tenant has the principal, or it is an operator.
 */
export async function grantRole(
  deps: Pick<TenantAdminDeps, 'tenants' | 'credentialIssuer' | 'defaultTenantId'>,
  caller: AdminCaller,
  request: RoleGrant,
): Promise<GrantedRole> {
  requireOperator(caller);
  const { tenantId, role } = request;
  // The default tenant exists from the first deployment on, whether or not it was ever recorded.
  if (tenantId !== deps.defaultTenantId && !(await deps.tenants.getTenant(tenantId))) {
    throw new NotFoundError(`no tenant ${tenantId}: \`attestor tenants list\` shows the tenants`);
  }
  if (request.principal === undefined) {
    if (!deps.credentialIssuer) throw new InvalidRequestError('principal', 'is required (the IAM principal ARN to give the role to)');
    const issued = await deps.credentialIssuer.issue(tenantId, role);
    if (!(await deps.tenants.putPrincipalIfAbsent({ principal: issued.principal, tenantId, operator: false, role }))) {
      throw new ConflictError(`principal ${issued.principal} already administers a tenant`);
    }
    return { tenantId, principal: issued.principal, role, credential: issued.credential };
  }
  const principal = normalisePrincipal(request.principal);
  const existing = await deps.tenants.getPrincipal(principal);
  if (existing?.operator) throw new ConflictError(`principal ${principal} is an operator: operators have every role`);
  if (existing && existing.tenantId !== tenantId) throw new ConflictError(`principal ${principal} already administers another tenant`);
  // Conditional: a principal given to another tenant meanwhile is not taken from it.
  if (!(await deps.tenants.putPrincipalOfTenant({ principal, tenantId, operator: false, role }))) {
    throw new ConflictError(`principal ${principal} already administers another tenant`);
  }
  const previousRole = existing ? (existing.role ?? DEFAULT_PRINCIPAL_ROLE) : undefined;
  return { tenantId, principal, role, ...(previousRole ? { previousRole } : {}) };
}
