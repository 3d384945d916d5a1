/**
 * Load, bounded and on loopback only: the local cloud started in this process (port 0 on
 * 127.0.0.1, a temporary data directory), N genuine clients and N attackers over HTTP, each side on
 * a worker thread of its own (bench/load-clients.ts), for a fixed time. Measured in one run:
 * - genuine attestations per second (challenge + attest) and their p50/p99 latency, alone and with
 *   the attackers, in alternating one-second slices; the median ratio of a pair's two rates, target
 *   >= 0.8x: what attackers send must be cheap to refuse;
 * - how every request ended, by status;
 * - what one attempt of each attack costs the service's thread against a genuine attestation;
 * - every token a genuine client got verifies with @attestor/verify against the tenant's secrets,
 *   and no attacker holds one that does (a wrong measurement's decoy must fail).
 * Attackers, a third of them each: replays (a used request again, a used nonce with a new key and
 * proof, a nonce never issued), garbage (not JSON, truncated, wrong types, an oversized field, a
 * nonce of the wrong length) and a build with one byte changed (a wrong measurement, answered with
 * a decoy token of the same shape as a genuine one).
 * Everything here shares the machine with the service: dynalite, s3rver and the KMS stand-in run on
 * its thread, so a DynamoDB call costs it CPU that in AWS is DynamoDB's. Compare ratios, not rates.
 * BENCH_LOAD_SECONDS (default 5) is the time of each side; BENCH_LOAD_CLIENTS (default 8) is N.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { startLocalCloud } from '../packages/local/src/cloud';
import { CONFIG_DEFAULTS } from '../packages/contracts/src/config';
import { createVerifier, TokenVerificationError, type Verifier } from '../packages/verify/src/index';
import { registerBuildForTest, tenantSecretSet } from '../test/support/local-admin';
import { attestBody, newInstallKey, post } from '../test/support/protocol-client';
import { ATTACK_KINDS, emptyAttackReports, type AttackKind, type AttackReport, type ClientsData, type Counting } from './load-clients';
import type { PhaseOrder, PhaseReport, Role } from './load-clients';
import type { BenchResult } from './index';

const APP = 'com.bench.load';
const VERSION = '1.0.0';
const TARGET_RATIO = 0.8;

function setting(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not ${JSON.stringify(text)}`);
  return value;
}

/** A worker running one side's clients; `phase` runs them for `seconds` and resolves with what they saw. */
interface Clients {
  phase(order: PhaseOrder): Promise<PhaseReport>;
  /** The worker's event loop utilization, since `since` when given. */
  utilization(since?: EventLoopUtilization): EventLoopUtilization;
  stop(): Promise<number>;
}

