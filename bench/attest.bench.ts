/**
 * The attest path (verdict-secret tokens without a KMS call per attestation), measured in one run:
 * 1. attestations per second on one core of the real core `attest()` over in-memory ports, hs256
 *    (the default) and es256 (a local signer standing in for KMS, whose own latency comes on top);
 * 2. a failing attestation costs what a passing one costs: decoy time over pass time, within 10 %;
 * 3. sequential AWS round trips of one attestation through the local cloud, counted by an AWS SDK
 *    middleware on the service's own clients: at most 2 for hs256 once its caches are warm (nonce
 *    consumption and app read in parallel, then the log write); cold caches and es256 reported;
 *    with hardware evidence (an App Attest assertion, an Android chain) still at most 2: the device
 *    record is read with the nonce and the app, and written with the log;
 * 4. why the secret is unwrapped once rather than a KMS call made per attestation: one KMS round
 *    trip (to the local endpoint, the cheapest there is) against the HMAC it would replace.
 */
import { createHash, createHmac, createPublicKey, createSecretKey, randomBytes } from 'node:crypto';
import { createTestAuthority, type TestAuthority } from '@attestor/hardware/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand } from '@aws-sdk/client-kms';
import { startLocalCloud, type LocalCloud } from '../packages/local/src/cloud';
import { attest } from '../packages/service/src/core/attestation';
import { CATALOG_CACHE_SECONDS } from '../packages/service/src/core/catalog-cache';
import type { AttestRequest } from '../packages/contracts/src/validation';
import { secretEncryptionContext } from '../packages/contracts/src/admin-api';
import { registerBuildForTest, signedAdminFetch } from '../test/support/local-admin';
import { ManualClock } from '../test/support/memory';
import { attestBody, CLEAN_DEVICE, newInstallKey, post } from '../test/support/protocol-client';
import { genuineRequest, makeWorld, TENANT } from '../test/unit/core/helpers';
import type { BenchResult } from './index';

const REQUESTS = 2000;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Requests prepared beforehand (the client's ECDSA signing is not the server's cost). */
async function prepared(world: ReturnType<typeof makeWorld>, n: number, failing: boolean): Promise<AttestRequest[]> {
  const requests: AttestRequest[] = [];
  for (let i = 0; i < n; i++) requests.push(await genuineRequest(world, failing ? { signals: { hooked: true } } : {}));
  return requests;
}

