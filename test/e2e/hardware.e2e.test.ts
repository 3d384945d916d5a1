/**
 * Hardware evidence end to end over HTTP through the local cloud (PROTOCOL.md §5.5, §5.6): the app's
 * identity and policy set through the admin API, evidence issued by @attestor/hardware/testing's
 * authority (trusted only because the cloud was started with its roots), a revocation list file, and
 * /demo/hello behind an authorizer that requires `hw`. The client side is written from PROTOCOL.md
 * with node:crypto (test/support/protocol-client.ts and the challenges below), not with the SDK.
 * Each case checks the verdict in the log and the answer of the protected route.
 */
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestAuthority, type KeyPair, type TestAuthority } from '@attestor/hardware/testing';
import type { SecurityLevelName } from '@attestor/hardware';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestBody, decodeJwtPart, newInstallKey, post, type Device, type InstallKey } from '../support/protocol-client';

const APP = 'com.example.hardware';
const VERSION = '1.0.0';
const TEAM_ID = 'TEAMID1234';
const RP_ID = `${TEAM_ID}.${APP}`;
const SIGNING_CERT = createHash('sha256').update('the release signing certificate').digest();
const REVOKED_SERIAL = 'badc0ffee';

let dataDir: string;
let cloud: LocalCloud;
let clock: ManualClock;
let authority: TestAuthority;
let build: Buffer;

// ---------- the hardware challenges, from PROTOCOL.md §5.5 ----------

const LABEL = Buffer.from('attestor-hardware-v1\0', 'ascii');
const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const thumbprint = (key: InstallKey) => sha256(Buffer.from(`{"crv":"P-256","kty":"EC","x":"${key.jwk.x}","y":"${key.jwk.y}"}`, 'utf8'));
const androidChallenge = (nonce: string) => sha256(LABEL, Buffer.from(nonce, 'base64url'));
const clientDataHash = (nonce: string, key: InstallKey) => sha256(LABEL, Buffer.from(nonce, 'base64url'), thumbprint(key));
const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

const device = (platform: string): Device => ({
  platform,
  osVersion: '15',
  model: 'Test device',
  signals: { rooted: false, emulator: false, debugger: false, hooked: false },
});

interface Attested {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly nonce: string;
  readonly token: string;
}

/** challenge, then attest with `hardware(nonce)` (if any) as the hardware member. */
async function attestWith(platform: string, key: InstallKey, hardware?: (nonce: string) => unknown): Promise<Attested> {
  const challenge = await post(cloud.endpoint, '/v1/challenge', { appId: APP });
  const nonce = challenge.body['nonce'] as string;
  const extra = hardware ? { hardware: hardware(nonce) } : {};
  const response = await post(
    cloud.endpoint,
    '/v1/attest',
    attestBody({ nonce, appId: APP, appVersion: VERSION, packageBytes: build, key, device: device(platform), extra }),
  );
  return { ...response, nonce, token: response.body['token'] as string };
}

/** The log's entry for a token (the log keeps the token's jti, never the token). */
async function verdictOf(token: string): Promise<{ outcome: string; reasons: string[]; platform: string }> {
  const jti = decodeJwtPart(token, 1)['jti'];
  const response = await signedAdminFetch(cloud, 'GET', `/v1/admin/log?appId=${APP}&limit=100`);
  const { entries } = (await response.json()) as { entries: Array<{ jti: string; outcome: string; reasons: string[]; platform: string }> };
  const entry = entries.find((e) => e.jti === jti);
  if (!entry) throw new Error(`no log entry for jti ${String(jti)}`);
  return entry;
}

