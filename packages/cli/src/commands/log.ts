/**
 * `attestor log` and `attestor stats`: what the service judged, newest last, and the counts by
 * outcome and reason. `log --follow` polls with a cursor (the newest time seen) and prints what is
 * new until Ctrl-C.
 */
import { Option, type Command } from 'commander';
import { MAX_SERIES_WINDOW_SECONDS } from '@attestor/contracts/admin-api';
import { AUTHORIZER_VERDICTS } from '@attestor/contracts/metrics';
import type { TestTokenAuditEntry } from '@attestor/contracts/test-tokens';
import type { AdminClient, BuildLogEntry, LogEntry, LogPage } from '../admin-client';
import { adminClient, appIdParser, durationParser, examples, integerParser, type CliContext, type OutputStream } from '../context';
import { formatDuration } from '../duration';
import { CliError, HttpStatusError, InterruptedError, oneLine } from '../errors';
import { formatFields, formatTable, isoSeconds, printable, toJson, toJsonLine, type Column } from '../output';

/** The service's page size limit (docs/ADMIN_API.md §1.4); longer listings are fetched page by page. */
const PAGE_LIMIT = 100;
/** `--failed` filters on this side; it stops looking after this many pages rather than read 30 days of passes. */
const MAX_SCAN_PAGES = 20;

const sinceParser = durationParser(1, 30 * 86400, 'the log keeps 30 days');
const intervalParser = durationParser(1, 300, 'poll every 1s to 5m');
const windowParser = durationParser(60, 30 * 86400, 'windows are 1m to 30d (the log keeps 30 days)');

interface LogOptions {
  readonly app?: string;
  readonly since?: number;
  readonly limit: number;
  readonly failed?: boolean;
  readonly builds?: boolean;
  readonly testTokens?: boolean;
  readonly follow?: boolean;
  readonly interval: number;
  readonly json?: boolean;
}

const ATTESTATION_COLUMNS: ReadonlyArray<Column<LogEntry>> = [
  { header: 'TIME', value: (e) => isoSeconds(e.time) },
  { header: 'OUTCOME', value: (e) => e.outcome },
  { header: 'APP', value: (e) => e.appId },
  { header: 'VERSION', value: (e) => e.appVersion },
  { header: 'DEVICE', value: (e) => e.did },
  { header: 'MODEL', value: (e) => `${e.model} (${e.platform} ${e.osVersion}, SDK ${e.sdkVersion})` },
  { header: 'REASONS', value: (e) => (e.reasons.length ? e.reasons.join(',') : '-') },
];

const BUILD_COLUMNS: ReadonlyArray<Column<BuildLogEntry>> = [
  { header: 'TIME', value: (e) => isoSeconds(e.time) },
  { header: 'REASON', value: (e) => e.reason },
  { header: 'APP', value: (e) => e.appId ?? '-' },
  { header: 'VERSION', value: (e) => e.version ?? '-' },
  { header: 'SIZE', value: (e) => (e.size === undefined ? '-' : String(e.size)), align: 'right' },
  { header: 'OBJECT', value: (e) => e.objectKey },
];

/** What `log` needs of either log: one page of entries, and a key that tells entries apart. */
interface LogSource<T extends { time: number }> {
  fetch(client: AdminClient, query: { since?: number; limit: number; cursor?: string }): Promise<LogPage<T>>;
  key(entry: T): string;
  /** Whether an entry is printed (`--failed`). Every entry still counts as seen, printed or not. */
  show(entry: T): boolean;
  columns: ReadonlyArray<Column<T>>;
  empty: string;
}

function attestations(appId: string | undefined, failedOnly: boolean): LogSource<LogEntry> {
  return {
    fetch: (client, query) => client.log({ ...query, ...(appId !== undefined ? { appId } : {}) }),
    // jti is unique per verdict; entries of one second share `time`.
    key: (e) => e.jti,
    show: (e) => !failedOnly || e.outcome === 'fail',
    columns: ATTESTATION_COLUMNS,
    empty: failedOnly ? 'no failed attestations' : 'no attestations',
  };
}

const builds: LogSource<BuildLogEntry> = {
  fetch: (client, query) => client.buildLog(query),
  key: (e) => `${e.time} ${e.objectKey} ${e.reason}`,
  show: () => true,
  columns: BUILD_COLUMNS,
  empty: 'no refused builds',
};

