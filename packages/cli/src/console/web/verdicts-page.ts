/**
 * Live verdicts per app: stacked bars per minute (pass, allow-listed, debug, and failures by
 * family), the failing share over time, and the service's own counts for the window, polled while
 * the page is open; and what the authorizer did per minute (allowed, denied, would-deny in monitor
 * mode) with the would-deny share, from the same stats read (include=authorizer).
 */
import type uPlotType from 'uplot';
import { api, errorText } from './api.js';
import { append, clear, h, time } from './dom.js';
import type { Page } from './main.js';

/** uPlot's IIFE build, loaded by a classic <script> before the page's modules: no CDN, no bundler. */
declare const uPlot: typeof uPlotType;

interface Snapshot {
  readonly appId?: string;
  readonly rangeSeconds: number;
  readonly bucketSeconds: number;
  readonly times: number[];
  readonly categories: ReadonlyArray<{ key: string; label: string }>;
  readonly series: Record<string, number[]>;
  readonly totals: Record<string, number>;
  readonly total: number;
  readonly failShare: Array<number | null>;
  readonly apps: string[];
  readonly stats?: { windowSeconds: number; total: number; byOutcome: Record<string, number>; byReason: Record<string, number>; nonceInvalid?: number };
  readonly statsError?: string;
  readonly wouldDeny:
    | {
        available: true;
        series: Record<string, number[]>;
        totals: Record<string, number>;
        total: number;
        wouldDenyShare: Array<number | null>;
        wouldDenyShareInRange: number | null;
      }
    | { available: false; why: string };
}

/** The authorizer's verdicts, as the page draws them (AuthorizerVerdictName, with its colour). */
const VERDICTS: ReadonlyArray<{ key: string; label: string; color: string }> = [
  { key: 'allowed', label: 'allowed', color: '#2da44e' },
  { key: 'denied', label: 'denied', color: '#cf222e' },
  { key: 'would_deny', label: 'would deny', color: '#fb8f44' },
  { key: 'unavailable', label: 'unavailable (503)', color: '#6e7781' },
];
const SHARE_COLOR = '#8250df';
const percent = (share: number | null) => (share === null ? '–' : `${(share * 100).toFixed(1)}%`);

const COLORS: Readonly<Record<string, string>> = {
  pass: '#2da44e',
  allowlisted: '#1b7c83',
  debug: '#4c8dff',
  fail_build: '#cf222e',
  fail_proof: '#8250df',
  fail_hardware: '#953800',
  fail_device: '#fb8f44',
  fail_sdk: '#d4a72c',
  fail_other: '#6e7781',
};

const RANGES: ReadonlyArray<[number, string]> = [
  [900, 'last 15 minutes'],
  [3600, 'last hour'],
  [6 * 3600, 'last 6 hours'],
  [24 * 3600, 'last 24 hours'],
];

