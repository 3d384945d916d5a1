/**
 * What every admin route gets: the dependencies, the resolved caller and the request's parts, plus
 * the parsing of path parameters most routes start with. Decisions (is this app the caller's? may
 * this tenant be created?) are the core's (core/admin/); routes parse, call and shape the answer.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { AdminCaller } from '../../core/tenancy';
import type {
  AdminCredentialIssuer,
  AppIdentityStore,
  AppStore,
  AttestationLog,
  AuthorizerVerdictCounts,
  Clock,
  DeviceStore,
  PolicyStore,
  RandomSource,
  RegisterFailureQueue,
  RegistrationStore,
  TenantApps,
  TenantDirectory,
  TenantKeyManager,
  TenantKeyStore,
  UploadStore,
  UploadUrlIssuer,
} from '../../core/ports';
import { appIdSchema, appVersionSchema, parseField, type Schema } from '@attestor/contracts/validation';
import type { ApiHandler } from '../http';
import type { TestTokenLog, TestTokenSetup } from '../../core/test-tokens';
import type { Logger } from '../log';

/**
 * What every admin function has: how callers map to tenants, and the clock and random source.
 * The admin API is served by one function per area (src/routes.ts); each area adds only the
 * ports its routes call, so that a function bundles and loads only their adapters.
 */
export interface AdminCommonDeps {
  readonly clock: Clock;
  readonly random: RandomSource;
  /** The deployment's default tenant: it sees attestations of unregistered apps and stray builds. */
  readonly defaultTenantId: string;
  /** Maps the authenticated caller to its tenant; undefined means no access (403). */
  readonly callerOf: (event: APIGatewayProxyEvent) => Promise<AdminCaller | undefined>;
}

/** Apps, registrations, policies, devices, identities and the attestation log: DynamoDB only. */
export interface AdminCatalogDeps extends AdminCommonDeps {
  readonly apps: TenantApps;
  readonly registrations: RegistrationStore;
  readonly policies: PolicyStore;
  readonly devices: DeviceStore;
  readonly identities: AppIdentityStore;
  /** Absent in deployments without an attestation log table: the log routes then answer 404. */
  readonly log?: AttestationLog;
  /** Test-token mints (GET /v1/admin/log?kind=test-tokens); absent without an attestation log table. */
  readonly testTokenLog?: TestTokenLog;
  /** The authorizer's verdicts (GET /v1/admin/stats?include=authorizer); absent, that answers 404. */
  readonly authorizerVerdicts?: AuthorizerVerdictCounts;
}

/** Tenants, app creation and signing keys: DynamoDB and KMS. */
export interface AdminKeysDeps extends AdminCommonDeps {
  readonly apps: AppStore;
  readonly tenants: TenantDirectory;
  readonly keys: TenantKeyManager;
  /** When each tenant last rotated its keys (the once-an-hour limit, core/admin/key-rotation.ts). */
  readonly rotations: Pick<TenantKeyStore, 'claimRotation' | 'releaseRotation'>;
  /** Local cloud only: creates credentials for new tenants. */
  readonly credentialIssuer?: AdminCredentialIssuer;
  /** Test tokens (POST /v1/admin/tokens/test and its secrets route); absent, both answer 404. */
  readonly testTokens?: TestTokenSetup;
}

/** Uploads of builds: DynamoDB, S3 (presigned URLs) and KMS (an upload may create the app, whose tenant needs a key). */
export interface AdminUploadsDeps extends AdminCommonDeps {
  readonly apps: AppStore;
  /** Only to show an upload's registration. */
  readonly registrations: Pick<RegistrationStore, 'getRegistration'>;
  readonly uploads: UploadStore;
  readonly uploadUrls: UploadUrlIssuer;
  /** Only ensureSigningKey: the function loads KMS only for a tenant's first key (composition/admin-uploads.ts). */
  readonly keys: Pick<TenantKeyManager, 'ensureSigningKey'>;
  readonly maxBuildBytes: number;
  /** The register function's failures (REGISTER_FAILURES_QUEUE_URL); absent, the failures routes answer 404. */
  readonly registerFailures?: RegisterFailureQueue;
}

/** Every area's dependencies at once (the local cloud wires them over one set of clients). */
export type AdminDeps = AdminCatalogDeps & AdminKeysDeps & AdminUploadsDeps;

/** A request to a route that needs what every area provides plus `D` (typically its use case's dependencies). */
export type AdminRequestWith<D> = AdminRequest<AdminCommonDeps & D>;

/** The dependencies of a core use case: its first parameter. */
export type UseCaseDeps<F extends (deps: never, ...rest: never[]) => unknown> = Parameters<F>[0];

export interface AdminRequest<D extends AdminCommonDeps = AdminCommonDeps> {
  readonly deps: D;
  readonly log: Logger;
  readonly caller: AdminCaller;
  readonly event: APIGatewayProxyEvent;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
}

export type AdminRoute<D extends AdminCommonDeps = AdminCommonDeps> = (request: AdminRequest<D>) => ReturnType<ApiHandler>;

/** Validates one path parameter with `schema`, naming it as the field on failure. */
export function pathParam<T>(request: AdminRequest, name: string, schema: Schema<T>): T {
  return parseField(name, schema, request.params[name]);
}

export const pathAppId = (request: AdminRequest): string => pathParam(request, 'appId', appIdSchema);
export const pathVersion = (request: AdminRequest): string => pathParam(request, 'version', appVersionSchema);