function startClients(data: ClientsData): Clients {
  const worker = new Worker(join(__dirname, 'load-clients.ts'), { workerData: data });
  let failed: Error | undefined;
  worker.on('error', (error) => (failed = error));
  return {
    phase: (order) =>
      new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        const onError = (error: Error) => {
          worker.off('message', onReport);
          reject(error);
        };
        const onReport = (report: PhaseReport) => {
          worker.off('error', onError);
          resolve(report);
        };
        worker.once('message', onReport);
        worker.once('error', onError);
        worker.postMessage(order);
      }),
    utilization: (since) => worker.performance.eventLoopUtilization(since),
    stop: () => worker.terminate(),
  };
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
const merge = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};
/** Figures of several rounds, each to two places. */
const figures = (values: readonly number[]) => values.map((v) => v.toFixed(2)).join(' ');
const outcomesText = (outcomes: Record<string, number>) =>
  Object.entries(outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

/** The genuine side of the phases of one kind, added up. */
interface Side {
  seconds: number;
  attestations: number;
  latencies: number[];
  outcomes: Record<string, number>;
  /** Per client, every token it got. */
  tokens: string[][];
}

const emptySide = (): Side => ({ seconds: 0, attestations: 0, latencies: [], outcomes: {}, tokens: [] });
/** Genuine attempts, answered or not. */
const attemptsOf = (side: Side) => Object.values(side.outcomes).reduce((a, b) => a + b, 0);

function addAttacks(into: Counting<AttackReport>, from: AttackReport): void {
  into.requests += from.requests;
  into.attempts += from.attempts;
  merge(into.outcomes, from.outcomes);
  into.tokens.push(...from.tokens);
}

/** How many attackers send each kind: they take the kinds in turn (load-clients.ts). */
function attackerMix(clients: number): string {
  return ATTACK_KINDS.map((kind, k) => `${Math.ceil((clients - k) / ATTACK_KINDS.length)} ${kind}`).join(', ');
}

/** Adds one phase's genuine clients to `side`; returns that phase's attestations per second. */
function addGenuine(side: Side, report: PhaseReport): number {
  const g = report.genuine!;
  const attestations = g.outcomes['attest 200'] ?? 0;
  side.seconds += report.seconds;
  side.attestations += attestations;
  side.latencies.push(...g.latencies);
  merge(side.outcomes, g.outcomes);
  g.tokens.forEach((tokens, i) => (side.tokens[i] ??= []).push(...tokens));
  return attestations / report.seconds;
}

/** Why each token was refused ("valid" when it was not). */
async function verdicts(verifier: Verifier, tokens: readonly string[]): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = {};
  for (const token of tokens) {
    try {
      await verifier.verify(token);
      outcomes['valid'] = (outcomes['valid'] ?? 0) + 1;
    } catch (error) {
      const code = error instanceof TokenVerificationError ? error.code : `error: ${String(error)}`;
      outcomes[code] = (outcomes[code] ?? 0) + 1;
    }
  }
  return outcomes;
}

/**
 * Runs `work` and returns it with the time the service's thread (this one) was busy meanwhile, in
 * ms. Busy includes time the OS gave the CPU to another thread, so on a loaded machine it grows for
 * every contender alike: compare it only with what was measured alongside.
 */
async function busy<T>(work: () => Promise<T>): Promise<{ result: T; busyMs: number }> {
  const before = performance.eventLoopUtilization();
  const result = await work();
  return { result, busyMs: performance.eventLoopUtilization(before).active };
}

/** How busy each thread was over a run of slices, in ms, summed. */
class Utilization {
  private readonly ms = new Map<string, number>();

  async measure<T>(threads: Readonly<Record<string, Clients>>, work: () => Promise<T>): Promise<{ result: T; busyMs: number }> {
    const before = Object.entries(threads).map(([name, clients]) => [name, clients, clients.utilization()] as const);
    const measured = await busy(work);
    this.add('service', measured.busyMs);
    for (const [name, clients, since] of before) this.add(name, clients.utilization(since).active);
    return measured;
  }

  /** "service 95 %, genuine clients 40 %" over `seconds`. */
  text(seconds: number): string {
    return [...this.ms].map(([name, ms]) => `${name} ${((100 * ms) / (seconds * 1000)).toFixed(0)} %`).join(', ');
  }

  private add(name: string, ms: number): void {
    this.ms.set(name, (this.ms.get(name) ?? 0) + ms);
  }
}