async function perSecond(world: ReturnType<typeof makeWorld>, requests: readonly AttestRequest[]): Promise<number> {
  const started = process.hrtime.bigint();
  for (const request of requests) await attest(world.deps, request);
  return requests.length / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function throughput(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const rates: Record<string, { pass: number; fail: number; ratio: number }> = {};
  for (const format of ['hs256', 'es256'] as const) {
    const world = makeWorld();
    world.keys.useFormat(TENANT, format);
    // Warm-up: JIT and caches. A thousand of each, since with two hundred V8 was still tiering up
    // the decoy path for the first rounds (those read 1.1x to 1.2x, the rest 1.0x).
    await perSecond(world, await prepared(world, 1000, false));
    await perSecond(world, await prepared(world, 1000, true));
    // Alternating rounds of passes and decoys, so load drift hits both alike: the median round of
    // each is kept, and the median of the per-pair ratios.
    const rounds = { pass: [] as number[], fail: [] as number[] };
    const ratios: number[] = [];
    for (let round = 0; round < 10; round++) {
      const pair = { pass: 0, fail: 0 };
      for (const kind of round % 2 === 0 ? (['pass', 'fail'] as const) : (['fail', 'pass'] as const)) {
        pair[kind] = await perSecond(world, await prepared(world, REQUESTS / 10, kind === 'fail'));
        rounds[kind].push(pair[kind]);
      }
      ratios.push(pair.pass / pair.fail);
    }
    const best = { pass: median(rounds.pass), fail: median(rounds.fail), ratio: median(ratios) };
    rates[format] = best;
    results.push({
      name: `attest() on one core (median round), ${format}${format === 'es256' ? ' (local signer; KMS Sign latency excluded)' : ''}`,
      value: best.pass,
      unit: '/s',
      target: '>= 2,000/s (10,000/s within 5 cores)',
      pass: best.pass >= 2000,
      detail: `in-memory ports, the install proof's ECDSA verify dominates; decoys ${Math.round(best.fail)}/s`,
    });
  }
  const ratio = rates['hs256']!.ratio;
  results.push({
    name: 'hs256: time of a failing attestation over a passing one',
    value: ratio,
    unit: 'x',
    target: '0.9x to 1.1x',
    pass: ratio >= 0.9 && ratio <= 1.1,
    detail: `${Math.round(rates['hs256']!.pass)}/s pass, ${Math.round(rates['hs256']!.fail)}/s fail`,
  });
  return results;
}

interface Call {
  readonly name: string;
  readonly start: number;
  end: number;
}

/** Waves of calls: a call belongs to the wave after the latest one that ended before it started. */
function sequentialRoundTrips(calls: readonly Call[]): number {
  const depth = new Map<Call, number>();
  for (const call of [...calls].sort((a, b) => a.start - b.start)) {
    const before = calls.filter((c) => c.end <= call.start && depth.has(c)).map((c) => depth.get(c)!);
    depth.set(call, 1 + Math.max(0, ...before));
  }
  return Math.max(0, ...depth.values());
}

async function roundTrips(): Promise<BenchResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'attestor-attest-bench-'));
  const clock = new ManualClock(Math.floor(Date.now() / 1000));
  const authority = createTestAuthority({ now: new Date(clock.now * 1000) });
  const cloud = await startLocalCloud({
    dataDir,
    port: 0,
    clock,
    hardwareTestRoots: { appAttest: [authority.appAttest.root.pem], android: [authority.android.root.pem] },
  });
  try {
    const calls: Call[] = [];
    let recording = false;
    for (const client of [cloud.services.clients.dynamodb(), cloud.services.clients.kms()] as Array<
      Pick<ReturnType<typeof cloud.services.clients.kms>, 'middlewareStack'>
    >) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (!recording) return next(args);
          const call: Call = { name: String(context.commandName), start: performance.now(), end: Infinity };
          calls.push(call);
          try {
            return await next(args);
          } finally {
            call.end = performance.now();
          }
        },
        { step: 'initialize', name: 'countRoundTrips' },
      );
    }
    const build = randomBytes(1024);
    await registerBuildForTest(cloud, { appId: 'com.bench.hs', version: '1.0.0', bytes: build });
    /** The calls of one POST /v1/attest (its challenge comes first, unrecorded). */
    const measure = async (appId: string, evidence?: { platform: string; key: ReturnType<typeof newInstallKey>; hardware: (nonce: string) => unknown }) => {
      const challenge = await post(cloud.endpoint, '/v1/challenge', { appId });
      const nonce = challenge.body['nonce'] as string;
      const body = attestBody({
        nonce,
        appId,
        appVersion: '1.0.0',
        packageBytes: build,
        key: evidence?.key ?? newInstallKey(),
        ...(evidence ? { device: { ...CLEAN_DEVICE, platform: evidence.platform }, extra: { hardware: evidence.hardware(nonce) } } : {}),
      });
      calls.length = 0;
      recording = true;
      const res = await post(cloud.endpoint, '/v1/attest', body);
      recording = false;
      if (res.status !== 200) throw new Error(`attest ${res.status}`);
      return { waves: sequentialRoundTrips(calls), names: calls.map((c) => c.name.replace('Command', '')).join(', ') };
    };
    clock.advance(CATALOG_CACHE_SECONDS);
    const cold = await measure('com.bench.hs');
    const warm = await measure('com.bench.hs');
    const hardware = await hardwareRoundTrips(cloud, clock, authority, measure);

    // An es256 tenant, for comparison.
    const created = await signedAdminFetch(cloud, 'POST', '/v1/admin/tenants', { tenantId: 'benches' });
    const { credential } = (await created.json()) as { credential: { accessKeyId: string; secretAccessKey: string } };
    const asTenant = { ...cloud, adminCredentials: { ...cloud.adminCredentials, ...credential } };
    await registerBuildForTest(asTenant, { appId: 'com.bench.es', version: '1.0.0', bytes: build });
    await signedAdminFetch(cloud, 'POST', '/v1/admin/keys/rotate', { format: 'es256' }, credential);
    clock.advance(CATALOG_CACHE_SECONDS + 60);
    await measure('com.bench.es');
    const es = await measure('com.bench.es');

    // One KMS round trip against the HMAC it would replace.
    const [record] = await cloud.services.registry().listTenantKeys('default');
    const kms = cloud.services.clients.kms();
    const decrypt = () =>
      kms.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(record!.wrappedSecret!, 'base64'),
          EncryptionContext: secretEncryptionContext('default', record!.kid),
        }),
      );
    for (let i = 0; i < 20; i++) await decrypt();
    let started = performance.now();
    for (let i = 0; i < 200; i++) await decrypt();
    const kmsMs = (performance.now() - started) / 200;
    const secret = createSecretKey(randomBytes(32));
    const input = randomBytes(300).toString('base64url');
    started = performance.now();
    for (let i = 0; i < 20000; i++) createHmac('sha256', secret).update(input).digest();
    const hmacMs = (performance.now() - started) / 20000;

    return [
      {
        name: 'hs256: sequential AWS round trips per attestation, caches warm',
        value: warm.waves,
        unit: '',
        target: '<= 2',
        pass: warm.waves <= 2,
        detail: warm.names,
      },
      {
        name: 'hs256: sequential AWS round trips, first attestation of an app in a container',
        value: cold.waves,
        unit: '',
        target: 'reported',
        pass: true,
        detail: cold.names,
      },
      {
        name: 'es256: sequential AWS round trips per attestation, caches warm',
        value: es.waves,
        unit: '',
        target: 'reported (one KMS Sign more)',
        pass: true,
        detail: es.names,
      },
      ...hardware,
      {
        name: 'one KMS round trip (local endpoint) vs the HMAC it would replace',
        value: kmsMs / hmacMs,
        unit: 'x',
        target: 'reported: why secrets are unwrapped once per container',
        pass: true,
        detail: `${(kmsMs * 1000).toFixed(0)} µs per Decrypt, ${(hmacMs * 1000).toFixed(1)} µs per HMAC`,
      },
    ];
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

