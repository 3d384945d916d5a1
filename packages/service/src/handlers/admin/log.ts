/** The attestation log, the build log and stats (docs/ADMIN_API.md §9). */
import {
  DEFAULT_LOG_LIMIT,
  DEFAULT_STATS_WINDOW_SECONDS,
  MAX_LOG_LIMIT,
  MAX_STATS_WINDOW_SECONDS,
  queryInteger,
} from '@attestor/contracts/admin-validation';
import type { AttestationLog, AttestationLogEntry, BuildRefusal, PublicBuildRefusal, PublicLogEntry } from '../../core/ports';
import { appIdSchema, InvalidRequestError } from '@attestor/contracts/validation';
import { json } from '../http';
import { notFound, ownedApp, type AdminDepsWith, type AdminRequest } from './context';

function attestationLog(request: AdminRequest<AdminDepsWith<'log'>>): AttestationLog {
  if (!request.deps.log) throw notFound('this deployment keeps no attestation log');
  return request.deps.log;
}

/** Which partitions a query reads: one app (if the caller owns it) or all of the tenant's. */
async function scope(request: AdminRequest): Promise<{ appIds: string[]; includeUnregistered: boolean }> {
  const appId = request.query['appId'];
  if (appId !== undefined) {
    const parsed = appIdSchema.safeParse(appId);
    if (!parsed.success) throw new InvalidRequestError('appId', parsed.error.issues[0]?.message ?? 'is invalid');
    return { appIds: [(await ownedApp(request, parsed.data)).appId], includeUnregistered: false };
  }
  const apps = await request.deps.registry.listApps(request.caller.tenantId);
  return { appIds: apps.map((a) => a.appId), includeUnregistered: request.caller.tenantId === request.deps.defaultTenantId };
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

export async function readLog(request: AdminRequest<AdminDepsWith<'log'>>) {
  const log = attestationLog(request);
  const { query, caller } = request;
  const limit = queryInteger(query['limit'], 'limit', 1, MAX_LOG_LIMIT) ?? DEFAULT_LOG_LIMIT;
  const since = queryInteger(query['since'], 'since', 0, 1e11);
  const cursor = query['cursor'];
  const paging = { tenantId: caller.tenantId, limit, ...(since !== undefined ? { since } : {}), ...(cursor !== undefined ? { cursor } : {}) };
  const kind = query['kind'];
  if (kind !== undefined && kind !== 'attestations' && kind !== 'builds') throw new InvalidRequestError('kind', 'must be attestations or builds');
  if (kind === 'builds') {
    if (query['appId'] !== undefined) throw new InvalidRequestError('appId', 'is not accepted with kind=builds');
    const page = await log.queryBuildRefusals(paging);
    return json(200, { entries: page.entries.map(shownRefusal), ...(page.cursor ? { cursor: page.cursor } : {}) });
  }
  const page = await log.query({ ...paging, ...(await scope(request)) });
  return json(200, { entries: page.entries.map(shownEntry), ...(page.cursor ? { cursor: page.cursor } : {}) });
}

export async function stats(request: AdminRequest<AdminDepsWith<'log'>>) {
  const log = attestationLog(request);
  const windowSeconds = queryInteger(request.query['windowSeconds'], 'windowSeconds', 60, MAX_STATS_WINDOW_SECONDS) ?? DEFAULT_STATS_WINDOW_SECONDS;
  const until = request.deps.clock.nowSeconds();
  const since = until - windowSeconds;
  const counts = await log.summarize({ tenantId: request.caller.tenantId, since, until, ...(await scope(request)) });
  return json(200, { windowSeconds, since, ...counts });
}
