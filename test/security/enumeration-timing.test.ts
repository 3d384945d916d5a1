/**
 * Plays the attacker of PROTOCOL.md §9 who tells registered app ids from unknown ones by how long
 * attest takes. Timing follows the AWS round trips an attestation makes and waits for, so this test
 * counts them, through the service's own DynamoDB and KMS clients in the local cloud (an AWS SDK
 * middleware, as bench/attest.bench.ts does), for a registered app of a tenant other than the
 * default one and for an unknown app id, with tampered builds so that both get decoys:
 *
 * - which calls each attestation starts, and which of them it waits for (ended before the answer);
 * - warm, after the catalog's and key records' 30 s age, and after the unwrapped secret's 300 s.
 *
 * Before the fix an unknown id made no key calls at all, and a registered app waited for a
 * DynamoDB Query of its tenant's key records every 30 s and a KMS Decrypt every 300 s. The only
 * difference left is a container's first load of a tenant (PROTOCOL.md §9), which this test
 * leaves out by warming both tenants first.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { SECRET_CACHE_SECONDS, SIGNING_KEY_CACHE_SECONDS } from '../../packages/service/src/adapters/kms-tenant-keys';
import { REGISTRY_PARTITIONS } from '../../packages/contracts/src/tables';
import { CATALOG_CACHE_SECONDS } from '../../packages/service/src/core/catalog-cache';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestBody, newInstallKey, post } from '../support/protocol-client';

interface Call {
  readonly label: string;
  end: number;
}

/** What one attestation made the backends do. */
interface Trace {
  /** Every call it started, foreground or background, by operation and registry partition. */
  readonly started: readonly string[];
  /** The calls that ended before the answer: what the attestation waited for. */
  readonly waitedFor: readonly string[];
}

const KEYS_QUERY = `Query ${REGISTRY_PARTITIONS.tenantKeys}`;
const APP_QUERY = `Query ${REGISTRY_PARTITIONS.app}`;
const build = randomBytes(2048);
const tampered = Buffer.from(build).fill(1, 10, 11);
const ACME_APP = 'com.example.acme1';
const UNKNOWN_APP = 'com.example.xxxx1';
/** Key calls are slowed by this much, so a request that waited for one could not hide it. */
const SLOW_KEY_CALL_MS = 150;

let dataDir: string;
let cloud: LocalCloud;
let clock: ManualClock;
let recording = false;
let inFlight = 0;
const calls: Call[] = [];

/** DynamoDB Queries are told apart by the partition they read (an app's, or a tenant's keys). */
function labelOf(command: string, input: unknown): string {
  if (command !== 'QueryCommand') return command.replace('Command', '');
  const values = JSON.stringify((input as { ExpressionAttributeValues?: unknown }).ExpressionAttributeValues ?? {});
  const partition = Object.values(REGISTRY_PARTITIONS).find((prefix) => values.includes(`"${prefix}`));
  return `Query ${partition ?? '?'}`;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-enumeration-'));
  clock = new ManualClock(Math.floor(Date.now() / 1000));
  cloud = await startLocalCloud({ dataDir, port: 0, clock });
  for (const client of [cloud.services.clients.dynamodb(), cloud.services.clients.kms()] as Array<
    Pick<ReturnType<typeof cloud.services.clients.kms>, 'middlewareStack'>
  >) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!recording) return next(args);
        const call: Call = { label: labelOf(String(context.commandName), args.input), end: Infinity };
        calls.push(call);
        inFlight++;
        try {
          if (call.label === KEYS_QUERY || call.label === 'Decrypt') await new Promise((resolve) => setTimeout(resolve, SLOW_KEY_CALL_MS));
          return await next(args);
        } finally {
          call.end = performance.now();
          inFlight--;
        }
      },
      { step: 'initialize', name: 'traceRoundTrips' },
    );
  }
  // A tenant other than the default one (the stand-in of unknown ids), with a registered app.
  const created = await signedAdminFetch(cloud, 'POST', '/v1/admin/tenants', { tenantId: 'acme' });
  const { credential } = (await created.json()) as { credential: { accessKeyId: string; secretAccessKey: string } };
  await registerBuildForTest({ ...cloud, adminCredentials: { ...cloud.adminCredentials, ...credential } } as LocalCloud, {
    appId: ACME_APP,
    version: '1.0.0',
    bytes: build,
  });
}, 60_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** One attestation of `appId` with a tampered build (a decoy either way), traced until its background calls are done too. */
async function probe(appId: string): Promise<Trace> {
  const challenge = await post(cloud.endpoint, '/v1/challenge', { appId });
  const body = attestBody({ nonce: challenge.body['nonce'] as string, appId, appVersion: '1.0.0', packageBytes: tampered, key: newInstallKey() });
  calls.length = 0;
  recording = true;
  const res = await post(cloud.endpoint, '/v1/attest', body);
  const answeredAt = performance.now();
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  recording = false;
  expect(res.status).toBe(200);
  return { started: calls.map((c) => c.label).sort(), waitedFor: calls.filter((c) => c.end <= answeredAt).map((c) => c.label).sort() };
}

describe('no enumeration by timing: a registered app and an unknown id make and wait for the same calls', () => {
  test('warm, after the 30 s caches age, and after the 300 s secret lifetime', async () => {
    // Prepare: each tenant's keys loaded once in this container (the first load is the residual of PROTOCOL.md §9).
    await probe(ACME_APP);
    await probe(UNKNOWN_APP);

    // Act: pairs of probes, both caches of the same age at each.
    const pairs: Record<string, { known: Trace; unknown: Trace }> = {};
    for (const [name, gap] of [
      ['warm', 1],
      ['after 30 s', Math.max(CATALOG_CACHE_SECONDS, SIGNING_KEY_CACHE_SECONDS)],
      ['after 300 s', SECRET_CACHE_SECONDS],
      ['after a day', 86_400],
    ] as const) {
      clock.advance(gap);
      pairs[name] = { known: await probe(ACME_APP), unknown: await probe(UNKNOWN_APP) };
    }

    // Assess: the same calls started and waited for, pair by pair...
    for (const { known, unknown } of Object.values(pairs)) expect(known).toEqual(unknown);
    // ...the tenant's key calls are made (so the test sees them) and never waited for once a tenant is loaded...
    expect(pairs['after 30 s']!.known.started).toContain(KEYS_QUERY);
    expect(pairs['after a day']!.known.started).toEqual(expect.arrayContaining([KEYS_QUERY, 'Decrypt']));
    for (const { known } of Object.values(pairs)) expect(known.waitedFor).not.toEqual(expect.arrayContaining([KEYS_QUERY]));
    for (const { known } of Object.values(pairs)) expect(known.waitedFor).not.toContain('Decrypt');
    // ...and the app's own read is waited for by both once the catalog's 30 s have passed.
    expect(pairs['after 30 s']!.known.waitedFor).toContain(APP_QUERY);
  }, 60_000);
});