/** One mint of a test token (`attestor token mint`), as the service recorded it: never the token. */
type TestTokenLogEntry = Omit<TestTokenAuditEntry, 'tenantId'>;

const testTokens: LogSource<TestTokenLogEntry> = {
  fetch: async (client, query) => {
    const params = new URLSearchParams({ kind: 'test-tokens', limit: String(query.limit) });
    if (query.since !== undefined) params.set('since', String(query.since));
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    const body = (await client.request('GET', `/v1/admin/log?${params.toString()}`)) as LogPage<TestTokenLogEntry> | null;
    if (!Array.isArray(body?.entries)) throw new CliError('the service answered the log query without entries: is this an Attestor admin API?');
    return body;
  },
  key: (e) => e.jti,
  show: () => true,
  columns: [
    { header: 'TIME', value: (e) => isoSeconds(e.time) },
    { header: 'APP', value: (e) => e.appId },
    { header: 'TTL', value: (e) => formatDuration(e.ttlSeconds), align: 'right' },
    { header: 'CLAIMS', value: (e) => (e.claimNames.length ? e.claimNames.join(',') : '-') },
    { header: 'BY', value: (e) => e.principal },
  ],
  empty: 'no test tokens minted',
};

/** Prints entries oldest first, as a table whose columns only ever widen, so a followed log stays aligned. */
class LogPrinter<T> {
  private widths: number[] | undefined;
  constructor(
    private readonly out: OutputStream,
    private readonly columns: ReadonlyArray<Column<T>>,
    private readonly json: boolean,
  ) {}

  print(entries: readonly T[]): void {
    if (entries.length === 0) return;
    if (this.json) {
      // JSON Lines: one entry per line, so a followed log can be piped into jq as it grows.
      for (const e of entries) this.out.write(toJsonLine(e));
      return;
    }
    // Models, OS versions and platforms were written by unauthenticated clients: shown, never obeyed.
    const rows = entries.map((e) => this.columns.map((c) => printable(c.value(e))));
    const first = this.widths === undefined;
    this.widths = this.columns.map((c, i) => Math.max(this.widths?.[i] ?? c.header.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: readonly string[]) =>
      cells
        .map((cell, i) => (this.columns[i]!.align === 'right' ? cell.padStart(this.widths![i]!) : cell.padEnd(this.widths![i]!)))
        .join('  ')
        .trimEnd();
    if (first) this.out.write(`${line(this.columns.map((c) => c.header))}\n`);
    for (const r of rows) this.out.write(`${line(r)}\n`);
  }
}

/** Where a followed log stands: the newest time seen, and every entry of that second already seen. */
interface Position {
  readonly newest: number;
  readonly seenAtNewest: ReadonlySet<string>;
}

function advance<T extends { time: number }>(source: LogSource<T>, position: Position, newestFirst: readonly T[]): Position {
  const top = newestFirst[0];
  if (!top) return position;
  const seen = new Set(top.time === position.newest ? position.seenAtNewest : []);
  for (const e of newestFirst) if (e.time === top.time) seen.add(source.key(e));
  return { newest: top.time, seenAtNewest: seen };
}

/**
 * The newest `limit` entries to show at or after `since`, oldest first, paging as needed, and the
 * position of the log's newest entry (shown or not), where following continues.
 */
async function latest<T extends { time: number }>(client: AdminClient, source: LogSource<T>, limit: number, since: number | undefined, onCapped: () => void) {
  const shown: T[] = [];
  // With nothing seen, every entry that appears later is new: start from the window (or the
  // beginning), not from this machine's clock, which may differ from the service's.
  let position: Position = { newest: since ?? 0, seenAtNewest: new Set() };
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    if (page === MAX_SCAN_PAGES) {
      onCapped();
      break;
    }
    const result = await source.fetch(client, { limit: PAGE_LIMIT, ...(since !== undefined ? { since } : {}), ...(cursor ? { cursor } : {}) });
    if (page === 0) position = advance(source, position, result.entries);
    shown.push(...result.entries.filter(source.show));
    cursor = result.cursor;
    if (shown.length >= limit || !cursor) break;
  }
  return { shown: shown.slice(0, limit).reverse(), position };
}