export async function run(): Promise<BenchResult[]> {
  const seconds = setting('BENCH_LOAD_SECONDS', 5);
  const clients = Math.round(setting('BENCH_LOAD_CLIENTS', 8));
  const dataDir = mkdtempSync(join(tmpdir(), 'attestor-load-bench-'));
  const cloud = await startLocalCloud({ dataDir, port: 0, host: '127.0.0.1' });
  const workers: Clients[] = [];
  try {
    const build = randomBytes(64 * 1024);
    await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
    // Genuine attestations made once, whose requests the replaying attackers send again.
    const usedBodies: Record<string, unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const challenge = await post(cloud.endpoint, '/v1/challenge', { appId: APP });
      const body = attestBody({ nonce: challenge.body['nonce'] as string, appId: APP, appVersion: VERSION, packageBytes: build, key: newInstallKey() });
      const answer = await post(cloud.endpoint, '/v1/attest', body);
      if (answer.status !== 200) throw new Error(`setup attestation: ${answer.status} ${JSON.stringify(answer.body)}`);
      usedBodies.push(body);
    }
    const data = (role: Role): ClientsData => ({ role, clients, endpoint: cloud.endpoint, appId: APP, appVersion: VERSION, build, usedBodies });
    const genuine = startClients(data('genuine'));
    const attackers = startClients(data('attackers'));
    workers.push(genuine, attackers);

    // Warm-up, not counted: the JIT, the service's caches and the tables see every path once.
    await Promise.all([genuine.phase({ seconds: 1 }), attackers.phase({ seconds: 1 })]);

    // Alone and attacked in one-second slices, the order swapped each pair, so drift in the
    // machine's load hits both alike; the median of the per-pair ratios is kept.
    const pairs = Math.max(2, Math.round(seconds));
    const slice = seconds / pairs;
    const alone = emptySide();
    const attacked = emptySide();
    const attacks = emptyAttackReports();
    const ratios: number[] = [];
    let attackSeconds = 0;
    const aloneBusy = new Utilization();
    const attackedBusy = new Utilization();
    for (let pair = 0; pair < pairs; pair++) {
      const rates = { alone: 0, attacked: 0 };
      for (const underAttack of pair % 2 === 0 ? [false, true] : [true, false]) {
        if (!underAttack) {
          const { result } = await aloneBusy.measure({ 'genuine clients': genuine }, () => genuine.phase({ seconds: slice }));
          rates.alone = addGenuine(alone, result);
          continue;
        }
        const threads = { 'genuine clients': genuine, attackers };
        const both = () => Promise.all([genuine.phase({ seconds: slice }), attackers.phase({ seconds: slice })]);
        const [g, a] = (await attackedBusy.measure(threads, both)).result;
        rates.attacked = addGenuine(attacked, g);
        attackSeconds += a.seconds;
        for (const kind of ATTACK_KINDS) addAttacks(attacks[kind], a.attacks![kind]);
      }
      ratios.push(rates.attacked / rates.alone);
    }

    // What one attempt of each kind costs the service's thread, each sent alone by every attacker,
    // against a genuine attestation measured in the same round; the median round is kept.
    const contenders = ['genuine', ...ATTACK_KINDS] as const;
    const costSlice = Math.max(0.3, seconds / 10);
    const costs = {} as Record<AttackKind, { ratios: number[]; ms: number[]; outcomes: Record<string, number> }>;
    for (const kind of ATTACK_KINDS) costs[kind] = { ratios: [], ms: [], outcomes: {} };
    const genuineCostMs: number[] = [];
    // The genuine clients of these rounds, whose tokens are checked with the others'.
    const measuring = emptySide();
    for (let round = 0; round < 3; round++) {
      const ms = {} as Record<(typeof contenders)[number], number>;
      for (let k = 0; k < contenders.length; k++) {
        const contender = contenders[(k + round) % contenders.length]!;
        if (contender === 'genuine') {
          const { result, busyMs } = await busy(() => genuine.phase({ seconds: costSlice }));
          addGenuine(measuring, result);
          ms.genuine = busyMs / Object.values(result.genuine!.outcomes).reduce((a, b) => a + b, 0);
          continue;
        }
        const { result, busyMs } = await busy(() => attackers.phase({ seconds: costSlice, only: contender }));
        const report = result.attacks![contender];
        ms[contender] = busyMs / report.attempts;
        merge(costs[contender].outcomes, report.outcomes);
        // Whatever they got counts like any other attacker's tokens.
        attacks[contender].tokens.push(...report.tokens);
      }
      genuineCostMs.push(ms.genuine);
      for (const kind of ATTACK_KINDS) {
        costs[kind].ratios.push(ms[kind] / ms.genuine);
        costs[kind].ms.push(ms[kind]);
      }
    }

    // Checked after the clock stops, so verifying takes nothing from the service's thread meanwhile.
    const verifier = createVerifier({ issuer: CONFIG_DEFAULTS.issuer, secrets: await tenantSecretSet(cloud) });
    const perClient = [...alone.tokens, ...attacked.tokens, ...measuring.tokens];
    const genuineTokens = perClient.flat();
    const genuineVerdicts = await verdicts(verifier, genuineTokens);
    const everyClientServed = perClient.length === 3 * clients && perClient.every((t) => t.length > 0);
    const attempts = attemptsOf(alone) + attemptsOf(attacked) + attemptsOf(measuring);
    const tokensOf = (client: number) => [alone, attacked, measuring].reduce((n, side) => n + (side.tokens[client]?.length ?? 0), 0);
    const fewest = Math.min(...Array.from({ length: clients }, (_, i) => tokensOf(i)));
    const attackVerdicts = {} as Record<AttackKind, Record<string, number>>;
    for (const kind of ATTACK_KINDS) attackVerdicts[kind] = await verdicts(verifier, attacks[kind].tokens);
    const attackerValid = ATTACK_KINDS.reduce((n, k) => n + (attackVerdicts[k]['valid'] ?? 0), 0);

    const rate = (side: Side) => side.attestations / side.seconds;
    const latency = (side: Side) => {
      const sorted = [...side.latencies].sort((a, b) => a - b);
      return `p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms`;
    };
    const sideRow = (label: string, side: Side, extra = ''): BenchResult => ({
      name: `${clients} genuine clients${label}: attestations (challenge + attest) per second`,
      value: rate(side),
      unit: '/s',
      target: 'reported',
      pass: true,
      detail: `${side.attestations} in ${side.seconds.toFixed(1)} s, ${latency(side)}; ${outcomesText(side.outcomes)}${extra}`,
    });
    const ratio = median(ratios);
    const attackRates = ATTACK_KINDS.map((k) => `${k} ${Math.round(attacks[k].requests / attackSeconds)} req/s (${outcomesText(attacks[k].outcomes)})`);
    return [
      sideRow(' alone', alone, `; threads busy: ${aloneBusy.text(alone.seconds)}`),
      sideRow(` with ${clients} attackers`, attacked, `; threads busy: ${attackedBusy.text(attacked.seconds)}`),
      {
        name: `genuine attestations per second, ${clients} attackers vs none (median of ${pairs} pairs of ${slice.toFixed(1)} s)`,
        value: ratio,
        unit: 'x',
        target: `>= ${TARGET_RATIO}x`,
        pass: ratio >= TARGET_RATIO,
        detail: `pairs ${figures(ratios)}; attackers (${attackerMix(clients)}): ${attackRates.join('; ')}`,
      },
      ...ATTACK_KINDS.map(
        (kind): BenchResult => ({
          name: `${kind}: service thread time per attempt vs a genuine attestation (median of 3 rounds)`,
          value: median(costs[kind].ratios),
          unit: 'x',
          target: 'reported',
          pass: true,
          detail: `rounds ${figures(costs[kind].ratios)}; ms ${figures(costs[kind].ms)} vs ${figures(genuineCostMs)}; ${outcomesText(costs[kind].outcomes)}`,
        }),
      ),
      {
        name: 'genuine attestations answered with a token that verifies (@attestor/verify, tenant secrets)',
        value: (100 * (genuineVerdicts['valid'] ?? 0)) / attempts,
        unit: '%',
        target: '100 %, every client served',
        pass: genuineVerdicts['valid'] === attempts && everyClientServed,
        detail: `${attempts} attempts, ${genuineTokens.length} tokens: ${outcomesText(genuineVerdicts)}; fewest per client ${fewest}`,
      },
      {
        name: 'attacker attempts answered with a token that verifies',
        value: attackerValid,
        unit: '',
        target: '0, and every decoy refused',
        pass: attackerValid === 0 && attacks['wrong measurement'].tokens.length > 0,
        detail: ATTACK_KINDS.map((k) => `${k}: ${attacks[k].tokens.length} tokens${attacks[k].tokens.length ? ` (${outcomesText(attackVerdicts[k])})` : ''}`)
          .join('; '),
      },
    ];
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