export const verdictsPage: Page = (view, ctx) => {
  let left = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let bars: uPlotType | undefined;
  let share: uPlotType | undefined;
  let verdictChart: uPlotType | undefined;
  let latest: Snapshot | undefined;

  const appSelect = h('select', { id: 'verdict-app' }, h('option', { value: '' }, 'all apps'));
  const knownApps = new Set<string>();
  const addApps = (ids: readonly string[]) => {
    for (const id of ids) {
      if (knownApps.has(id)) continue;
      knownApps.add(id);
      append(appSelect, h('option', { value: id }, id));
    }
  };
  addApps(ctx.apps.map((a) => a.appId));
  appSelect.value = ctx.appId ?? '';
  const rangeSelect = h('select', { id: 'verdict-range' }, ...RANGES.map(([s, label]) => h('option', { value: s, selected: s === 3600 }, label)));
  const updated = h('span', { id: 'verdicts-updated', class: 'muted' });
  const chartBox = h('div', { id: 'verdict-chart', class: 'chart' });
  const hover = h('p', { id: 'verdict-hover', class: 'note' }, 'Point at a bar to read its minute.');
  const totalsBox = h('div', {});
  const shareBox = h('div', { id: 'fail-share-chart', class: 'chart' });
  const statsBox = h('div', {});
  const wouldDenyStatus = h('p', { id: 'would-deny-status', 'data-available': 'false' }, 'Waiting for the first read.');
  const authorizerBox = h('div', { id: 'authorizer-chart', class: 'chart' });
  const authorizerTotals = h('div', {});
  const coverage = h('p', { id: 'verdict-coverage', class: 'note' });
  const problem = h('p', { id: 'verdict-error', class: 'error' });

  append(
    view,
    h('h1', {}, 'Verdicts'),
    h('section', {}, h('form', { class: 'inline' }, h('label', {}, 'App', appSelect), h('label', {}, 'Range', rangeSelect), updated), problem),
    h('section', {}, h('h2', {}, 'Attestations per minute'), chartBox, hover, coverage, totalsBox),
    h(
      'div',
      { class: 'grid2' },
      h(
        'section',
        {},
        h('h2', {}, 'Failing share'),
        shareBox,
        h('p', { class: 'note' }, 'Failed attestations get decoy tokens: this is the share of attested clients an enforcing API would turn away.'),
      ),
      h(
        'section',
        { id: 'would-deny' },
        h('h2', {}, 'Authorizer verdicts and would-deny share'),
        wouldDenyStatus,
        authorizerBox,
        authorizerTotals,
        h(
          'p',
          { class: 'note' },
          'Requests the authorizer judged, per minute: allowed, denied (enforce mode), would deny (monitor mode: let through, but enforcing ',
          'would have denied them); the line is the would-deny share of each minute. Denials name no app (their token did not verify): ',
          'one app’s view shows every denial of the authorizer. A would-deny share near zero over a busy period says enforcing is safe.',
        ),
      ),
    ),
    h('section', {}, h('h2', {}, 'Counts from the service (GET /v1/admin/stats)'), statsBox),
  );

  const chartWidth = () => Math.max(chartBox.clientWidth, 300);

  const draw = (s: Snapshot) => {
    latest = s;
    addApps(s.apps);
    problem.textContent = '';
    updated.textContent = `updated ${new Date().toLocaleTimeString()}, every ${ctx.session.pollSeconds} s`;
    updated.dataset['total'] = String(s.total);
    drawAuthorizer(s);

    // Stacked bars: each category is drawn as the running sum up to it, tallest first, so every
    // bar shows through only as its own share.
    const keys = s.categories.map((c) => c.key);
    const cumulative: number[][] = [];
    let running = s.times.map(() => 0);
    for (const key of keys) {
      running = running.map((v, i) => v + (s.series[key]?.[i] ?? 0));
      cumulative.push(running);
    }
    const drawOrder = keys.map((_, i) => keys.length - 1 - i);
    const data = [s.times, ...drawOrder.map((i) => cumulative[i]!)] as uPlotType.AlignedData;
    if (!bars) {
      bars = new uPlot(
        {
          width: chartWidth(),
          height: 260,
          legend: { show: false },
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
          axes: [{}, { label: 'attestations / min', size: 60 }],
          series: [
            {},
            ...drawOrder.map((i) => ({
              label: s.categories[i]!.label,
              fill: COLORS[keys[i]!] ?? '#999',
              stroke: COLORS[keys[i]!] ?? '#999',
              width: 0,
              paths: uPlot.paths.bars!({ size: [0.85, 40], align: 1 }),
              points: { show: false },
            })),
          ],
          hooks: { setCursor: [(u: uPlotType) => describe(u.cursor.idx)] },
        },
        data,
        chartBox,
      );
    } else {
      bars.setData(data);
    }
    chartBox.dataset['buckets'] = String(s.times.length);
    chartBox.dataset['total'] = String(s.total);

    const shareData = [s.times, s.failShare.map((v) => (v === null ? null : Math.round(v * 1000) / 10))] as uPlotType.AlignedData;
    if (!share) {
      share = new uPlot(
        {
          width: Math.max(shareBox.clientWidth, 280),
          height: 180,
          legend: { show: false },
          scales: { x: { time: true }, y: { range: [0, 100] } },
          axes: [{}, { label: '% failed', size: 50 }],
          series: [{}, { label: 'failed %', stroke: COLORS['fail_build'], width: 2, spanGaps: false, points: { show: true, size: 4 } }],
        },
        shareData,
        shareBox,
      );
    } else {
      share.setData(shareData);
    }

    clear(totalsBox);
    const failed = keys.filter((k) => k.startsWith('fail_')).reduce((sum, k) => sum + (s.totals[k] ?? 0), 0);
    append(
      totalsBox,
      h(
        'table',
        { id: 'verdict-totals' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Verdict'), h('th', { class: 'num' }, 'In range'), h('th', { class: 'num' }, 'Share'))),
        h(
          'tbody',
          {},
          ...s.categories.map((c) =>
            h(
              'tr',
              { 'data-category': c.key },
              h('td', {}, h('span', { class: 'swatch', 'data-color': COLORS[c.key] }), c.label),
              h('td', { class: 'num', 'data-count': s.totals[c.key] ?? 0 }, s.totals[c.key] ?? 0),
              h('td', { class: 'num' }, s.total ? `${(((s.totals[c.key] ?? 0) * 100) / s.total).toFixed(1)}%` : '–'),
            ),
          ),
          h(
            'tr',
            { 'data-category': 'total' },
            h('th', {}, 'all'),
            h('th', { class: 'num', 'data-count': s.total }, s.total),
            h('th', { class: 'num' }, s.total ? `${((failed * 100) / s.total).toFixed(1)}% failed` : '–'),
          ),
        ),
      ),
    );
    // Swatch colours through the CSSOM: the Content Security Policy refuses style attributes.
    totalsBox.querySelectorAll<HTMLElement>('.swatch').forEach((el) => (el.style.background = el.dataset['color'] ?? '#999'));

    coverage.textContent =
      `From the service's per-minute counters (GET /v1/admin/stats?series=minute), read every ${ctx.session.pollSeconds} s; ` +
      "minutes in your browser's time zone.";

    clear(statsBox);
    if (s.stats) {
      const reasons = Object.entries(s.stats.byReason).sort((a, b) => b[1] - a[1]);
      append(
        statsBox,
        h(
          'table',
          { id: 'stats' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Outcome or reason'), h('th', { class: 'num' }, 'Count'))),
          h(
            'tbody',
            {},
            ...Object.entries(s.stats.byOutcome).map(([k, v]) => h('tr', { 'data-outcome': k }, h('td', {}, k), h('td', { class: 'num' }, v))),
            ...reasons.map(([k, v]) => h('tr', { 'data-reason': k }, h('td', {}, `reason: ${k}`), h('td', { class: 'num' }, v))),
            ...(s.stats.nonceInvalid !== undefined
              ? [h('tr', { 'data-replays': '' }, h('td', {}, 'replays (nonce_invalid, not in the total)'), h('td', { class: 'num' }, s.stats.nonceInvalid))]
              : []),
          ),
        ),
        h(
          'p',
          { class: 'note' },
          `${s.stats.total} attestations in the last ${Math.round(s.stats.windowSeconds / 60)} minutes, `,
          'from the same counters as the chart.',
        ),
      );
    } else {
      append(statsBox, h('p', { class: 'error' }, s.statsError ?? 'unavailable'));
    }
  };

  const drawAuthorizer = (s: Snapshot) => {
    const w = s.wouldDeny;
    wouldDenyStatus.dataset['available'] = String(w.available);
    clear(authorizerTotals);
    if (!w.available) {
      wouldDenyStatus.textContent = `Not available: ${w.why}.`;
      return;
    }
    wouldDenyStatus.textContent = '';
    append(
      wouldDenyStatus,
      'Would-deny share in range: ',
      h('strong', { id: 'would-deny-share', 'data-share': w.wouldDenyShareInRange ?? '' }, percent(w.wouldDenyShareInRange)),
      ` of ${w.total} requests the authorizer judged.`,
    );
    const data = [
      s.times,
      ...VERDICTS.map((v) => w.series[v.key] ?? s.times.map(() => 0)),
      w.wouldDenyShare.map((v) => (v === null ? null : Math.round(v * 1000) / 10)),
    ] as uPlotType.AlignedData;
    if (!verdictChart) {
      verdictChart = new uPlot(
        {
          width: Math.max(authorizerBox.clientWidth, 280),
          height: 180,
          legend: { show: false },
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] }, share: { range: [0, 100] } },
          axes: [{}, { label: 'requests / min', size: 50 }, { scale: 'share', side: 1, label: '% would deny', size: 50, grid: { show: false } }],
          series: [
            {},
            ...VERDICTS.map((v) => ({ label: v.label, stroke: v.color, width: 2, points: { show: false } })),
            { label: 'would-deny %', scale: 'share', stroke: SHARE_COLOR, width: 2, dash: [4, 4], spanGaps: false, points: { show: true, size: 4 } },
          ],
        },
        data,
        authorizerBox,
      );
    } else {
      verdictChart.setData(data);
    }
    authorizerBox.dataset['total'] = String(w.total);
    append(
      authorizerTotals,
      h(
        'table',
        { id: 'authorizer-totals' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Authorizer verdict'), h('th', { class: 'num' }, 'In range'), h('th', { class: 'num' }, 'Share'))),
        h(
          'tbody',
          {},
          ...VERDICTS.map((v) =>
            h(
              'tr',
              { 'data-verdict': v.key },
              h('td', {}, h('span', { class: 'swatch', 'data-color': v.color }), v.label),
              h('td', { class: 'num', 'data-count': w.totals[v.key] ?? 0 }, w.totals[v.key] ?? 0),
              h('td', { class: 'num' }, w.total ? percent((w.totals[v.key] ?? 0) / w.total) : '–'),
            ),
          ),
        ),
      ),
    );
    authorizerTotals.querySelectorAll<HTMLElement>('.swatch').forEach((el) => (el.style.background = el.dataset['color'] ?? '#999'));
  };

  const describe = (idx: number | null | undefined) => {
    const s = latest;
    if (!s || idx === null || idx === undefined || s.times[idx] === undefined) return;
    const parts = s.categories.map((c) => [c.label, s.series[c.key]?.[idx] ?? 0] as const).filter(([, v]) => v > 0);
    const counts = parts.length ? parts.map(([l, v]) => `${l} ${v}`).join(', ') : 'no attestations';
    hover.textContent = `${new Date(s.times[idx]! * 1000).toLocaleTimeString()}: ${counts}`;
  };

  const poll = async () => {
    timer = undefined;
    const query = new URLSearchParams({ rangeSeconds: rangeSelect.value });
    if (appSelect.value) query.set('appId', appSelect.value);
    try {
      const s = await api<Snapshot>('GET', `/console/verdicts?${query}`);
      if (left) return;
      draw(s);
    } catch (error) {
      if (left) return;
      problem.textContent = errorText(error);
    }
    if (!left) timer = setTimeout(() => void poll(), ctx.session.pollSeconds * 1000);
  };
  const now = () => {
    if (timer !== undefined) clearTimeout(timer);
    void poll();
  };
  appSelect.addEventListener('change', now);
  rangeSelect.addEventListener('change', now);
  const resize = () => {
    bars?.setSize({ width: chartWidth(), height: 260 });
    share?.setSize({ width: Math.max(shareBox.clientWidth, 280), height: 180 });
    verdictChart?.setSize({ width: Math.max(authorizerBox.clientWidth, 280), height: 180 });
  };
  window.addEventListener('resize', resize);
  void poll();

  return () => {
    left = true;
    if (timer !== undefined) clearTimeout(timer);
    window.removeEventListener('resize', resize);
    bars?.destroy();
    share?.destroy();
    verdictChart?.destroy();
  };
};
