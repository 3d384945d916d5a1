/**
 * The console's verdict timeline over a fake of GET /v1/admin/stats?series=minute that counts as
 * the service's counters do (per minute, app and category, from the minute the window starts in):
 * every attestation drawn in its minute and category, one read per poll whatever the traffic, and
 * honest about a read that failed.
 */
import type { LogEntry, Stats, StatsPoint } from '../../packages/cli/src/admin-client';
import { HttpStatusError } from '../../packages/cli/src/errors';
import { categoryOf, reasonFamily, VERDICT_CATEGORIES, VerdictTimeline } from '../../packages/cli/src/console/verdicts';

let serial = 0;
function entry(time: number, outcome: LogEntry['outcome'], reasons: string[] = [], appId = 'com.example.app'): LogEntry {
  const device = { did: 'd', platform: 'android', osVersion: '15', model: 'Pixel', sdkVersion: '1.0.0' };
  return { time, appId, appVersion: '1.0.0', ...device, outcome, reasons, jti: `j${serial++}` };
}

/** The stats route as the service answers it from its counters; `calls` counts requests. */
class FakeStats {
  entries: LogEntry[] = [];
  /** The authorizer's points as the service answers include=authorizer; undefined: a service that does not. */
  authorizer: StatsPoint[] | undefined = [];
  /** Set: the service answers the rest of include=authorizer without the verdicts, their store being unavailable. */
  authorizerUnavailable: { error: string; retryAfterSeconds: number } | undefined;
  calls: { appId?: string; windowSeconds?: number; series?: 'minute'; include?: 'authorizer' }[] = [];
  fail = false;
  async stats(query: { appId?: string; windowSeconds?: number; series?: 'minute'; include?: 'authorizer' }): Promise<Stats> {
    this.calls.push(query);
    if (this.fail) throw new HttpStatusError('no app com.example.gone', 404);
    const windowSeconds = query.windowSeconds ?? 3600;
    const since = Math.floor((now - windowSeconds) / 60) * 60;
    const counted = this.entries.filter((e) => e.time >= since && (query.appId === undefined || e.appId === query.appId));
    const points = new Map<string, { time: number; appId: string; counts: Record<string, number> }>();
    for (const e of counted) {
      const time = Math.floor(e.time / 60) * 60;
      const key = `${time} ${e.appId}`;
      const point = points.get(key) ?? { time, appId: e.appId, counts: {} };
      point.counts[categoryOf(e)] = (point.counts[categoryOf(e)] ?? 0) + 1;
      points.set(key, point);
    }
    const byOutcome = { pass: 0, fail: 0, debug: 0, allowlisted: 0 };
    for (const e of counted) byOutcome[e.outcome]++;
    return {
      windowSeconds,
      since: now - windowSeconds,
      total: counted.length,
      byOutcome,
      byReason: {},
      ...(query.series === 'minute' ? { series: { bucketSeconds: 60, points: [...points.values()] } } : {}),
      ...(query.include === 'authorizer' && this.authorizer && !this.authorizerUnavailable
        ? { authorizer: { bucketSeconds: 60, points: this.authorizer } }
        : {}),
      ...(query.include === 'authorizer' && this.authorizerUnavailable ? { authorizerUnavailable: this.authorizerUnavailable } : {}),
    };
  }
}

const T0 = 1_800_000_000; // a whole minute
let now = T0;
let nowMs = T0 * 1000;
let service: FakeStats;
const timeline = (extra: Partial<ConstructorParameters<typeof VerdictTimeline>[0]> = {}) =>
  new VerdictTimeline({ client: service, now: () => now, nowMs: () => nowMs, minRefreshMs: 0, ...extra });

