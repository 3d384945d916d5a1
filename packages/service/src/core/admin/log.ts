/**
 * Reading the attestation log, the build log and stats (docs/ADMIN_API.md §9). Which partitions a
 * caller may read is a tenancy rule: its own apps, one of them if it names it (NotFoundError if not
 * its own), and, for the default tenant only, the attestations of unregistered app ids.
 */
import { NotFoundError } from '../errors';
import { MAX_SERIES_WINDOW_SECONDS } from '@attestor/contracts/admin-api';
import { UNREGISTERED_APP } from '@attestor/contracts/metrics';
import type {
  AttestationLog,
  AttestationLogEntry,
  AuthorizerVerdictCounts,
  AuthorizerVerdictPoint,
   BuildRefusal,
  Clock,
  LogCounts,
  LogPage,
  LogSeriesPoint,
  TenantApps,
} from '../ports';
import type { AdminCaller } from '../tenancy';
import { ownedApp } from './ownership';

export interface LogAdminDeps {
  /** Absent in deployments without an attestation log table. */
  readonly log?: AttestationLog;
  readonly apps: Pick<TenantApps, 'getApp' | 'listApps'>;
  readonly defaultTenantId: string;
}

/** A page request: at most `limit` entries from `since` on, after `cursor`. */
export interface LogPaging {
  readonly limit: number;
  readonly since?: number;
  readonly cursor?: string;
}

function attestationLog(deps: Pick<LogAdminDeps, 'log'>): AttestationLog {
  if (!deps.log) throw new NotFoundError('this deployment keeps no attestation log');
  return deps.log;
}

/** The partitions a query of the caller reads: one app (if the caller owns it) or all of the tenant's. */
export async function logScope(
  deps: LogAdminDeps,
  caller: AdminCaller,
  appId: string | undefined,
): Promise<{ appIds: string[]; includeUnregistered: boolean }> {
  if (appId !== undefined) return { appIds: [(await ownedApp(deps.apps, caller, appId)).appId], includeUnregistered: false };
  const apps = await deps.apps.listApps(caller.tenantId);
  // Attestations of app ids nobody registered are kept in the default tenant's log.
  return { appIds: apps.map((a) => a.appId), includeUnregistered: caller.tenantId === deps.defaultTenantId };
}

/** The caller's attestations, newest first, of one app or all of its apps. */
export async function readAttestationLog(
  deps: LogAdminDeps,
  caller: AdminCaller,
  paging: LogPaging & { readonly appId?: string },
): Promise<LogPage<AttestationLogEntry>> {
  const log = attestationLog(deps);
  const { appId, ...page } = paging;
  return log.query({ tenantId: caller.tenantId, ...page, ...(await logScope(deps, caller, appId)) });
}

/** Builds the register function refused for the caller's tenant (and, for the default tenant, stray objects). */
export async function readBuildLog(deps: Pick<LogAdminDeps, 'log'>, caller: AdminCaller, paging: LogPaging): Promise<LogPage<BuildRefusal>> {
  return attestationLog(deps).queryBuildRefusals({ tenantId: caller.tenantId, ...paging });
}

/** Counts of the caller's attestations over the last `windowSeconds`. */
export async function logStats(
  deps: LogAdminDeps & { readonly clock: Clock },
  caller: AdminCaller,
  windowSeconds: number,
  appId: string | undefined,
): Promise<{ readonly windowSeconds: number; readonly since: number } & LogCounts> {
  const log = attestationLog(deps);
  const until = deps.clock.nowSeconds();
  const since = until - windowSeconds;
  const counts = await log.summarize({ tenantId: caller.tenantId, since, until, ...(await logScope(deps, caller, appId)) });
  return { windowSeconds, since, ...counts };
}

export { MAX_SERIES_WINDOW_SECONDS };

/** The caller's verdicts per minute and app over the last `windowSeconds` (at most a day), read from the counters. */
export async function logSeries(
  deps: LogAdminDeps & { readonly clock: Clock },
  caller: AdminCaller,
  windowSeconds: number,
  appId: string | undefined,
): Promise<{ readonly bucketSeconds: number; readonly points: LogSeriesPoint[] }> {
  const log = attestationLog(deps);
  if (!log.seriesByMinute) throw new NotFoundError('this deployment keeps no per-minute counts');
  const since = deps.clock.nowSeconds() - Math.min(windowSeconds, MAX_SERIES_WINDOW_SECONDS);
  return { bucketSeconds: 60, points: await log.seriesByMinute({ tenantId: caller.tenantId, since, ...(await logScope(deps, caller, appId)) }) };
}

/**
 * The caller's authorizer verdicts per minute and app over the last `windowSeconds` (at most a day):
 * its apps (or the one it names) and `~unregistered`, where every denial is counted, since a token
 * that did not verify names no app the authorizer could trust. Only the caller's tenant is read.
 */
export async function authorizerSeries(
  deps: LogAdminDeps & { readonly clock: Clock; readonly authorizerVerdicts?: AuthorizerVerdictCounts },
  caller: AdminCaller,
  windowSeconds: number,
  appId: string | undefined,
): Promise<{ readonly bucketSeconds: number; readonly points: AuthorizerVerdictPoint[] }> {
  if (!deps.authorizerVerdicts) throw new NotFoundError('this deployment counts no authorizer verdicts');
  const until = deps.clock.nowSeconds();
  const since = until - Math.min(windowSeconds, MAX_SERIES_WINDOW_SECONDS);
  const apps = appId !== undefined ? [(await ownedApp(deps.apps, caller, appId)).appId] : (await deps.apps.listApps(caller.tenantId)).map((a) => a.appId);
  const points = await deps.authorizerVerdicts.verdictsByMinute({ tenantId: caller.tenantId, appIds: [...apps, UNREGISTERED_APP], since, until });
  return { bucketSeconds: 60, points };
}