type Measure = (
  appId: string,
  evidence?: { platform: string; key: ReturnType<typeof newInstallKey>; hardware: (nonce: string) => unknown },
) => Promise<{ waves: number; names: string }>;

/** An App Attest assertion and an Android chain, each for an app registered with an identity and a prefer policy. */
async function hardwareRoundTrips(cloud: LocalCloud, clock: ManualClock, authority: TestAuthority, measure: Measure): Promise<BenchResult[]> {
  const appId = 'com.bench.hw';
  const label = Buffer.from('attestor-hardware-v1\0', 'ascii');
  const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
  const signing = sha256(Buffer.from('bench signing certificate'));
  await registerBuildForTest(cloud, { appId, version: '1.0.0', bytes: randomBytes(1024) });
  await signedAdminFetch(cloud, 'PUT', `/v1/admin/apps/${appId}/identity`, {
    ios: { teamId: 'BENCHTEAM1', bundleId: appId },
    android: { packageName: appId, signingCertificates: [signing.toString('hex')] },
  });
  await signedAdminFetch(cloud, 'PUT', `/v1/admin/apps/${appId}/policy`, {
    reject: { rooted: false, emulator: false, debugger: false, hooked: true },
    hardware: { ios: 'prefer', android: 'prefer' },
  });
  clock.advance(CATALOG_CACHE_SECONDS);
  const key = newInstallKey();
  const thumbprint = sha256(Buffer.from(`{"crv":"P-256","kty":"EC","x":"${key.jwk.x}","y":"${key.jwk.y}"}`));
  const clientDataHash = (nonce: string) => sha256(label, Buffer.from(nonce, 'base64url'), thumbprint);
  let made: ReturnType<TestAuthority['appAttest']['attest']> | undefined;
  // The key's attestation: it also loads the verifier module; the assertion after it is the steady state.
  await measure(appId, {
    platform: 'ios',
    key,
    hardware: (nonce) => {
      made = authority.appAttest.attest({ appId: `BENCHTEAM1.${appId}`, clientDataHash: clientDataHash(nonce), environment: 'production' });
      return { platform: 'ios', keyId: Buffer.from(made.keyId).toString('base64url'), attestation: Buffer.from(made.attestation).toString('base64url') };
    },
  });
  const keyId = Buffer.from(made!.keyId).toString('base64url');
  let counter = 0;
  const assertion = await measure(appId, {
    platform: 'ios',
    key,
    hardware: (nonce) => ({
      platform: 'ios',
      keyId,
      assertion: Buffer.from(
        authority.appAttest.assert({ keyPair: made!.keyPair, appId: `BENCHTEAM1.${appId}`, clientDataHash: clientDataHash(nonce), counter: ++counter }),
      ).toString('base64url'),
    }),
  });
  const androidKey = newInstallKey();
  const chain = await measure(appId, {
    platform: 'android',
    key: androidKey,
    hardware: (nonce) => ({
      platform: 'android',
      chain: authority.android
        .attest({
          publicKey: createPublicKey({ key: { ...androidKey.jwk }, format: 'jwk' }),
          challenge: sha256(label, Buffer.from(nonce, 'base64url')),
          packageName: appId,
          versionCode: 1,
          signatureDigests: [signing],
          securityLevel: 'TRUSTED_ENVIRONMENT',
        })
        .map((der) => Buffer.from(der).toString('base64url')),
    }),
  });
  return [
    {
      name: 'hardware, App Attest assertion: sequential AWS round trips, caches warm',
      value: assertion.waves,
      unit: '',
      target: '<= 2',
      pass: assertion.waves <= 2,
      detail: assertion.names,
    },
    {
      name: 'hardware, Android chain: sequential AWS round trips, caches warm',
      value: chain.waves,
      unit: '',
      target: '<= 2',
      pass: chain.waves <= 2,
      detail: chain.names,
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  return [...(await throughput()), ...(await roundTrips())];
}