beforeEach(() => {
  service = new FakeStats();
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
  it('draws the range by minute and category, per app or for all apps, from one stats read', async () => {
    // Prepare
    service.entries = [
      entry(T0 - 125, 'pass'),
      entry(T0 - 121, 'fail', ['measurement_mismatch']),
      entry(T0 - 61, 'fail', ['device_hooked']),
      entry(T0 - 59, 'debug'),
      entry(T0 - 30, 'pass', [], 'com.example.other'),
      entry(T0 - 4000, 'pass'), // outside the hour
    ];
    // Act
    const s = await timeline().snapshot({ rangeSeconds: 3600 });
    // Assess: 60 whole minutes and the one the range starts in.
    expect(service.calls).toEqual([{ windowSeconds: 3600, series: 'minute', include: 'authorizer' }]);
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
    expect(s.stats?.total).toBe(5);
    expect(s.stats).not.toHaveProperty('series');
    expect(s.failShare[at(T0 - 121)]).toBe(0.5);
    expect(s.failShare[0]).toBeNull();
    expect(s.apps).toEqual(['com.example.app', 'com.example.other']);
    expect(s.wouldDeny).toMatchObject({ available: true, total: 0, wouldDenyShareInRange: null });
    expect(s.categories).toBe(VERDICT_CATEGORIES);

    const one = await timeline().snapshot({ appId: 'com.example.other', rangeSeconds: 3600 });
    expect(one.total).toBe(1);
    expect(service.calls.at(-1)).toEqual({ appId: 'com.example.other', windowSeconds: 3600, series: 'minute', include: 'authorizer' });
  });

  it("draws the authorizer's verdicts per minute, summed over apps, and the would-deny share of each minute and of the range", async () => {
    // Prepare: two minutes of a monitor-mode authorizer, one older than the range.
    service.authorizer = [
      { time: T0 - 120, appId: 'com.example.app', counts: { allowed: 3 } },
      { time: T0 - 120, appId: '~unregistered', counts: { would_deny: 1 } },
      { time: T0 - 60, appId: '~unregistered', counts: { would_deny: 2, unavailable: 2 } },
      { time: T0 - 7200, appId: '~unregistered', counts: { would_deny: 9 } },
    ];
    // Act
    const s = await timeline().snapshot({ rangeSeconds: 900 });
    // Assess
    if (!s.wouldDeny.available) throw new Error(`expected authorizer verdicts: ${s.wouldDeny.why}`);
    const at = (t: number) => s.times.indexOf(t);
    expect(s.wouldDeny.series.allowed[at(T0 - 120)]).toBe(3);
    expect(s.wouldDeny.series.would_deny[at(T0 - 120)]).toBe(1);
    expect(s.wouldDeny.totals).toEqual({ allowed: 3, denied: 0, would_deny: 3, unavailable: 2 });
    expect(s.wouldDeny.total).toBe(8);
    expect(s.wouldDeny.wouldDenyShare[at(T0 - 120)]).toBe(0.25);
    expect(s.wouldDeny.wouldDenyShare[at(T0 - 60)]).toBe(0.5);
    expect(s.wouldDeny.wouldDenyShare[at(T0)]).toBeNull();
    expect(s.wouldDeny.wouldDenyShareInRange).toBe(3 / 8);
  });

  it('says the authorizer verdicts are not available when the service answers without them', async () => {
    service.authorizer = undefined;
    const s = await timeline().snapshot({ rangeSeconds: 900 });
    expect(s.wouldDeny).toEqual({ available: false, why: expect.stringContaining('include=authorizer') });
  });

  it('keeps drawing the attestations when the verdicts\' store is unavailable, and says it will try again', async () => {
    service.entries = [entry(T0 - 10, 'pass')];
    service.authorizerUnavailable = { error: 'service_unavailable', retryAfterSeconds: 3 };
    const s = await timeline().snapshot({ rangeSeconds: 900 });
    expect(s.totals.pass).toBe(1);
    expect(s.stats).toMatchObject({ total: 1 });
    expect(s.stats).not.toHaveProperty('authorizerUnavailable');
    expect(s.wouldDeny).toEqual({ available: false, why: expect.stringMatching(/could not be read just now.*tries again.*3 s/) });
  });

  it('shows what arrived since the last poll, one read per poll however many attestations arrived', async () => {
    // Prepare
    const t = timeline();
    service.entries = [entry(T0 - 10, 'pass'), entry(T0 - 5, 'pass')];
    expect((await t.snapshot({ rangeSeconds: 900 })).total).toBe(2);
    for (let i = 0; i < 500; i++) service.entries.push(entry(T0 - 5 + (i % 6), i % 2 ? 'pass' : 'fail', ['sdk_too_old']));
    now = T0 + 1;
    nowMs += 1000;
    // Act
    const s = await t.snapshot({ rangeSeconds: 900 });
    // Assess
    expect(s.total).toBe(502);
    expect(s.totals.fail_sdk).toBe(250);
    expect(service.calls).toHaveLength(2);
  });

  it('several pages polling at once cost one read', async () => {
    service.entries = [entry(T0 - 10, 'pass')];
    const t = timeline({ minRefreshMs: 1000 });
    await Promise.all([t.snapshot({ rangeSeconds: 900 }), t.snapshot({ rangeSeconds: 900 }), t.snapshot({ rangeSeconds: 900 })]);
    expect(service.calls).toHaveLength(1);
    nowMs += 1000;
    await t.snapshot({ rangeSeconds: 900 });
    expect(service.calls).toHaveLength(2);
  });

  it('a range is clamped to a minute .. a day', async () => {
    await timeline().snapshot({ rangeSeconds: 7 * 86400 });
    await timeline().snapshot({ rangeSeconds: 1 });
    expect(service.calls.map((c) => c.windowSeconds)).toEqual([86400, 60]);
  });

  it("reports the service's refusal as text, with empty charts", async () => {
    service.entries = [entry(T0 - 10, 'pass')];
    service.fail = true;
    const s = await timeline().snapshot({ rangeSeconds: 900 });
    expect(s.stats).toBeUndefined();
    expect(s.statsError).toBe('no app com.example.gone');
    expect(s.total).toBe(0);
  });
});
