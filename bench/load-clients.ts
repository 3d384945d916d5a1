/**
 * Worker thread of bench/load.bench.ts: the clients of the load bench, genuine or attackers. They
 * run on a thread of their own so that their CPU (signing, building requests, fetch) is not taken
 * from the service's thread: in the field an attacker spends its own machine's CPU, not ours.
 * Requests go over HTTP to the local cloud's loopback endpoint and nowhere else.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { NONCE_BYTES } from '../packages/contracts/src/protocol';
import { attestBody, newInstallKey, type InstallKey } from '../test/support/protocol-client';

export type Role = 'genuine' | 'attackers';
export type AttackKind = 'replay' | 'garbage' | 'wrong measurement';
export const ATTACK_KINDS: readonly AttackKind[] = ['replay', 'garbage', 'wrong measurement'];

export interface ClientsData {
  readonly role: Role;
  readonly clients: number;
  readonly endpoint: string;
  readonly appId: string;
  readonly appVersion: string;
  readonly build: Uint8Array;
  /** Attest bodies whose nonces were consumed during setup, sent again as they were. */
  readonly usedBodies: readonly Record<string, unknown>[];
}

/** Runs every client of the worker for `seconds`; answered with a PhaseReport. */
export interface PhaseOrder {
  readonly seconds: number;
  /** Every attacker sends this kind only (to measure what one kind costs the service). @default the kinds in turn */
  readonly only?: AttackKind;
}

export interface GenuineReport {
  /** Per client, the tokens it got (attest answered 200), in order. */
  readonly tokens: string[][];
  /** Milliseconds per attestation (challenge + attest), each one that finished, answered or not. */
  readonly latencies: number[];
  /** How each attestation ended: "attest 200", "challenge 503", "attest network error"... */
  readonly outcomes: Record<string, number>;
}

export interface AttackReport {
  readonly requests: number;
  /** Requests, except that a wrong measurement's challenge and attest are one attempt, as an attestation is. */
  readonly attempts: number;
  readonly outcomes: Record<string, number>;
  /** Every token any attack got back (a decoy unless something is wrong). */
  readonly tokens: string[];
}

export interface PhaseReport {
  readonly seconds: number;
  readonly genuine?: GenuineReport;
  readonly attacks?: Record<AttackKind, AttackReport>;
}

interface Answer {
  readonly status: number | 'network error';
  readonly body: Record<string, unknown> | undefined;
}

