/**
 * The console's verdict timeline over a fake attestation log that pages as the admin API does
 * (newest first, `since` inclusive, a cursor while older entries remain): every entry counted once
 * in its minute and category, however the polls fall, and honest about what it did not read.
 */
import type { LogEntry, LogPage, LogQuery, Stats } from '../../packages/cli/src/admin-client';
import { HttpStatusError } from '../../packages/cli/src/errors';
import { categoryOf, reasonFamily, VERDICT_CATEGORIES, VerdictTimeline } from '../../packages/cli/src/console/verdicts';

let serial = 0;
function entry(time: number, outcome: LogEntry['outcome'], reasons: string[] = [], appId = 'com.example.app'): LogEntry {
  const device = { did: 'd', platform: 'android', osVersion: '15', model: 'Pixel', sdkVersion: '1.0.0' };
  return { time, appId, appVersion: '1.0.0', ...device, outcome, reasons, jti: `j${serial++}` };
}

/** The log as GET /v1/admin/log serves it; `reads` counts entries handed out. */
class FakeLog {
  entries: LogEntry[] = [];
  reads = 0;
  queries: LogQuery[] = [];
  statsCalls = 0;
  statsFail = false;
  async log(query: LogQuery): Promise<LogPage<LogEntry>> {
    this.queries.push(query);
    const matching = this.entries.filter((e) => e.time >= (query.since ?? 0)).sort((a, b) => b.time - a.time);
    const start = query.cursor ? Number(query.cursor) : 0;
    const limit = query.limit ?? 50;
    const page = matching.slice(start, start + limit);
    this.reads += page.length;
    return { entries: page, ...(start + limit < matching.length ? { cursor: String(start + limit) } : {}) };
  }
  async stats(query: { appId?: string; windowSeconds?: number }): Promise<Stats> {
    this.statsCalls++;
    if (this.statsFail) throw new HttpStatusError('no app com.example.gone', 404);
    return { windowSeconds: query.windowSeconds ?? 3600, since: 0, total: 0, byOutcome: { pass: 0, fail: 0, debug: 0, allowlisted: 0 }, byReason: {} };
  }
}

const T0 = 1_800_000_000; // a whole minute
let now = T0;
let nowMs = T0 * 1000;
let log: FakeLog;
const timeline = (extra: Partial<ConstructorParameters<typeof VerdictTimeline>[0]> = {}) =>
  new VerdictTimeline({ client: log, now: () => now, nowMs: () => nowMs, minRefreshMs: 0, ...extra });

beforeEach(() => {
  log = new FakeLog();
  now = T0;
  nowMs = T0 * 1000;
});

describe('reason families', () => {
  it('puts each reason of the admin API in the family an operator would fix, and unknown ones in other', () => {
    expect(['app_unknown', 'version_unknown', 'registration_expired', 'measurement_mismatch'].map(reasonFamily)).toEqual(['build', 'build', 'build', 'build']);
    expect(['device_rooted', 'device_emulator', 'device_debugger', 'device_hooked'].map(reasonFamily)).toEqual(['device', 'device', 'device', 'device']);
    const reasons = ['hardware_missing', 'hardware_counter_replay', 'install_proof_invalid', 'debug_secret_invalid', 'sdk_too_old', 'from_the_future'];
    expect(reasons.map(reasonFamily)).toEqual([
      'hardware',
      'hardware',
      'proof',
      'proof',
      'sdk',
      'other',
    ]);
  });

  it('counts a failure once, under its most telling family; passes by outcome whatever they carry', () => {
    expect(categoryOf({ outcome: 'fail', reasons: ['device_rooted', 'measurement_mismatch'] })).toBe('fail_build');
    expect(categoryOf({ outcome: 'fail', reasons: ['sdk_too_old', 'hardware_missing'] })).toBe('fail_hardware');
    expect(categoryOf({ outcome: 'fail', reasons: [] })).toBe('fail_other');
    expect(categoryOf({ outcome: 'debug', reasons: ['measurement_mismatch'] })).toBe('debug');
    expect(categoryOf({ outcome: 'allowlisted', reasons: ['device_rooted'] })).toBe('allowlisted');
  });
});

