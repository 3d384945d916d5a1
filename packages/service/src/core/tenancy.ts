/**
 * Who administers what: every authenticated admin caller resolves to exactly one tenant through
 * the IAM principal that signed the request, with the role its mapping gives it, and may call only
 * the routes the route table allows that role (docs/ADMIN_API.md §1.2). Fails closed: a principal
 * mapped to nothing has no tenant, and a route the table does not list is nobody's.
 */
import { adminAccessIn, type AdminRouteSpec, type PrincipalRole } from '@attestor/contracts/routes';
import { ForbiddenError, RoleRequiredError } from './errors';
import type { PrincipalDirectory } from './ports';

/** The tenant an admin request acts on, what the caller may do there, and whether it may manage tenants. */
export interface AdminCaller {
  readonly principal: string;
  readonly tenantId: string;
  readonly operator: boolean;
  /** Operators are admins of their tenant. */
  readonly role: PrincipalRole;
}

/** A mapping written before principals had roles gave its principal everything: it still does. */
export const DEFAULT_PRINCIPAL_ROLE: PrincipalRole = 'admin';

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/;
const ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/;

/**
 * The principal a mapping is keyed by. API Gateway reports a role's callers as STS session ARNs
 * (`arn:aws:sts::123456789012:assumed-role/Deployer/session`), while operators name the role
 * (`arn:aws:iam::123456789012:role/ci/Deployer`); both become `arn:aws:iam::123456789012:role/Deployer`.
 * Session ARNs carry no role path, and role names are unique within an account, so dropping the
 * path loses nothing. Users and anything else are kept as they are.
 */
export function normalisePrincipal(arn: string): string {
  const assumed = ASSUMED_ROLE.exec(arn);
  if (assumed) return `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  const role = ROLE.exec(arn);
  if (role) return `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`;
  return arn;
}

export interface TenancyOptions {
  readonly directory: PrincipalDirectory;
  /** Normalised principals that operate the default tenant without a registry entry (from configuration). */
  readonly operatorPrincipals: ReadonlySet<string>;
  readonly defaultTenantId: string;
}

/** Resolves a caller's ARN (API Gateway's `identity.userArn`) to its tenant; undefined means no access. */
export async function resolveAdminCaller(options: TenancyOptions, userArn: string | null | undefined): Promise<AdminCaller | undefined> {
  if (!userArn) return undefined;
  const principal = normalisePrincipal(userArn);
  if (options.operatorPrincipals.has(principal)) return { principal, tenantId: options.defaultTenantId, operator: true, role: 'admin' };
  const mapped = await options.directory.getPrincipal(principal);
  if (!mapped) return undefined;
  return { principal, tenantId: mapped.tenantId, operator: mapped.operator, role: mapped.operator ? 'admin' : (mapped.role ?? DEFAULT_PRINCIPAL_ROLE) };
}

/**
 * Refuses the caller the admin route keyed `route` (`${method} ${path}`, routes.ts's routeKey)
 * unless `table`, the function's route table (routes.ts), lets its role call it: RoleRequiredError
 * names the roles that may. Operators may call every route; `operators` routes are theirs alone.
 * Every admin function calls this before any route runs (handlers/admin/router.ts), so that no
 * route can forget it.
 */
export function authorizeRoute(caller: AdminCaller, route: string, table: readonly AdminRouteSpec[]): void {
  const access = adminAccessIn(table, route);
  // Fail closed: a route missing from the table has no rule, so nobody may call it.
  if (access === undefined) throw new ForbiddenError(`${route} is not an admin route`);
  if (caller.operator) return;
  if (access === 'operators') throw new ForbiddenError(`only an operator credential may call ${route}`);
  if (!access.includes(caller.role)) throw new RoleRequiredError(route, caller.role, access, caller.tenantId, caller.principal);
}

/** Parses ATTESTOR_OPERATOR_PRINCIPALS: comma-separated ARNs, blanks ignored. */
export function parseOperatorPrincipals(value: string | undefined): ReadonlySet<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(normalisePrincipal),
  );
}