/** Every entry after `position`, newest first. */
async function newSince<T extends { time: number }>(client: AdminClient, source: LogSource<T>, position: Position): Promise<T[]> {
  const found: T[] = [];
  let cursor: string | undefined;
  do {
    const result = await source.fetch(client, { since: position.newest, limit: PAGE_LIMIT, ...(cursor ? { cursor } : {}) });
    found.push(...result.entries);
    cursor = result.cursor;
  } while (cursor);
  return found.filter((e) => !(e.time === position.newest && position.seenAtNewest.has(source.key(e))));
}

/** Waits `ms` or until the signal fires, whichever is first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function showLog<T extends { time: number }>(
  ctx: CliContext,
  client: AdminClient,
  source: LogSource<T>,
  options: LogOptions,
  nowSeconds: () => number,
): Promise<void> {
  const printer = new LogPrinter(ctx.stdout, source.columns, options.json === true);
  const since = options.since !== undefined ? nowSeconds() - options.since : undefined;
  const capped = () => ctx.stderr.write(`showing only what the latest ${MAX_SCAN_PAGES * PAGE_LIMIT} entries contain; narrow it with --since or --app\n`);
  const { shown, position: start } = await latest(client, source, options.limit, since, capped);
  printer.print(shown);
  if (!options.follow) {
    if (shown.length === 0 && !options.json)
      ctx.stderr.write(`${source.empty}${options.since !== undefined ? ` in the last ${formatDuration(options.since)}` : ''}\n`);
    return;
  }

  if (!options.json) ctx.stderr.write(`following${shown.length ? '' : ` (${source.empty} yet)`}; Ctrl-C stops\n`);
  const intervalMs = ctx.followIntervalMs ?? options.interval * 1000;
  let position = start;
  let failing = false;
  // Ctrl-C is the only way a follow ends: 130, as shells report an interrupted command (docs/CLI.md),
  // so a script can tell it from a log that was read to its end.
  const stopped = () => new InterruptedError('');
  for (;;) {
    await pause(intervalMs, ctx.signal);
    if (ctx.signal?.aborted) throw stopped();
    let fresh: T[];
    try {
      fresh = await newSince(client, source, position);
      if (failing) ctx.stderr.write('reconnected\n');
      failing = false;
    } catch (error) {
      if (ctx.signal?.aborted) throw stopped();
      // A refusal (bad credential, app removed) will not go away by itself; a network blip will.
      if (error instanceof HttpStatusError && error.status >= 400 && error.status < 500) throw error;
      if (!(error instanceof CliError)) throw error;
      if (!failing) ctx.stderr.write(`${oneLine(error.message)}; retrying every ${Math.round(intervalMs / 1000)} s\n`);
      failing = true;
      continue;
    }
    printer.print(fresh.filter(source.show).reverse());
    position = advance(source, position, fresh);
  }
}

export function addLogCommands(program: Command, ctx: CliContext): void {
  program
    .command('log')
    .description('Recent attestations with device, version, outcome and reasons (oldest first, newest last)')
    .addOption(new Option('--app <id>', 'only this app').argParser(appIdParser))
    .addOption(new Option('--since <duration>', 'only the last 15m, 2h, 7d, ... (the log keeps 30 days)').argParser(sinceParser))
    .addOption(new Option('--limit <n>', 'at most this many entries (1 to 1000)').argParser(integerParser(1, 1000)).default(50))
    .addOption(new Option('--failed', 'only failed attestations (passes by debug secret or allow list are not failures)'))
    .addOption(new Option('--builds', 'refused builds (uploads the service would not register) instead of attestations').conflicts(['app', 'failed']))
    .addOption(new Option('--test-tokens', 'test tokens minted (`attestor token mint`): who, app, lifetime, claims set').conflicts(['app', 'failed', 'builds']))
    .addOption(new Option('-f, --follow', 'keep printing new entries until Ctrl-C'))
    .addOption(new Option('--interval <duration>', 'how often --follow asks for new entries').argParser(intervalParser).default(2, '2s'))
    .option('--json', 'print each entry as a JSON object on its own line (JSON Lines)')
    .addHelpText(
      'after',
      examples(
        '$ attestor log',
        '$ attestor log --app com.example.app --failed --since 1h',
        '$ attestor log --follow',
        '$ attestor log --follow --json | jq -c "select(.outcome == \\"fail\\") | .reasons"',
        '$ attestor log --builds',
        '$ attestor log --test-tokens --since 7d',
        '',
        'Outcomes: pass, fail, debug (passed by a debug secret), allowlisted (an allow-listed install key).',
        'DEVICE is the install key thumbprint, as `attestor devices add` takes it.',
      ),
    )
    .action(async (options: LogOptions, command: Command) => {
      const client = adminClient(ctx, command);
      const nowSeconds = () => Math.floor(Date.now() / 1000);
      if (options.builds) await showLog(ctx, client, builds, options, nowSeconds);
      else if (options.testTokens) await showLog(ctx, client, testTokens, options, nowSeconds);
      else await showLog(ctx, client, attestations(options.app, options.failed === true), options, nowSeconds);
    });

  program
    .command('stats')
    .description('Attestation counts by outcome and by failure reason over a recent window')
    .addOption(new Option('--app <id>', 'only this app (default: all your apps)').argParser(appIdParser))
    .addOption(new Option('--window <duration>', 'how far back to count: 1m to 30d').argParser(windowParser).default(3600, '1h'))
    .option('--authorizer', "also what the tenant's authorizer did with requests: allowed, denied, would_deny (monitor mode), unavailable (windows up to 24h)")
    .option('--json', 'print the counts as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor stats',
        '$ attestor stats --app com.example.app --window 24h',
        '$ attestor stats --authorizer --window 1h',
        '$ attestor stats --window 7d --json | jq .byReason',
      ),
    )
    .action(async (options: { app?: string; window: number; authorizer?: boolean; json?: boolean }, command: Command) => {
      if (options.authorizer && options.window > MAX_SERIES_WINDOW_SECONDS) {
        command.error(`error: --authorizer counts windows of up to ${formatDuration(MAX_SERIES_WINDOW_SECONDS)}: pass --window 24h or less`, {
          exitCode: 2,
          code: 'attestor.window',
        });
      }
      const query = { windowSeconds: options.window, ...(options.app !== undefined ? { appId: options.app } : {}) };
      const answer = await adminClient(ctx, command).stats(options.authorizer ? { ...query, series: 'minute', include: 'authorizer' } : query);
      // The per-minute series serve the console's charts; the command prints their sum over the window.
      const { series: _series, authorizer: perMinute, authorizerUnavailable, ...stats } = answer;
      const verdicts = perMinute ? authorizerTotals(perMinute.points) : undefined;
      if (options.json) {
        const extra = { ...(verdicts ? { authorizer: verdicts } : {}), ...(authorizerUnavailable ? { authorizerUnavailable } : {}) };
        return void ctx.stdout.write(toJson({ ...stats, ...extra }));
      }
      const outcomes = ['pass', 'fail', 'debug', 'allowlisted'];
      ctx.stdout.write(
        formatFields([
          ['window', `${formatDuration(stats.windowSeconds)} (since ${isoSeconds(stats.since)})`],
          ['total', String(stats.total)],
          ...outcomes.map((o) => [o, String(stats.byOutcome[o] ?? 0)] as const),
          ...(stats.nonceInvalid !== undefined ? [['replays', `${stats.nonceInvalid} (nonce_invalid: refused, no token, not in total)`] as const] : []),
        ]),
      );
      const reasons = Object.entries(stats.byReason).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
      if (reasons.length) {
        ctx.stdout.write('\n');
        ctx.stdout.write(
          formatTable(reasons, [
            { header: 'REASON', value: ([r]) => r },
            { header: 'COUNT', value: ([, n]) => String(n), align: 'right' },
          ]),
        );
      }
      if (verdicts) {
        ctx.stdout.write('\n');
        ctx.stdout.write(
          formatTable(Object.entries(verdicts), [
            { header: 'AUTHORIZER VERDICT', value: ([v]) => v },
            { header: 'COUNT', value: ([, n]) => String(n), align: 'right' },
          ]),
        );
      } else if (authorizerUnavailable) {
        const { error, retryAfterSeconds } = authorizerUnavailable;
        ctx.stderr.write(`warning: the authorizer's verdicts are unavailable now (${error}): try again in ${retryAfterSeconds} s\n`);
      }
    });
}

/** The authorizer's verdicts over the window: every verdict named, summed over minutes and apps. */
function authorizerTotals(points: ReadonlyArray<{ readonly counts: Readonly<Record<string, number>> }>): Record<string, number> {
  const totals: Record<string, number> = Object.fromEntries(AUTHORIZER_VERDICTS.map((v) => [v, 0]));
  for (const point of points) for (const [verdict, n] of Object.entries(point.counts)) totals[verdict] = (totals[verdict] ?? 0) + n;
  return totals;
}
