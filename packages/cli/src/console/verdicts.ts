/**
 * Verdicts per app over time, for the console's live charts. The admin API has no time series, so
 * the console follows the attestation log (GET /v1/admin/log) as `attestor log --follow` does: one
 * backfill of the chart's range, then only what is new since the newest entry seen, so each entry
 * is read about once however often the page polls. Counts are kept per minute, per app and per
 * category, never the entries themselves, so memory stays flat at any traffic.
 */
import { categoryOf, VERDICT_CATEGORIES, type CategoryInfo, type VerdictCategory } from '@attestor/contracts/metrics';
import type { LogEntry, LogPage, LogQuery, Stats } from '../admin-client';
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
  /** False when the backfill stopped at its page limit: the chart starts at `coveredFrom`, not at the range's start. */
  readonly complete: boolean;
  readonly coveredFrom: number;
  /** More arrived between two polls than one poll reads: some entries are missing from the chart. */
  readonly gaps: boolean;
  /** Every app id the log showed in the range (unregistered ones included, for the default tenant). */
  readonly apps: readonly string[];
  /** The service's own counts over the same window (GET /v1/admin/stats), refreshed less often. */
  readonly stats?: Stats;
  readonly statsError?: string;
  /** The authorizer's monitor-mode verdicts: no admin route serves them (see docs/CONSOLE.md). */
  readonly wouldDeny: { readonly available: false; readonly why: string };
}

export const WOULD_DENY_UNAVAILABLE =
  'the authorizer records its verdicts (monitor mode included) only as CloudWatch metrics (namespace Attestor, metric TokenVerdicts), ' +
  'and no admin route serves them yet; the failing share of attestations is the nearest estimate here: a failed attestation gets a ' +
  'decoy token, which an enforcing authorizer denies, but requests that carry no token at all are not counted';

export interface TimelineOptions {
  readonly client: { log(query: LogQuery): Promise<LogPage<LogEntry>>; stats(query: { appId?: string; windowSeconds?: number }): Promise<Stats> };
  /** Unix seconds. */
  readonly now?: () => number;
  /** @default 60 */
  readonly bucketSeconds?: number;
  /** Pages of 100 the first load of a range reads at most; a busier range is shown from where they end. @default 50 */
  readonly backfillPages?: number;
  /** Pages one poll reads at most. @default 20 */
  readonly followPages?: number;
  /** A poll sooner than this after the last one reuses it, so several open pages cost one reader. @default 1000 */
  readonly minRefreshMs?: number;
  /** How long the service's stats are reused: each stats call reads the whole window. @default 30000 */
  readonly statsTtlMs?: number;
  readonly nowMs?: () => number;
}

/** The longest range the page offers; older buckets are dropped. */
export const MAX_RANGE_SECONDS = 24 * 3600;
const PAGE = 100;

export class VerdictTimeline {
  private readonly buckets = new Map<number, Map<string, Counts>>();
  private readonly apps = new Set<string>();
  private loadedRange = 0;
  private coveredFrom = 0;
  private complete = true;
  private gaps = false;
  private newest: number | undefined;
  private seenAtNewest = new Set<string>();
  private lastRefreshMs = -Infinity;
  private refreshing: Promise<void> | undefined;
  private readonly statsCache = new Map<string, { atMs: number; stats?: Stats; error?: string }>();
  private readonly now: () => number;
  private readonly nowMs: () => number;
  private readonly bucketSeconds: number;

  constructor(private readonly options: TimelineOptions) {
    this.nowMs = options.nowMs ?? Date.now;
    this.now = options.now ?? (() => Math.floor(this.nowMs() / 1000));
    this.bucketSeconds = options.bucketSeconds ?? 60;
  }

  async snapshot(query: { appId?: string; rangeSeconds: number }): Promise<VerdictSnapshot> {
    const rangeSeconds = Math.min(Math.max(query.rangeSeconds, this.bucketSeconds), MAX_RANGE_SECONDS);
    await this.refresh(rangeSeconds);
    const now = this.now();
    const step = this.bucketSeconds;
    // The first minute is partly before the range and counts only its part in it, so the chart's
    // totals are those of the same window GET /v1/admin/stats counts.
    const first = Math.floor((now - rangeSeconds) / step) * step;
    const times: number[] = [];
    for (let t = first; t <= now; t += step) times.push(t);
    const series = Object.fromEntries(VERDICT_CATEGORIES.map((c) => [c.key, times.map(() => 0)])) as Record<VerdictCategory, number[]>;
    times.forEach((t, i) => {
      const byApp = this.buckets.get(t);
      if (!byApp) return;
      for (const [appId, counts] of byApp) {
        if (query.appId !== undefined && appId !== query.appId) continue;
        for (const c of VERDICT_CATEGORIES) series[c.key][i]! += counts[c.key];
      }
    });
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
    const stats = await this.stats(query.appId, rangeSeconds);
    return {
      ...(query.appId !== undefined ? { appId: query.appId } : {}),
      rangeSeconds,
      bucketSeconds: step,
      times,
      categories: VERDICT_CATEGORIES,
      series,
      totals,
      total,
      failShare,
      complete: this.complete || this.coveredFrom <= now - rangeSeconds,
      coveredFrom: Math.max(this.coveredFrom, now - rangeSeconds),
      gaps: this.gaps,
      apps: [...this.apps].sort(),
      ...stats,
      wouldDeny: { available: false, why: WOULD_DENY_UNAVAILABLE },
    };
  }

