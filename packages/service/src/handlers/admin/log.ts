/** The attestation log, the build log and stats (docs/ADMIN_API.md §9); which entries a caller sees is core/admin/log.ts. */
import {
  DEFAULT_LOG_LIMIT,
  DEFAULT_STATS_WINDOW_SECONDS,
  MAX_LOG_LIMIT,
  MAX_STATS_WINDOW_SECONDS,
  queryInteger,
} from '@attestor/contracts/admin-validation';
import { appIdSchema, InvalidRequestError, parseField } from '@attestor/contracts/validation';
import { authorizerSeries, logSeries, logStats, MAX_SERIES_WINDOW_SECONDS, readAttestationLog, readBuildLog } from '../../core/admin/log';
import type { AttestationLogEntry, BuildRefusal, PublicBuildRefusal, PublicLogEntry } from '../../core/ports';
import { json } from '../http';
import { DependencyUnavailableError, NotFoundError } from '../../core/errors';
import type { TestTokenLog } from '../../core/test-tokens';
import type { AdminRequest, AdminRequestWith, UseCaseDeps } from './context';

type LogRequest = AdminRequestWith<
  UseCaseDeps<typeof logStats> & UseCaseDeps<typeof authorizerSeries> & { readonly testTokenLog?: TestTokenLog }
>;

/** The `appId` query parameter, validated, if given. */
function queryAppId(request: AdminRequest): string | undefined {
  const appId = request.query['appId'];
  if (appId === undefined) return undefined;
  return parseField('appId', appIdSchema, appId);
}

function shownEntry(e: AttestationLogEntry): PublicLogEntry {
  return {
    time: e.time,
    appId: e.appId,
    appVersion: e.appVersion,
    did: e.did,
    platform: e.platform,
    osVersion: e.osVersion,
    model: e.model,
    sdkVersion: e.sdkVersion,
    outcome: e.outcome,
    reasons: e.reasons,
    jti: e.jti,
  };
}

function shownRefusal(r: BuildRefusal): PublicBuildRefusal {
  return {
    time: r.time,
    objectKey: r.objectKey,
    reason: r.reason,
    ...(r.size !== undefined ? { size: r.size } : {}),
    ...(r.appId !== undefined ? { appId: r.appId } : {}),
    ...(r.version !== undefined ? { version: r.version } : {}),
    ...(r.uploadId !== undefined ? { uploadId: r.uploadId } : {}),
  };
}

export async function readLog(request: LogRequest) {
  const { query, caller, deps } = request;
  const limit = queryInteger(query['limit'], 'limit', 1, MAX_LOG_LIMIT) ?? DEFAULT_LOG_LIMIT;
  const since = queryInteger(query['since'], 'since', 0, 1e11);
  const cursor = query['cursor'];
  const paging = { limit, ...(since !== undefined ? { since } : {}), ...(cursor !== undefined ? { cursor } : {}) };
  const kind = query['kind'];
  if (kind !== undefined && kind !== 'attestations' && kind !== 'builds' && kind !== 'test-tokens') {
    throw new InvalidRequestError('kind', 'must be attestations, builds or test-tokens');
  }
  if (kind === 'test-tokens') {
    if (query['appId'] !== undefined) throw new InvalidRequestError('appId', 'is not accepted with kind=test-tokens');
    if (!deps.testTokenLog) throw new NotFoundError('this deployment keeps no attestation log');
    const page = await deps.testTokenLog.queryTestTokenMints({ tenantId: caller.tenantId, ...paging });
    return json(200, { entries: page.entries, ...(page.cursor ? { cursor: page.cursor } : {}) });
  }
  if (kind === 'builds') {
    if (query['appId'] !== undefined) throw new InvalidRequestError('appId', 'is not accepted with kind=builds');
    const page = await readBuildLog(deps, caller, paging);
    return json(200, { entries: page.entries.map(shownRefusal), ...(page.cursor ? { cursor: page.cursor } : {}) });
  }
  const appId = queryAppId(request);
  const page = await readAttestationLog(deps, caller, { ...paging, ...(appId !== undefined ? { appId } : {}) });
  return json(200, { entries: page.entries.map(shownEntry), ...(page.cursor ? { cursor: page.cursor } : {}) });
}

export async function stats(request: LogRequest) {
  const windowSeconds = queryInteger(request.query['windowSeconds'], 'windowSeconds', 60, MAX_STATS_WINDOW_SECONDS) ?? DEFAULT_STATS_WINDOW_SECONDS;
  const series = request.query['series'];
  if (series !== undefined && series !== 'minute') throw new InvalidRequestError('series', 'must be minute');
  if (series === 'minute' && windowSeconds > MAX_SERIES_WINDOW_SECONDS) {
    throw new InvalidRequestError('windowSeconds', `must be at most ${MAX_SERIES_WINDOW_SECONDS} with series=minute`);
  }
  // include=authorizer adds the authorizer's verdicts per minute (the same window and app) to the series.
  const include = request.query['include'];
  if (include !== undefined && include !== 'authorizer') throw new InvalidRequestError('include', 'must be authorizer');
  if (include !== undefined && series !== 'minute') throw new InvalidRequestError('include', 'is accepted only with series=minute');
  const appId = queryAppId(request);
  const [counts, perMinute, verdicts] = await Promise.all([
    logStats(request.deps, request.caller, windowSeconds, appId),
    series === 'minute' ? logSeries(request.deps, request.caller, windowSeconds, appId) : undefined,
    include === 'authorizer' ? authorizerPart(request, windowSeconds, appId) : undefined,
  ]);
  return json(200, {
    ...counts,
    ...(perMinute ? { series: perMinute } : {}),
    ...(verdicts?.series ? { authorizer: verdicts.series } : {}),
    ...(verdicts?.unavailable ? { authorizerUnavailable: verdicts.unavailable } : {}),
  });
}

/**
 * The authorizer's verdicts, or why they are missing. They come from another store (CloudWatch in
 * AWS) than the attestation counts beside them, so that store being throttled or down costs the
 * answer only this part: the console keeps drawing the attestations and says why the would-deny
 * share is missing, instead of the whole poll failing with 503.
 */
async function authorizerPart(request: LogRequest, windowSeconds: number, appId: string | undefined) {
  try {
    return { series: await authorizerSeries(request.deps, request.caller, windowSeconds, appId) };
  } catch (error) {
    if (!(error instanceof DependencyUnavailableError)) throw error;
    request.log.warn('authorizer_verdicts_unavailable', { code: error.code, reason: error.message });
    return { unavailable: { error: 'service_unavailable' as const, retryAfterSeconds: error.retryAfterSeconds } };
  }
}