describe('VerdictTimeline', () => {
  it('buckets the range by minute and category, per app or for all apps', async () => {
    log.entries = [
      entry(T0 - 125, 'pass'),
      entry(T0 - 121, 'fail', ['measurement_mismatch']),
      entry(T0 - 61, 'fail', ['device_hooked']),
      entry(T0 - 59, 'debug'),
      entry(T0 - 30, 'pass', [], 'com.example.other'),
      entry(T0 - 4000, 'pass'), // outside the hour
    ];
    const s = await timeline().snapshot({ rangeSeconds: 3600 });
    // 60 whole minutes and the one the range starts in, whose part in the range counts.
    expect(s.times).toHaveLength(61);
    expect(s.times[0]).toBe(T0 - 3600);
    expect(s.times.at(-1)).toBe(T0);
    const at = (t: number) => s.times.indexOf(Math.floor(t / 60) * 60);
    expect(s.series.pass[at(T0 - 125)]).toBe(1);
    expect(s.series.fail_build[at(T0 - 121)]).toBe(1);
    expect(s.series.fail_device[at(T0 - 61)]).toBe(1);
    expect(s.series.debug[at(T0 - 59)]).toBe(1);
    expect(s.totals).toEqual({ pass: 2, allowlisted: 0, debug: 1, fail_build: 1, fail_proof: 0, fail_hardware: 0, fail_device: 1, fail_sdk: 0, fail_other: 0 });
    expect(s.total).toBe(5);
    expect(s.failShare[at(T0 - 121)]).toBe(0.5);
    expect(s.failShare[0]).toBeNull();
    expect(s.apps).toEqual(['com.example.app', 'com.example.other']);
    expect(s.complete).toBe(true);
    expect(s.wouldDeny.available).toBe(false);
    expect(s.categories).toBe(VERDICT_CATEGORIES);

    const one = await timeline().snapshot({ appId: 'com.example.other', rangeSeconds: 3600 });
    expect(one.total).toBe(1);
  });

  it('follows the log: what is new counts once, entries of the newest second already seen are not counted again', async () => {
    const t = timeline();
    log.entries = [entry(T0 - 10, 'pass'), entry(T0 - 5, 'pass')];
    expect((await t.snapshot({ rangeSeconds: 900 })).total).toBe(2);
    // Another entry in the same second as the newest one seen, and two later ones.
    log.entries.push(entry(T0 - 5, 'fail', ['sdk_too_old']), entry(T0 - 2, 'allowlisted'), entry(T0 - 1, 'pass'));
    now = T0 + 1;
    nowMs += 1000;
    const s = await t.snapshot({ rangeSeconds: 900 });
    expect(s.total).toBe(5);
    expect(s.totals.fail_sdk).toBe(1);
    // The follow asked only for the newest second on: each entry is read about once, not once per poll.
    expect(log.queries.at(-1)!.since).toBe(T0 - 5);
    nowMs += 1000;
    expect((await t.snapshot({ rangeSeconds: 900 })).total).toBe(5);
    expect(log.reads).toBeLessThanOrEqual(2 + 4 + 1);
  });

  it('several pages polling at once cost one read of the log', async () => {
    log.entries = [entry(T0 - 10, 'pass')];
    const t = timeline({ minRefreshMs: 1000 });
    await Promise.all([t.snapshot({ rangeSeconds: 900 }), t.snapshot({ rangeSeconds: 900 }), t.snapshot({ rangeSeconds: 900 })]);
    expect(log.queries).toHaveLength(1);
  });

  it('a busier range than the backfill reads is shown from where it stopped, and says so', async () => {
    for (let i = 0; i < 250; i++) log.entries.push(entry(T0 - 1 - i, 'pass'));
    const s = await timeline({ backfillPages: 2 }).snapshot({ rangeSeconds: 3600 });
    expect(s.complete).toBe(false);
    expect(s.coveredFrom).toBe(T0 - 200);
    expect(s.total).toBe(200);
  });

  it('more new entries between two polls than one poll reads is reported as a gap', async () => {
    const t = timeline({ followPages: 1 });
    log.entries = [entry(T0 - 100, 'pass')];
    await t.snapshot({ rangeSeconds: 900 });
    for (let i = 0; i < 150; i++) log.entries.push(entry(T0 - 50 + (i % 40), 'pass'));
    nowMs += 1000;
    const s = await t.snapshot({ rangeSeconds: 900 });
    expect(s.gaps).toBe(true);
  });

  it('a longer range than the one loaded reads the log again from its start', async () => {
    log.entries = [entry(T0 - 2000, 'pass'), entry(T0 - 10, 'pass')];
    const t = timeline();
    expect((await t.snapshot({ rangeSeconds: 900 })).total).toBe(1);
    expect((await t.snapshot({ rangeSeconds: 3600 })).total).toBe(2);
    expect((await t.snapshot({ rangeSeconds: 900 })).total).toBe(1);
  });

  it("reuses the service's stats for a while (each call reads the whole window) and reports their failure as text", async () => {
    log.entries = [entry(T0 - 10, 'pass')];
    const t = timeline({ statsTtlMs: 30_000 });
    expect((await t.snapshot({ rangeSeconds: 900 })).stats?.windowSeconds).toBe(900);
    nowMs += 10_000;
    await t.snapshot({ rangeSeconds: 900 });
    expect(log.statsCalls).toBe(1);
    nowMs += 30_000;
    log.statsFail = true;
    const s = await t.snapshot({ rangeSeconds: 900 });
    expect(log.statsCalls).toBe(2);
    expect(s.stats).toBeUndefined();
    expect(s.statsError).toBe('no app com.example.gone');
  });
});
