/**
 * Verdicts per app over time, for the console's live charts, read from the service's per-minute
 * counters (GET /v1/admin/stats?series=minute): one request per poll returns the range's minutes by
 * app and category and the window's totals, and what it reads follows the range's length, not the
 * traffic in it (docs/ADMIN_API.md §9.3); the same read brings the authorizer's verdicts per minute
 * (include=authorizer), for the would-deny share. Polls from several open pages share one read.
 */
import {
  AUTHORIZER_VERDICTS,
  UNREGISTERED_APP,
  VERDICT_CATEGORIES,
  type AuthorizerVerdictName,
  type CategoryInfo,
  type VerdictCategory,
} from '@attestor/contracts/metrics';
import { MAX_SERIES_WINDOW_SECONDS } from '@attestor/contracts/admin-api';
import type { Stats, StatsPoint } from '../admin-client';
import { CliError } from '../errors';

// The categories are the Outcome dimension of the Attestations metric, and of the counters stats
// read: one definition, in @attestor/contracts/metrics, so the console's charts and the service agree.
export { categoryOf, reasonFamily, VERDICT_CATEGORIES } from '@attestor/contracts/metrics';
export type { CategoryInfo, FailFamily, VerdictCategory } from '@attestor/contracts/metrics';

type Counts = Record<VerdictCategory, number>;
const zeroCounts = (): Counts => Object.fromEntries(VERDICT_CATEGORIES.map((c) => [c.key, 0])) as Counts;

/** What the chart page draws: one value per bucket and category, oldest bucket first. */
export interface VerdictSnapshot {
  readonly appId?: string;
  readonly rangeSeconds: number;
  readonly bucketSeconds: number;
  /** Start of each bucket, unix seconds. */
  readonly times: readonly number[];
  readonly categories: readonly CategoryInfo[];
  readonly series: Readonly<Record<VerdictCategory, readonly number[]>>;
  readonly totals: Readonly<Record<VerdictCategory, number>>;
  readonly total: number;
  /** Failed share of each bucket (0..1), null where there was no attestation. */
  readonly failShare: ReadonlyArray<number | null>;
  /** Every registered app with attestations in the range (unregistered app ids are counted, together, under all apps only). */
  readonly apps: readonly string[];
  /** The service's own counts over the same window (GET /v1/admin/stats), refreshed less often. */
  readonly stats?: Stats;
  readonly statsError?: string;
  /** The authorizer's verdicts per minute (GET /v1/admin/stats include=authorizer), or why there are none. */
  readonly wouldDeny: AuthorizerVerdicts | { readonly available: false; readonly why: string };
}

/**
 * What the authorizer did per minute of the range, summed over the apps in scope: allowed, denied
 * (enforce mode), would_deny (monitor mode), unavailable; and the would-deny share of each minute.
 * Denials are counted under no app (their token named none the authorizer could trust), so one
 * app's view includes every denial of the tenant's authorizer.
 */
export interface AuthorizerVerdicts {
  readonly available: true;
  readonly series: Readonly<Record<AuthorizerVerdictName, readonly number[]>>;
  readonly totals: Readonly<Record<AuthorizerVerdictName, number>>;
  readonly total: number;
  /** would_deny over every verdict of the minute (0..1), null where the authorizer judged nothing. */
  readonly wouldDenyShare: ReadonlyArray<number | null>;
  /** The same over the whole range. */
  readonly wouldDenyShareInRange: number | null;
}

export const WOULD_DENY_UNAVAILABLE = 'the service did not answer with the authorizer verdicts (GET /v1/admin/stats with include=authorizer)';
/** The service answered without them because their store (CloudWatch in AWS) was throttled or down. */
export const wouldDenyLater = (retryAfterSeconds: number): string =>
  `the authorizer verdicts could not be read just now (their metric store was unavailable): the page tries again, ` +
  `the service asked for ${retryAfterSeconds} s`;

export interface TimelineOptions {
  readonly client: { stats(query: { appId?: string; windowSeconds?: number; series?: 'minute'; include?: 'authorizer' }): Promise<Stats> };
  /** Unix seconds. */
  readonly now?: () => number;
  /** A poll sooner than this after the last one of the same range reuses it, so several open pages cost one read. @default 1000 */
  readonly minRefreshMs?: number;
  readonly nowMs?: () => number;
}

/** The longest range the page offers (the service's longest per-minute series). */
export const MAX_RANGE_SECONDS = MAX_SERIES_WINDOW_SECONDS;
/** The counters' minute. */
const STEP = 60;

export class VerdictTimeline {
  private readonly reads = new Map<string, { atMs: number; read: Promise<{ stats?: Stats; error?: string }> }>();
  private readonly now: () => number;
  private readonly nowMs: () => number;

  constructor(private readonly options: TimelineOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.now = options.now ?? (() => Math.floor(this.nowMs() / 1000));
  }