  private async refresh(rangeSeconds: number): Promise<void> {
    // One reader for every page polling at once: a second caller waits for the read in flight.
    while (this.refreshing) await this.refreshing;
    if (rangeSeconds <= this.loadedRange && this.nowMs() - this.lastRefreshMs < (this.options.minRefreshMs ?? 1000)) return;
    this.refreshing = (rangeSeconds > this.loadedRange ? this.backfill(rangeSeconds) : this.follow()).finally(() => {
      this.refreshing = undefined;
      this.lastRefreshMs = this.nowMs();
    });
    await this.refreshing;
  }

  /**
   * Reads the range from the newest entry back. A longer range than the one loaded starts over:
   * the log pages newest first, so its older part can only be reached through the newer one anyway.
   */
  private async backfill(rangeSeconds: number): Promise<void> {
    this.buckets.clear();
    this.apps.clear();
    this.gaps = false;
    this.newest = undefined;
    this.seenAtNewest = new Set();
    const since = this.now() - rangeSeconds;
    let cursor: string | undefined;
    let oldest = since;
    let pages = 0;
    let newestFirst: LogEntry[] = [];
    const limit = this.options.backfillPages ?? 50;
    do {
      const page = await this.options.client.log({ since, limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
      if (pages === 0) newestFirst = [...page.entries];
      for (const e of page.entries) {
        this.count(e);
        oldest = e.time;
      }
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < limit);
    this.complete = cursor === undefined;
    this.coveredFrom = this.complete ? since : oldest;
    this.loadedRange = rangeSeconds;
    this.markNewest(newestFirst);
  }

  /** What arrived since the newest entry seen; entries of that second already counted are skipped by their jti. */
  private async follow(): Promise<void> {
    const since = this.newest ?? this.now() - this.loadedRange;
    let cursor: string | undefined;
    let pages = 0;
    let newestFirst: LogEntry[] = [];
    const limit = this.options.followPages ?? 20;
    do {
      const page = await this.options.client.log({ since, limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
      if (pages === 0) newestFirst = [...page.entries];
      for (const e of page.entries) {
        if (e.time < since || (e.time === this.newest && this.seenAtNewest.has(e.jti))) continue;
        this.count(e);
      }
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < limit);
    if (cursor !== undefined) this.gaps = true;
    this.markNewest(newestFirst);
    this.prune();
  }

  private markNewest(newestFirst: readonly LogEntry[]): void {
    const top = newestFirst[0];
    if (!top) return;
    const seen = new Set(top.time === this.newest ? this.seenAtNewest : []);
    for (const e of newestFirst) if (e.time === top.time) seen.add(e.jti);
    this.newest = top.time;
    this.seenAtNewest = seen;
  }

  private count(entry: LogEntry): void {
    const bucket = Math.floor(entry.time / this.bucketSeconds) * this.bucketSeconds;
    let byApp = this.buckets.get(bucket);
    if (!byApp) this.buckets.set(bucket, (byApp = new Map()));
    let counts = byApp.get(entry.appId);
    if (!counts) byApp.set(entry.appId, (counts = zeroCounts()));
    counts[categoryOf(entry)]++;
    this.apps.add(entry.appId);
  }

  private prune(): void {
    const oldest = this.now() - this.loadedRange - this.bucketSeconds;
    for (const t of this.buckets.keys()) if (t < oldest) this.buckets.delete(t);
  }

  private async stats(appId: string | undefined, windowSeconds: number): Promise<{ stats?: Stats; statsError?: string }> {
    const key = `${appId ?? ''} ${windowSeconds}`;
    const cached = this.statsCache.get(key);
    if (cached && this.nowMs() - cached.atMs < (this.options.statsTtlMs ?? 30_000)) {
      return cached.stats ? { stats: cached.stats } : { statsError: cached.error ?? 'unavailable' };
    }
    let entry: { atMs: number; stats?: Stats; error?: string };
    try {
      entry = { atMs: this.nowMs(), stats: await this.options.client.stats({ ...(appId !== undefined ? { appId } : {}), windowSeconds }) };
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      entry = { atMs: this.nowMs(), error: error.message };
    }
    this.statsCache.set(key, entry);
    return entry.stats ? { stats: entry.stats } : { statsError: entry.error ?? 'unavailable' };
  }
}