async function hello(token: string): Promise<number> {
  return (await fetch(`${cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token } })).status;
}

async function expectVerdict(result: Attested, outcome: 'pass' | 'fail', reasons: string[], helloStatus: 200 | 403): Promise<void> {
  expect(result.status).toBe(200);
  expect(await verdictOf(result.token)).toMatchObject({ outcome, reasons });
  expect(await hello(result.token)).toBe(helloStatus);
}

// ---------- evidence ----------

interface AppAttestKey {
  readonly keyId: string;
  readonly keyPair: KeyPair;
}

function appAttestAttestation(key: InstallKey, made: { key?: AppAttestKey } = {}) {
  let attested: AppAttestKey | undefined;
  const hardware = (nonce: string) => {
    const result = authority.appAttest.attest({
      appId: RP_ID,
      clientDataHash: clientDataHash(nonce, key),
      environment: 'production',
      ...(made.key ? { keyPair: made.key.keyPair } : {}),
    });
    attested = { keyId: b64u(result.keyId), keyPair: result.keyPair };
    return { platform: 'ios', keyId: attested.keyId, attestation: b64u(result.attestation) };
  };
  return { hardware, key: () => attested! };
}

const appAttestAssertion = (key: InstallKey, appAttest: AppAttestKey, counter: number) => (nonce: string) => ({
  platform: 'ios',
  keyId: appAttest.keyId,
  assertion: b64u(authority.appAttest.assert({ keyPair: appAttest.keyPair, appId: RP_ID, clientDataHash: clientDataHash(nonce, key), counter })),
});

const androidChain =
  (key: InstallKey, options: { packageName?: string; signatureDigests?: Uint8Array[]; securityLevel?: SecurityLevelName; serial?: string } = {}) =>
  (nonce: string) => ({
    platform: 'android',
    chain: authority.android
      .attest({
        publicKey: createPublicKey({ key: { ...key.jwk }, format: 'jwk' }),
        challenge: androidChallenge(nonce),
        packageName: options.packageName ?? APP,
        versionCode: 42,
        signatureDigests: options.signatureDigests ?? [SIGNING_CERT],
        securityLevel: options.securityLevel ?? 'TRUSTED_ENVIRONMENT',
        ...(options.serial ? { serial: options.serial } : {}),
      })
      .map(b64u),
  });

// ---------- the deployment ----------

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-hardware-e2e-'));
  clock = new ManualClock(Math.floor(Date.now() / 1000));
  authority = createTestAuthority({ now: new Date(clock.now * 1000) });
  const revocationListFile = join(dataDir, 'attestation-status.json');
  writeFileSync(revocationListFile, JSON.stringify({ entries: { [REVOKED_SERIAL]: { status: 'REVOKED', reason: 'KEY_COMPROMISE' } } }));
  cloud = await startLocalCloud({
    dataDir,
    port: 0,
    clock,
    revocationListFile,
    hardwareTestRoots: { appAttest: [authority.appAttest.root.pem], android: [authority.android.root.pem] },
    authorizer: { requireHardware: true },
  });
  build = randomBytes(64 * 1024);
  await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
  const identity = await signedAdminFetch(cloud, 'PUT', `/v1/admin/apps/${APP}/identity`, {
    ios: { teamId: TEAM_ID, bundleId: APP },
    android: { packageName: APP, signingCertificates: [SIGNING_CERT.toString('hex')], minVersionCode: 10 },
  });
  expect(identity.status).toBe(200);
  const policy = await signedAdminFetch(cloud, 'PUT', `/v1/admin/apps/${APP}/policy`, {
    reject: { rooted: false, emulator: false, debugger: false, hooked: true },
    hardware: { ios: 'require', android: 'require', otherPlatforms: 'refuse' },
  });
  expect(policy.status).toBe(200);
  // Past the 30 s for which attest may still see the app as it was.
  clock.advance(31);
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a genuine device', () => {
  test('iOS: an App Attest attestation, then assertions, pass and open /demo/hello; their tokens carry hw app-attest', async () => {
    const key = newInstallKey();
    const first = appAttestAttestation(key);
    const attested = await attestWith('ios', key, first.hardware);
    await expectVerdict(attested, 'pass', [], 200);
    expect(decodeJwtPart(attested.token, 1)['hw']).toBe('app-attest');
    for (const counter of [1, 2]) await expectVerdict(await attestWith('ios', key, appAttestAssertion(key, first.key(), counter)), 'pass', [], 200);
  });

  test('Android: the install key’s chain, then attestations on the remembered device record, pass', async () => {
    const key = newInstallKey();
    const chained = await attestWith('android', key, androidChain(key));
    await expectVerdict(chained, 'pass', [], 200);
    expect(decodeJwtPart(chained.token, 1)['hw']).toBe('android-key');
    clock.advance(3600);
    await expectVerdict(await attestWith('android', key, () => ({ platform: 'android' })), 'pass', [], 200);
  });
});

describe('everything else is kept out, with the reason in the log', () => {
  test('a chain for another package: hardware_app_mismatch', async () => {
    const key = newInstallKey();
    const result = await attestWith('android', key, androidChain(key, { packageName: 'com.example.repackaged' }));
    await expectVerdict(result, 'fail', ['hardware_app_mismatch'], 403);
    // The token has the shape of a pass: hw is there, as in every token whose request carried evidence.
    expect(decodeJwtPart(result.token, 1)['hw']).toBe('android-key');
  });

  test('an app signed with another certificate: hardware_app_mismatch', async () => {
    const key = newInstallKey();
    const other = createHash('sha256').update('a re-signing attacker').digest();
    await expectVerdict(await attestWith('android', key, androidChain(key, { signatureDigests: [other] })), 'fail', ['hardware_app_mismatch'], 403);
  });

  test('an attestation key whose serial is in the revocation list: hardware_revoked', async () => {
    const key = newInstallKey();
    await expectVerdict(await attestWith('android', key, androidChain(key, { serial: REVOKED_SERIAL })), 'fail', ['hardware_revoked'], 403);
  });

  test('a replayed assertion counter: hardware_counter_replay', async () => {
    const key = newInstallKey();
    const first = appAttestAttestation(key);
    await expectVerdict(await attestWith('ios', key, first.hardware), 'pass', [], 200);
    await expectVerdict(await attestWith('ios', key, appAttestAssertion(key, first.key(), 5)), 'pass', [], 200);
    await expectVerdict(await attestWith('ios', key, appAttestAssertion(key, first.key(), 5)), 'fail', ['hardware_counter_replay'], 403);
  });

  test('two assertions with one counter at the same time: DynamoDB lets exactly one through', async () => {
    const key = newInstallKey();
    const first = appAttestAttestation(key);
    await expectVerdict(await attestWith('ios', key, first.hardware), 'pass', [], 200);
    const results = await Promise.all([1, 2, 3].map(() => attestWith('ios', key, appAttestAssertion(key, first.key(), 1))));
    const verdicts = await Promise.all(results.map((r) => verdictOf(r.token)));
    expect(verdicts.map((v) => v.outcome).sort()).toEqual(['fail', 'fail', 'pass']);
    for (const v of verdicts.filter((x) => x.outcome === 'fail')) expect(v.reasons).toEqual(['hardware_counter_replay']);
    expect((await Promise.all(results.map((r) => hello(r.token)))).sort()).toEqual([200, 403, 403]);
  });

  test('a device with no hardware evidence under require: hardware_missing; a software-only keystore: hardware_policy', async () => {
    const key = newInstallKey();
    await expectVerdict(await attestWith('android', key), 'fail', ['hardware_missing'], 403);
    await expectVerdict(await attestWith('ios', newInstallKey()), 'fail', ['hardware_missing'], 403);
    // otherPlatforms refuse: claiming to be neither platform does not dodge the requirement.
    await expectVerdict(await attestWith('linux', newInstallKey()), 'fail', ['hardware_missing'], 403);
    const soft = newInstallKey();
    await expectVerdict(await attestWith('android', soft, androidChain(soft, { securityLevel: 'SOFTWARE' })), 'fail', ['hardware_policy'], 403);
  });

  test('evidence that is not DER is a 400 naming the certificate, and the nonce is still good', async () => {
    const key = newInstallKey();
    const challenge = await post(cloud.endpoint, '/v1/challenge', { appId: APP });
    const nonce = challenge.body['nonce'] as string;
    const good = androidChain(key)(nonce);
    const bad = { ...good, chain: [good.chain[0], b64u(Buffer.from('not a certificate')), good.chain[2]] };
    const refused = await post(
      cloud.endpoint,
      '/v1/attest',
      attestBody({ nonce, appId: APP, appVersion: VERSION, packageBytes: build, key, device: device('android'), extra: { hardware: bad } }),
    );
    expect(refused).toEqual({
      status: 400,
      body: { error: 'invalid_request', field: 'hardware.chain.1', message: 'hardware.chain.1 must be a DER X.509 certificate' },
    });
    const accepted = await post(
      cloud.endpoint,
      '/v1/attest',
      attestBody({ nonce, appId: APP, appVersion: VERSION, packageBytes: build, key, device: device('android'), extra: { hardware: good } }),
    );
    expect(accepted.status).toBe(200);
    await expectVerdict({ ...accepted, nonce, token: accepted.body['token'] as string }, 'pass', [], 200);
  });

  test('evidence from a root the service was not told to trust: hardware_untrusted', async () => {
    const stranger = createTestAuthority({ now: new Date(clock.now * 1000) });
    const key = newInstallKey();
    const result = await attestWith('android', key, (nonce) => ({
      platform: 'android',
      chain: stranger.android
        .attest({
          publicKey: createPublicKey({ key: { ...key.jwk }, format: 'jwk' }),
          challenge: androidChallenge(nonce),
          packageName: APP,
          versionCode: 42,
          signatureDigests: [SIGNING_CERT],
          securityLevel: 'STRONG_BOX',
        })
        .map(b64u),
    }));
    await expectVerdict(result, 'fail', ['hardware_untrusted'], 403);
  });
});