  async snapshot(query: { appId?: string; rangeSeconds: number }): Promise<VerdictSnapshot> {
    const rangeSeconds = Math.min(Math.max(query.rangeSeconds, STEP), MAX_RANGE_SECONDS);
    const { stats, error } = await this.read(query.appId, rangeSeconds);
    const now = this.now();
    // The service counts whole minutes: the first is the one the range's start falls in.
    const first = Math.floor((now - rangeSeconds) / STEP) * STEP;
    const times: number[] = [];
    for (let t = first; t <= now; t += STEP) times.push(t);
    const index = new Map(times.map((t, i) => [t, i]));
    const series = Object.fromEntries(VERDICT_CATEGORIES.map((c) => [c.key, times.map(() => 0)])) as Record<VerdictCategory, number[]>;
    const apps = new Set<string>();
    for (const point of stats?.series?.points ?? []) {
      // Unregistered app ids are counted together under all apps; there is no such app to pick.
      if (point.appId !== UNREGISTERED_APP) apps.add(point.appId);
      const i = index.get(point.time);
      if (i === undefined) continue;
      for (const c of VERDICT_CATEGORIES) series[c.key][i]! += point.counts[c.key] ?? 0;
    }
    const totals = zeroCounts();
    for (const c of VERDICT_CATEGORIES) totals[c.key] = series[c.key].reduce((a, b) => a + b, 0);
    const total = Object.values(totals).reduce((a, b) => a + b, 0);
    const failShare = times.map((_, i) => {
      let all = 0;
      let failed = 0;
      for (const c of VERDICT_CATEGORIES) {
        all += series[c.key][i]!;
        if (c.key.startsWith('fail_')) failed += series[c.key][i]!;
      }
      return all === 0 ? null : failed / all;
    });
    const counts = stats ? (({ series: _series, authorizer: _authorizer, authorizerUnavailable: _unavailable, ...rest }) => rest)(stats) : undefined;
    return {
      ...(query.appId !== undefined ? { appId: query.appId } : {}),
      rangeSeconds,
      bucketSeconds: STEP,
      times,
      categories: VERDICT_CATEGORIES,
      series,
      totals,
      total,
      failShare,
      apps: [...apps].sort(),
      ...(counts ? { stats: counts } : { statsError: error ?? 'unavailable' }),
      wouldDeny: stats?.authorizer
        ? authorizerVerdicts(stats.authorizer.points, index, times.length)
        : {
            available: false,
            why: error ?? (stats?.authorizerUnavailable ? wouldDenyLater(stats.authorizerUnavailable.retryAfterSeconds) : WOULD_DENY_UNAVAILABLE),
          },
    };
  }

  /** One read per app and range at a time; a poll within minRefreshMs of the last reuses it. */
  private read(appId: string | undefined, rangeSeconds: number): Promise<{ stats?: Stats; error?: string }> {
    const key = `${appId ?? ''} ${rangeSeconds}`;
    const cached = this.reads.get(key);
    if (cached && this.nowMs() - cached.atMs < (this.options.minRefreshMs ?? 1000)) return cached.read;
    const query = { ...(appId !== undefined ? { appId } : {}), windowSeconds: rangeSeconds, series: 'minute', include: 'authorizer' } as const;
    const read = this.options.client.stats(query).then(
      (stats) => ({ stats }),
      (error: unknown) => {
        if (!(error instanceof CliError)) throw error;
        return { error: error.message };
      },
    );
    this.reads.set(key, { atMs: this.nowMs(), read });
    return read;
  }
}

/** The authorizer's points summed per minute of the range (`index`: minute start to position). */
function authorizerVerdicts(points: ReadonlyArray<StatsPoint>, index: Map<number, number>, length: number): AuthorizerVerdicts {
  const series = Object.fromEntries(AUTHORIZER_VERDICTS.map((v) => [v, Array.from({ length }, () => 0)])) as Record<AuthorizerVerdictName, number[]>;
  for (const point of points) {
    const i = index.get(point.time);
    if (i === undefined) continue;
    for (const v of AUTHORIZER_VERDICTS) series[v][i]! += point.counts[v] ?? 0;
  }
  const totals = Object.fromEntries(AUTHORIZER_VERDICTS.map((v) => [v, series[v].reduce((a, b) => a + b, 0)])) as Record<AuthorizerVerdictName, number>;
  const total = AUTHORIZER_VERDICTS.reduce((sum, v) => sum + totals[v], 0);
  const wouldDenyShare = Array.from({ length }, (_, i) => {
    const all = AUTHORIZER_VERDICTS.reduce((sum, v) => sum + series[v][i]!, 0);
    return all === 0 ? null : series.would_deny[i]! / all;
  });
  return { available: true, series, totals, total, wouldDenyShare, wouldDenyShareInRange: total === 0 ? null : totals.would_deny / total };
}