async function send(endpoint: string, path: string, body: string): Promise<Answer> {
  try {
    const res = await fetch(`${endpoint}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
    return { status: res.status, body: isObject ? (parsed as Record<string, unknown>) : undefined };
  } catch {
    return { status: 'network error', body: undefined };
  }
}

/** A report while its clients fill it in. */
export type Counting<T> = { -readonly [K in keyof T]: T[K] };

export function emptyAttackReports(): Record<AttackKind, Counting<AttackReport>> {
  const empty = (): Counting<AttackReport> => ({ requests: 0, attempts: 0, outcomes: {}, tokens: [] });
  return { replay: empty(), garbage: empty(), 'wrong measurement': empty() };
}

const count = (outcomes: Record<string, number>, key: string) => (outcomes[key] = (outcomes[key] ?? 0) + 1);

/** A genuine device: one install key for its life, a challenge then an attest, again and again. */
async function genuineClient(data: ClientsData, key: InstallKey, deadline: number, report: GenuineReport, tokens: string[]): Promise<void> {
  const challengeBody = JSON.stringify({ appId: data.appId });
  while (performance.now() < deadline) {
    const started = performance.now();
    const challenge = await send(data.endpoint, '/v1/challenge', challengeBody);
    const nonce = challenge.body?.['nonce'];
    if (challenge.status !== 200 || typeof nonce !== 'string') {
      report.latencies.push(performance.now() - started);
      count(report.outcomes, `challenge ${challenge.status}`);
      continue;
    }
    const body = attestBody({ nonce, appId: data.appId, appVersion: data.appVersion, packageBytes: data.build, key });
    const answer = await send(data.endpoint, '/v1/attest', JSON.stringify(body));
    report.latencies.push(performance.now() - started);
    count(report.outcomes, `attest ${answer.status}`);
    const token = answer.body?.['token'];
    if (answer.status === 200 && typeof token === 'string') tokens.push(token);
  }
}

/**
 * Replays: a used request sent again byte for byte, a used nonce under a new install key and proof,
 * and a nonce of the right length that was never issued. Prepared beforehand: signing is the
 * attacker's cost, not the service's.
 */
function replayBodies(data: ClientsData): string[] {
  const bodies = data.usedBodies.map((b) => JSON.stringify(b));
  const { appId, appVersion, build } = data;
  for (const used of data.usedBodies) {
    bodies.push(JSON.stringify(attestBody({ nonce: used['nonce'] as string, appId, appVersion, packageBytes: build, key: newInstallKey() })));
    const madeUp = randomBytes(NONCE_BYTES).toString('base64url');
    bodies.push(JSON.stringify(attestBody({ nonce: madeUp, appId, appVersion, packageBytes: build, key: newInstallKey() })));
  }
  return bodies;
}

/** Bodies the service must refuse before doing any work worth the name. */
function garbageBodies(data: ClientsData): string[] {
  const shaped = data.usedBodies[0]!;
  const json = JSON.stringify(shaped);
  return [
    randomBytes(512).toString('latin1'),
    json.slice(0, json.length >> 1),
    '[1,2,3]',
    'null',
    '{}',
    JSON.stringify({ ...shaped, nonce: 42, measurement: { x: 1 }, installKey: 'x', device: [] }),
    JSON.stringify({ ...shaped, appId: 'a'.repeat(64 * 1024) }),
    JSON.stringify({ ...shaped, nonce: randomBytes(NONCE_BYTES + 16).toString('base64url') }),
  ];
}

async function attacker(kind: AttackKind, first: number, data: ClientsData, deadline: number, report: Counting<AttackReport>): Promise<void> {
  const prepared = kind === 'replay' ? replayBodies(data) : kind === 'garbage' ? garbageBodies(data) : [];
  // A copy of the build with one byte changed: a repackaged app measuring itself honestly.
  const tampered = Uint8Array.from(data.build);
  const middle = tampered.length >> 1;
  tampered[middle] = tampered[middle]! ^ 0x01;
  const key = newInstallKey();
  const challengeBody = JSON.stringify({ appId: data.appId });
  for (let i = first; performance.now() < deadline; i++) {
    report.attempts++;
    let answer: Answer;
    if (kind === 'wrong measurement') {
      const challenge = await send(data.endpoint, '/v1/challenge', challengeBody);
      report.requests++;
      const nonce = challenge.body?.['nonce'];
      if (challenge.status !== 200 || typeof nonce !== 'string') {
        count(report.outcomes, `challenge ${challenge.status}`);
        continue;
      }
      const body = attestBody({ nonce, appId: data.appId, appVersion: data.appVersion, packageBytes: tampered, key });
      answer = await send(data.endpoint, '/v1/attest', JSON.stringify(body));
    } else {
      answer = await send(data.endpoint, '/v1/attest', prepared[i % prepared.length]!);
    }
    report.requests++;
    count(report.outcomes, `attest ${answer.status}`);
    const token = answer.body?.['token'];
    if (typeof token === 'string') report.tokens.push(token);
  }
}

async function runPhase(data: ClientsData, keys: readonly InstallKey[], order: PhaseOrder): Promise<PhaseReport> {
  const started = performance.now();
  const deadline = started + order.seconds * 1000;
  if (data.role === 'genuine') {
    const report: GenuineReport = { tokens: keys.map(() => []), latencies: [], outcomes: {} };
    await Promise.all(keys.map((key, i) => genuineClient(data, key, deadline, report, report.tokens[i]!)));
    return { seconds: (performance.now() - started) / 1000, genuine: report };
  }
  const attacks = emptyAttackReports();
  // Attackers take the kinds in turn, so each kind has a third of them.
  const kinds = Array.from({ length: data.clients }, (_, i) => order.only ?? ATTACK_KINDS[i % ATTACK_KINDS.length]!);
  await Promise.all(kinds.map((kind, i) => attacker(kind, i, data, deadline, attacks[kind])));
  return { seconds: (performance.now() - started) / 1000, attacks };
}

if (parentPort) {
  const port = parentPort;
  const data = workerData as ClientsData;
  const keys = Array.from({ length: data.role === 'genuine' ? data.clients : 0 }, () => newInstallKey());
  port.on('message', (order: PhaseOrder) => {
    void runPhase(data, keys, order).then((report) => port.postMessage(report));
  });
}
