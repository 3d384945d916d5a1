/**
 * The one route table. The CDK stack (lib/) builds API Gateway resources from it and the local
 * gateway (local/) serves it, so the deployed API and the local one cannot drift apart.
 * No AWS imports: this is data.
 */
export type LambdaName = 'challenge' | 'attest' | 'register' | 'authorizer' | 'demoHello' | 'revocationList' | AdminLambdaName;

/**
 * The admin API is one function per area, so that each bundles and loads only the AWS clients its
 * routes call and its role holds only their permissions (docs/ADMIN_API.md).
 */
export type AdminLambdaName = 'adminCatalog' | 'adminKeys' | 'adminUploads';
export const ADMIN_LAMBDAS: readonly AdminLambdaName[] = ['adminCatalog', 'adminKeys', 'adminUploads'];
/**
 * The admin functions whose routes may create a tenant's signing key in KMS (tenants, app creation
 * and rotation; an upload that creates its app): only these get KMS permissions.
 */
export const KEY_CREATING_LAMBDAS: readonly AdminLambdaName[] = ['adminKeys', 'adminUploads'];

/**
 * The Node.js major every function runs on: the Lambda runtime (nodejs24.x, @attestor/cdk's
 * FUNCTION_RUNTIME), the target the bundles are built for, the floor of the packages that run or
 * operate the service, and the repository's own Node (its node devDependency), so the tests run on
 * what AWS runs. test/package/node-versions.test.ts holds them all to it.
 */
export const FUNCTION_NODE_MAJOR = 24;

