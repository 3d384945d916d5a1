/**
 * What every admin route gets: the dependencies, the resolved caller and the request's parts, plus
 * the checks most routes start with (is this app the caller's?).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod/mini';
import type { AdminCaller } from '../../core/tenancy';
import type {
  AdminCredentialIssuer,
  AppRecord,
  AttestationLog,
  Clock,
  RandomSource,
  Registry,
  TenantDirectory,
  TenantKeyManager,
  UploadUrlIssuer,
} from '../../core/ports';
import { appIdSchema, appVersionSchema, parseRequest } from '@attestor/contracts/validation';
import { HttpError, type ApiHandler } from '../http';
import type { Logger } from '../log';

/**
 * What every admin function has: the registry, the tenant directory and how callers map to tenants.
 * The admin API is served by one function per area (src/routes.ts); each area adds only the
 * adapters its routes call, so that a function bundles and loads only those.
 */
export interface AdminCommonDeps {
  readonly registry: Registry;
  readonly tenants: TenantDirectory;
  readonly clock: Clock;
  readonly random: RandomSource;
  /** The deployment's default tenant: it sees attestations of unregistered apps and stray builds. */
  readonly defaultTenantId: string;
  /** Maps the authenticated caller to its tenant; undefined means no access (403). */
  readonly callerOf: (event: APIGatewayProxyEvent) => Promise<AdminCaller | undefined>;
}

/** Apps, registrations, policies, devices and the attestation log: DynamoDB only. */
export interface AdminCatalogDeps extends AdminCommonDeps {
  /** Absent in deployments without an attestation log table: the log routes then answer 404. */
  readonly log?: AttestationLog;
}

/** Tenants, app creation and signing keys: DynamoDB and KMS. */
export interface AdminKeysDeps extends AdminCommonDeps {
  readonly keys: TenantKeyManager;
  /** Local cloud only: creates credentials for new tenants. */
  readonly credentialIssuer?: AdminCredentialIssuer;
}

/** Uploads of builds: DynamoDB, S3 (presigned URLs) and KMS (an upload may create the app, whose tenant needs a key). */
export interface AdminUploadsDeps extends AdminCommonDeps {
  /** Only ensureSigningKey: the function loads KMS only for a tenant's first key (wiring/admin-uploads.ts). */
  readonly keys: Pick<TenantKeyManager, 'ensureSigningKey'>;
  readonly uploads: UploadUrlIssuer;
  readonly maxBuildBytes: number;
}

/** Every area's dependencies at once (the local cloud wires them over one set of clients). */
export type AdminDeps = AdminCatalogDeps & AdminKeysDeps & AdminUploadsDeps;

/** The part of the dependencies a route needs that every area provides, plus what it names. */
export type AdminDepsWith<K extends keyof AdminDeps = never> = AdminCommonDeps & Pick<AdminDeps, K>;

export interface AdminRequest<D extends AdminCommonDeps = AdminCommonDeps> {
  readonly deps: D;
  readonly log: Logger;
  readonly caller: AdminCaller;
  readonly event: APIGatewayProxyEvent;
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, string | undefined>>;
}

export type AdminRoute<D extends AdminCommonDeps = AdminCommonDeps> = (request: AdminRequest<D>) => ReturnType<ApiHandler>;

export function notFound(message: string): HttpError {
  return new HttpError(404, { error: 'not_found', message });
}

export function conflict(message: string): HttpError {
  return new HttpError(409, { error: 'conflict', message });
}

export function forbidden(message: string): HttpError {
  return new HttpError(403, { error: 'forbidden', message });
}

/** Validates one path parameter with `schema`, naming it as the field on failure. */
export function pathParam<T>(request: AdminRequest, name: string, schema: z.ZodMiniType<T>): T {
  return parseRequest(z.object({ [name]: schema }), { [name]: request.params[name] })[name] as T;
}

export const pathAppId = (request: AdminRequest): string => pathParam(request, 'appId', appIdSchema);
export const pathVersion = (request: AdminRequest): string => pathParam(request, 'version', appVersionSchema);

/**
 * The app named in the path, if the caller's tenant owns it. Another tenant's app is reported
 * exactly like a missing one, so a tenant cannot probe which app ids others have.
 */
export async function ownedApp(request: AdminRequest, appId = pathAppId(request)): Promise<AppRecord> {
  const app = await request.deps.registry.getApp(appId);
  if (!app || app.tenantId !== request.caller.tenantId) throw notFound(`no app ${appId} in tenant ${request.caller.tenantId}`);
  return app;
}

export function requireOperator(request: AdminRequest): void {
  if (!request.caller.operator) throw forbidden('only an operator credential may manage tenants');
}