export interface LambdaSpec {
  /** The function's entry module in @attestor/service (src/lambdas/<entry>.ts); one thin file per function. */
  readonly entry: string;
  readonly description: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

export const LAMBDAS: Readonly<Record<LambdaName, LambdaSpec>> = {
  challenge: { entry: 'challenge', description: 'Issues attestation nonces', memoryMb: 256, timeoutSeconds: 5 },
  attest: { entry: 'attest', description: 'Judges attestations and mints tokens', memoryMb: 512, timeoutSeconds: 10 },
  register: { entry: 'register', description: 'Hashes uploaded builds into registrations', memoryMb: 256, timeoutSeconds: 900 },
  authorizer: { entry: 'authorizer', description: 'Admits requests that carry a valid attestation token', memoryMb: 256, timeoutSeconds: 5 },
  demoHello: { entry: 'demo-hello', description: 'Demo route behind the attestation authorizer', memoryMb: 128, timeoutSeconds: 5 },
  adminCatalog: {
    entry: 'admin-catalog',
    description: 'Admin API: apps, registrations, policies, devices, attestation log',
    memoryMb: 256,
    timeoutSeconds: 15,
  },
  adminKeys: { entry: 'admin-keys', description: 'Admin API: tenants, app creation, signing keys', memoryMb: 256, timeoutSeconds: 15 },
  adminUploads: { entry: 'admin-uploads', description: 'Admin API: build uploads', memoryMb: 256, timeoutSeconds: 15 },
  // No route: EventBridge runs it daily (PROTOCOL.md §5.6), and attest reads what it stored.
  revocationList: {
    entry: 'revocation-list',
    description: "Copies Google's Android attestation status list into the builds bucket",
    memoryMb: 256,
    timeoutSeconds: 60,
  },
};

/**
 * What API Gateway answers when the attestation authorizer cannot decide (it threw: its keys or
 * token ledger are unavailable): the stack's gateway responses for AUTHORIZER_FAILURE and
 * AUTHORIZER_CONFIGURATION_ERROR, and the local gateway, answer this, so that a client backs off
 * and retries with the same token rather than discarding it as a 403 would make it (PROTOCOL.md §2.1).
 */
export const AUTHORIZER_UNAVAILABLE_RESPONSE = {
  status: 503,
  // The verifier waits this long after a failed key fetch before it tries again (KeyRing's failureBackoffSeconds).
  retryAfterSeconds: 5,
  body: { error: 'attestation_unavailable', message: 'attestation cannot be checked right now; retry shortly' },
} as const;

/** none: public; attestation: behind the attestation authorizer; iam: AWS_IAM (SigV4) admin access. */
export type RouteAuth = 'none' | 'attestation' | 'iam';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * What a tenant's principal may do with the admin API (docs/ADMIN_API.md §1.2): `admin` everything a
 * tenant may do; `read` only look; `register` only register builds (a CI pipeline's credential) and
 * see how that went. A principal recorded before roles existed is an admin.
 */
export type PrincipalRole = 'admin' | 'read' | 'register';
/** Least to most privileged in what they can change, the order help texts and docs list them in. */
export const PRINCIPAL_ROLES: readonly PrincipalRole[] = ['register', 'read', 'admin'];

/**
 * Who may call an admin route: `operators` only (tenants, the register function's failures), or
 * the tenant principal roles listed. Operators may call every route.
 */
export type AdminAccess = 'operators' | readonly PrincipalRole[];

const ADMIN: AdminAccess = ['admin'];
/** Looking only. */
const READ: AdminAccess = ['read', 'admin'];
/** Registering a build: what `attestor register` calls to upload it and follow it into a registration. */
const REGISTER: AdminAccess = ['register', 'admin'];
/** Reads that registering needs too: the app's registrations (is this version there already?) and the upload's state. */
const READ_OR_REGISTER: AdminAccess = ['register', 'read', 'admin'];
const OPERATORS: AdminAccess = 'operators';

interface RouteBase {
  readonly method: HttpMethod;
  /** API Gateway resource path; `{name}` marks a path parameter. */
  readonly path: string;
  readonly lambda: Exclude<LambdaName, 'register' | 'authorizer' | 'revocationList'>;
  /**
   * A demonstration route: the local cloud serves it (`npm run demo`), a deployed AttestorStack only
   * when asked for (its `demoRoute` prop), so a production API carries nothing it does not need.
   */
  readonly demo?: true;
}

export type Route =
  | (RouteBase & { readonly auth: 'none' | 'attestation' })
  /** Admin routes also say who may call them: the admin functions refuse everyone else (403) before the route runs. */
  | (RouteBase & { readonly auth: 'iam'; readonly access: AdminAccess });

export type AdminRouteSpec = Extract<Route, { auth: 'iam' }>;

/** The protocol's routes and the demo route: public, or behind the attestation authorizer. */
export const PROTOCOL_ROUTES: readonly Route[] = [
  // Protocol v1 (PROTOCOL.md): public, throttled.
  { method: 'POST', path: '/v1/challenge', lambda: 'challenge', auth: 'none' },
  { method: 'POST', path: '/v1/attest', lambda: 'attest', auth: 'none' },
  // A protected demo route, behind the attestation authorizer.
  { method: 'GET', path: '/demo/hello', lambda: 'demoHello', auth: 'attestation', demo: true },
];

// Admin API: IAM (SigV4). Every route resolves the caller to one tenant first. Each function's routes
// are a table of their own, so that an admin function's bundle holds its own table (its router checks
// callers against it) and not the others'; ROUTES joins them.

/** adminKeys: tenants and principals, app creation (it provisions the tenant's signing key), keys, test tokens. */
export const ADMIN_KEYS_ROUTES: readonly AdminRouteSpec[] = [
  // POST /v1/admin/apps provisions the tenant's signing key (KMS), hence adminKeys, while the app's
  // other routes are adminCatalog's.
  { method: 'GET', path: '/v1/admin/tenants', lambda: 'adminKeys', auth: 'iam', access: OPERATORS },
  { method: 'POST', path: '/v1/admin/tenants', lambda: 'adminKeys', auth: 'iam', access: OPERATORS },
  // Adds a principal to a tenant or changes its role; locally, without a principal, mints a credential with the role.
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/principals', lambda: 'adminKeys', auth: 'iam', access: OPERATORS },
  { method: 'POST', path: '/v1/admin/tenants/{tenantId}/principals/revoke', lambda: 'adminKeys', auth: 'iam', access: OPERATORS },
  { method: 'POST', path: '/v1/admin/apps', lambda: 'adminKeys', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/keys', lambda: 'adminKeys', auth: 'iam', access: READ },
  { method: 'POST', path: '/v1/admin/keys/rotate', lambda: 'adminKeys', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/keys/jwks', lambda: 'adminKeys', auth: 'iam', access: READ },
  { method: 'GET', path: '/v1/admin/keys/secrets', lambda: 'adminKeys', auth: 'iam', access: READ },
  // Test tokens for a backend's CI (docs/ADMIN_API.md §8.1): minted with the tenant's test secret, which
  // adminKeys alone may unwrap (and no production secret); the secrets route gives it wrapped, as above.
  { method: 'POST', path: '/v1/admin/tokens/test', lambda: 'adminKeys', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/tokens/test/secrets', lambda: 'adminKeys', auth: 'iam', access: READ },
  // A new test secret, and the tenant's others retired: when one may have leaked.
  { method: 'POST', path: '/v1/admin/tokens/test/rotate', lambda: 'adminKeys', auth: 'iam', access: ADMIN },
];

/** adminCatalog: apps, registrations, identity, policy, devices, the log and stats. */
export const ADMIN_CATALOG_ROUTES: readonly AdminRouteSpec[] = [
  { method: 'GET', path: '/v1/admin/apps', lambda: 'adminCatalog', auth: 'iam', access: READ },
  { method: 'DELETE', path: '/v1/admin/apps/{appId}', lambda: 'adminCatalog', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/apps/{appId}/registrations', lambda: 'adminCatalog', auth: 'iam', access: READ_OR_REGISTER },
  { method: 'DELETE', path: '/v1/admin/apps/{appId}/registrations/{version}', lambda: 'adminCatalog', auth: 'iam', access: ADMIN },
  { method: 'POST', path: '/v1/admin/apps/{appId}/registrations/{version}/expire', lambda: 'adminCatalog', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/apps/{appId}/identity', lambda: 'adminCatalog', auth: 'iam', access: READ },
  { method: 'PUT', path: '/v1/admin/apps/{appId}/identity', lambda: 'adminCatalog', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/apps/{appId}/policy', lambda: 'adminCatalog', auth: 'iam', access: READ },
  { method: 'PUT', path: '/v1/admin/apps/{appId}/policy', lambda: 'adminCatalog', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/apps/{appId}/devices', lambda: 'adminCatalog', auth: 'iam', access: READ },
  { method: 'POST', path: '/v1/admin/apps/{appId}/devices', lambda: 'adminCatalog', auth: 'iam', access: ADMIN },
  { method: 'DELETE', path: '/v1/admin/apps/{appId}/devices/{deviceId}', lambda: 'adminCatalog', auth: 'iam', access: ADMIN },
  { method: 'GET', path: '/v1/admin/log', lambda: 'adminCatalog', auth: 'iam', access: READ },
  { method: 'GET', path: '/v1/admin/stats', lambda: 'adminCatalog', auth: 'iam', access: READ },
];

/** adminUploads: build uploads, and the register function's failures. */
export const ADMIN_UPLOADS_ROUTES: readonly AdminRouteSpec[] = [
  { method: 'POST', path: '/v1/admin/apps/{appId}/uploads', lambda: 'adminUploads', auth: 'iam', access: REGISTER },
  { method: 'GET', path: '/v1/admin/uploads/{uploadId}', lambda: 'adminUploads', auth: 'iam', access: READ_OR_REGISTER },
  { method: 'POST', path: '/v1/admin/uploads/{uploadId}/complete', lambda: 'adminUploads', auth: 'iam', access: REGISTER },
  // Operators only: uploads the register function gave up on (its on-failure queue), to see, retry or clear.
  { method: 'GET', path: '/v1/admin/registrations/failures', lambda: 'adminUploads', auth: 'iam', access: OPERATORS },
  { method: 'POST', path: '/v1/admin/registrations/failures/retry', lambda: 'adminUploads', auth: 'iam', access: OPERATORS },
  { method: 'POST', path: '/v1/admin/registrations/failures/clear', lambda: 'adminUploads', auth: 'iam', access: OPERATORS },
];

/** Tables joined; free of side effects, so a bundle that uses no joined table keeps none of it. */
/* @__NO_SIDE_EFFECTS__ */
const joined = (...tables: ReadonlyArray<readonly Route[]>): readonly Route[] => tables.flat();

/** Every route, by function: what the CDK stack and the local gateway build the API from. */
export const ROUTES: readonly Route[] = joined(PROTOCOL_ROUTES, ADMIN_KEYS_ROUTES, ADMIN_CATALOG_ROUTES, ADMIN_UPLOADS_ROUTES);

/** How admin functions key their routes: `${method} ${path}`, e.g. `POST /v1/admin/keys/rotate`. */
export const routeKey = (route: { readonly method: string; readonly path: string }): string => `${route.method} ${route.path}`;

/** Who may call the route keyed `key` (routeKey) of `table`, one function's admin routes; undefined for a key that is not in it. */
export function adminAccessIn(table: readonly AdminRouteSpec[], key: string): AdminAccess | undefined {
  return table.find((route) => routeKey(route) === key)?.access;
}
