/**
 * Hardware attestation in the SDK (PROTOCOL.md §5.5), against the in-process service (which drops
 * the `hardware` member it does not know yet, so these tests read what the SDK sent) with simulated
 * devices built on @attestor/hardware/testing's authority. Each body is checked exactly; the
 * evidence is verified with @attestor/hardware's verifiers under challenges computed here from the
 * spec with node:crypto, which shows the SDK's challenges are the spec's.
 */
import { createHmac, createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyAndroidKeyAttestation, verifyAppAttestAssertion, verifyAppAttestAttestation } from '../../../packages/hardware/src';
import { createTestAuthority, type TestAuthority } from '../../../packages/hardware/src/testing';
import { checkProof } from '../../../packages/verify/src/core/proof';
import {
  attestorStatusOf,
  AttestorError,
  memoryHardwareKeyStore,
  memoryKeyStore,
  SDK_VERSION,
  type AttestorEvent,
  type HardwareKeyRecord,
  type HardwareKeyStore,
  type InstallPublicJwk,
  type PlatformInstallKey,
  type StoredInstallKey,
} from '../../../packages/sdk/src/index';
import { fileHardwareKeyStore } from '../../../packages/sdk/src/node';
import {
  androidDevice,
  APP_ATTEST_APP_ID,
  appAttestDevice,
  expectedAndroidChallenge,
  expectedClientDataHash,
  PACKAGE_NAME,
  SIGNING_DIGEST,
  thumbprintBytes,
} from './hardware-devices';
import { APP_ID, APP_VERSION, decodeClaims, GENUINE, inProcessService, rejection, seededInstallKey, type InProcessHardware } from './in-process-service';
import { ManualClock } from '../../support/memory';

const DAY_SECONDS = 24 * 60 * 60;
const NO_SIGNALS = { rooted: false, emulator: false, debugger: false, hooked: false };
const fromB64u = (text: string) => Buffer.from(text, 'base64url');
const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

type Body = Record<string, unknown> & { nonce: string; installKey: InstallPublicJwk; installProof: string; hardware: Record<string, unknown> };

let authority: TestAuthority;
beforeAll(() => {
  // Dated from the in-process service's clock, which judges the evidence (App Attest leaves last 3 days).
  authority = createTestAuthority({ now: new Date(new ManualClock().now * 1000) });
});

/** What the in-process service needs to judge the simulated devices' evidence: the authority's roots, the app's identity. */
function trusted(): InProcessHardware {
  const [teamId, ...bundle] = APP_ATTEST_APP_ID.split('.');
  return {
    roots: { appAttest: authority.appAttest.root.pem, android: authority.android.root.pem },
    identity: {
      ios: { teamId: teamId!, bundleId: bundle.join('.') },
      android: { packageName: PACKAGE_NAME, signingCertificates: [SIGNING_DIGEST.toString('hex')] },
    },
  };
}

/** A service whose attest requests are recorded as sent, and whose hardware checks trust the authority. */
function rig() {
  const s = inProcessService({ hardware: trusted() });
  const bodies: Body[] = [];
  s.hooks.beforeRequest = (route, body) => {
    if (route === '/v1/attest') bodies.push(structuredClone(body) as Body);
  };
  const events: AttestorEvent[] = [];
  return { s, bodies, events, onEvent: (event: AttestorEvent) => events.push(event) };
}

function publicOf(key: StoredInstallKey): InstallPublicJwk {
  return { kty: key.kty, crv: key.crv, x: key.x, y: key.y };
}

/** measurement = HMAC(nonce, label 0x00 appId 0x00 appVersion 0x00 SHA-256(package)), PROTOCOL.md §4.2. */
function measurementFor(nonce: string): string {
  const digest = createHash('sha256').update(GENUINE).digest();
  const message = Buffer.concat([Buffer.from(`attestor-measurement-v1\0${APP_ID}\0${APP_VERSION}\0`), digest]);
  return b64u(createHmac('sha256', fromB64u(nonce)).update(message).digest());
}

const LIMITED_USE = { limitedUse: true };

/** The whole attest body, and an install proof that verifies with `installKey` (PROTOCOL.md §4.4). */
function expectAttestBody(body: Body | undefined, installKey: InstallPublicJwk, platform: 'ios' | 'android', hardware: object, extra: object = {}): void {
  expect(body?.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const nonce = body!.nonce;
  expect(body).toEqual({
    nonce,
    appId: APP_ID,
    appVersion: APP_VERSION,
    measurement: measurementFor(nonce),
    installKey,
    installProof: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/),
    device: { platform, osVersion: 'unknown', model: 'unknown', signals: NO_SIGNALS },
    sdkVersion: SDK_VERSION,
    hardware,
    ...extra,
  });
  const message = Buffer.concat([Buffer.from('attestor-install-v1\0'), fromB64u(nonce), fromB64u(measurementFor(nonce))]);
  const key = createPublicKey({ key: { ...installKey }, format: 'jwk' });
  expect(verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, fromB64u(body!.installProof))).toBe(true);
}

function hardwareKeyEvents(events: AttestorEvent[]) {
  return events.filter((e) => e.type === 'hardware_key' || e.type === 'hardware_store');
}

/** A store that records every save. */
function recordingStore(): HardwareKeyStore & { saves: HardwareKeyRecord[] } {
  const inner = memoryHardwareKeyStore();
  const saves: HardwareKeyRecord[] = [];
  return { saves, load: () => inner.load(), save: async (record) => (saves.push(record), inner.save(record)) };
}

describe('App Attest (iOS)', () => {
  it('sends the attestation with the first attestation and assertions after it, with the same keyId: the exact bodies', async () => {
    const { s, bodies, events, onEvent } = rig();
    const device = appAttestDevice(authority);
    const stored = seededInstallKey();
    const client = s.client({ keyStore: memoryKeyStore(stored), hardware: device.provider, onEvent });

    const tokens = [await client.getToken(), await client.getLimitedUseToken(), await client.getLimitedUseToken()];

    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'assert', 'assert']);
    const [made, first, second] = device.calls as unknown as [
      { keyId: string; attestation: string },
      { keyId: string; assertion: string },
      { keyId: string; assertion: string },
    ];
    const installKey = publicOf(stored);
    expectAttestBody(bodies[0], installKey, 'ios', { platform: 'ios', keyId: made.keyId, attestation: made.attestation });
    expectAttestBody(bodies[1], installKey, 'ios', { platform: 'ios', keyId: made.keyId, assertion: first.assertion }, LIMITED_USE);
    expectAttestBody(bodies[2], installKey, 'ios', { platform: 'ios', keyId: made.keyId, assertion: second.assertion }, LIMITED_USE);
    expect([first.keyId, second.keyId]).toEqual([made.keyId, made.keyId]);
    for (const token of tokens) expect(await s.passed(token)).toBe(true);
    expect(hardwareKeyEvents(events)).toEqual([{ type: 'hardware_key', platform: 'ios', reason: 'none' }]);
  });

  it('the evidence verifies with @attestor/hardware under the §5.5 clientDataHash of its own nonce, and under no other', async () => {
    const { s, bodies } = rig();
    const device = appAttestDevice(authority);
    const client = s.client({ hardware: device.provider });
    await client.getToken();
    await client.getLimitedUseToken();
    const [attestBody, assertBody] = bodies as [Body, Body];
    const attestation = { attestation: fromB64u(attestBody.hardware['attestation'] as string), keyId: fromB64u(attestBody.hardware['keyId'] as string) };
    const now = new Date(s.clock.now * 1000);
    const common = { appId: APP_ATTEST_APP_ID, environments: ['production'] as const, now, roots: [authority.appAttest.root.der] };

    const attestWith = (clientDataHash: Buffer) => verifyAppAttestAttestation({ ...attestation, ...common, clientDataHash });
    const verified = attestWith(expectedClientDataHash(attestBody.nonce, attestBody.installKey));
    const assertion = fromB64u(assertBody.hardware['assertion'] as string);
    const assertWith = (clientDataHash: Buffer) =>
      verifyAppAttestAssertion({ assertion, appId: APP_ATTEST_APP_ID, publicKeyJwk: verified.publicKeyJwk, previousCounter: verified.counter, clientDataHash });
    expect(assertWith(expectedClientDataHash(assertBody.nonce, assertBody.installKey))).toEqual({ counter: 1 });

    // Bound to the nonce and to the install key: another nonce or another key does not verify.
    const otherKey = publicOf(seededInstallKey());
    const mismatch = expect.objectContaining({ code: 'challenge_mismatch' });
    expect(() => attestWith(expectedClientDataHash(assertBody.nonce, attestBody.installKey))).toThrow(mismatch);
    expect(() => attestWith(expectedClientDataHash(attestBody.nonce, otherKey))).toThrow(mismatch);
    expect(() => assertWith(expectedClientDataHash(attestBody.nonce, assertBody.installKey))).toThrow(expect.objectContaining({ code: 'bad_signature' }));
  });

  it('concurrent attestations make one key, and their assertions reach the service in counter order', async () => {
    const { s, bodies } = rig();
    const device = appAttestDevice(authority);
    const client = s.client({ hardware: device.provider });

    await Promise.all([client.getToken(), client.getLimitedUseToken(), client.getLimitedUseToken(), client.getToken({ binding: 'Bearer a' })]);

    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'assert', 'assert', 'assert']);
    const [attestBody, ...assertBodies] = bodies as [Body, ...Body[]];
    const { publicKeyJwk } = verifyAppAttestAttestation({
      attestation: fromB64u(attestBody.hardware['attestation'] as string),
      keyId: fromB64u(attestBody.hardware['keyId'] as string),
      clientDataHash: expectedClientDataHash(attestBody.nonce, attestBody.installKey),
      appId: APP_ATTEST_APP_ID,
      environments: ['production'],
      now: new Date(s.clock.now * 1000),
      roots: [authority.appAttest.root.der],
    });
    // The service needs each counter above the last one it stored: arrival order must be counter order.
    let previousCounter = 0;
    for (const body of assertBodies) {
      const assertion = fromB64u(body.hardware['assertion'] as string);
      const clientDataHash = expectedClientDataHash(body.nonce, body.installKey);
      previousCounter = verifyAppAttestAssertion({ assertion, clientDataHash, appId: APP_ATTEST_APP_ID, publicKeyJwk, previousCounter }).counter;
    }
    expect(previousCounter).toBe(3);
  });

  it('makes a new App Attest key once the key is older than hardwareKeyMaxAgeDays (default 7), not before', async () => {
    const { s, bodies, events, onEvent } = rig();
    const device = appAttestDevice(authority);
    const client = s.client({ hardware: device.provider, onEvent });

    await client.getToken();
    s.clock.advance(7 * DAY_SECONDS); // exactly 7 days old: still current
    await client.getLimitedUseToken();
    s.clock.advance(1);
    await client.getLimitedUseToken();
    await client.getLimitedUseToken();

    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'assert', 'attest', 'assert']);
    const [oldKey, , newKey] = device.calls.map((c) => c.keyId);
    expect(newKey).not.toBe(oldKey);
    expect(bodies.map((b) => [b.hardware['keyId'], 'attestation' in b.hardware ? 'attestation' : 'assertion'])).toEqual([
      [oldKey, 'attestation'],
      [oldKey, 'assertion'],
      [newKey, 'attestation'],
      [newKey, 'assertion'],
    ]);
    expect(hardwareKeyEvents(events)).toEqual([
      { type: 'hardware_key', platform: 'ios', reason: 'none' },
      { type: 'hardware_key', platform: 'ios', reason: 'expired' },
    ]);
  });

  it('hardwareKeyMaxAgeDays sets the age, and a device clock that went back renews the key', async () => {
    const { s, events, onEvent } = rig();
    const device = appAttestDevice(authority);
    let skewMs = 0;
    const client = s.client({ hardware: device.provider, hardwareKeyMaxAgeDays: 1, onEvent, now: () => s.clock.now * 1000 + skewMs });

    await client.getToken();
    s.clock.advance(DAY_SECONDS + 1);
    await client.getLimitedUseToken();
    skewMs = -60_000;
    await client.getLimitedUseToken();

    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'attest', 'attest']);
    expect(hardwareKeyEvents(events).map((e) => e.type === 'hardware_key' && e.reason)).toEqual(['none', 'expired', 'expired']);
  });

  it('a restarted app goes on with assertions under the remembered key (same key and hardware stores)', async () => {
    const { s, bodies } = rig();
    const device = appAttestDevice(authority);
    const keyStore = memoryKeyStore(seededInstallKey());
    const hardwareKeyStore = memoryHardwareKeyStore();
    await s.client({ keyStore, hardware: device.provider, hardwareKeyStore }).getToken();
    const keyId = device.calls[0]!.keyId;
    const did = b64u(thumbprintBytes(publicOf((await keyStore.load())!)));
    expect(await hardwareKeyStore.load()).toEqual({ platform: 'ios', keyId, did, createdAtMs: s.clock.now * 1000, attested: true });

    s.clock.advance(3600);
    const restarted = s.client({ keyStore, hardware: device.provider, hardwareKeyStore });
    expect(await s.passed(await restarted.getToken())).toBe(true);

    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'assert']);
    expect(bodies[1]!.hardware).toEqual({ platform: 'ios', keyId, assertion: (device.calls[1] as { assertion: string }).assertion });
  });

  it('without a persistent store (the default) every process makes a new key', async () => {
    const { s } = rig();
    const device = appAttestDevice(authority);
    const keyStore = memoryKeyStore(seededInstallKey());
    await s.client({ keyStore, hardware: device.provider }).getToken();
    await s.client({ keyStore, hardware: device.provider }).getToken();
    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'attest']);
  });

  it('another install key needs another App Attest key: the service keeps the key under the install key it vouched for', async () => {
    const { s, events, onEvent } = rig();
    const device = appAttestDevice(authority);
    const hardwareKeyStore = memoryHardwareKeyStore();
    await s.client({ keyStore: memoryKeyStore(seededInstallKey()), hardware: device.provider, hardwareKeyStore }).getToken();
    await s.client({ keyStore: memoryKeyStore(seededInstallKey()), hardware: device.provider, hardwareKeyStore, onEvent }).getToken();
    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'attest']);
    expect(hardwareKeyEvents(events)).toEqual([{ type: 'hardware_key', platform: 'ios', reason: 'key_changed' }]);
  });

  it('a key whose attestation never reached the service is replaced; the store says so before the request goes out', async () => {
    const { s, bodies, events, onEvent } = rig();
    const device = appAttestDevice(authority);
    const store = recordingStore();
    let failures = 1;
    s.hooks.fault = (route) => (route === '/v1/attest' && failures-- > 0 ? 'network' : undefined);

    const token = await s.client({ hardware: device.provider, hardwareKeyStore: store, onEvent }).getToken();

    expect(await s.passed(token)).toBe(true);
    const [lost, kept] = device.calls.map((c) => c.keyId);
    expect(store.saves.map((r) => [r.platform === 'ios' && r.keyId, r.attested])).toEqual([
      [lost, false],
      [kept, false],
      [kept, true],
    ]);
    expect(bodies.map((b) => b.hardware['keyId'])).toEqual([kept]);
    expect(hardwareKeyEvents(events)).toEqual([
      { type: 'hardware_key', platform: 'ios', reason: 'none' },
      { type: 'hardware_key', platform: 'ios', reason: 'undelivered' },
    ]);
  });

  it('an install key kept by the platform (a Secure Enclave key behind a bridge, signing DER) is the install key', async () => {
    const { s, bodies } = rig();
    const device = appAttestDevice(authority);
    const enclave = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { x, y } = enclave.publicKey.export({ format: 'jwk' });
    const publicJwk: InstallPublicJwk = { kty: 'EC', crv: 'P-256', x: x!, y: y! };
    const installKey: PlatformInstallKey = {
      publicKey: async () => publicJwk,
      sign: async (message) => sign('sha256', message, { key: enclave.privateKey, dsaEncoding: 'der' }),
    };

    const token = await s.client({ keyStore: undefined, installKey, hardware: device.provider }).getToken();

    expect(await s.passed(token)).toBe(true);
    expect(decodeClaims(token).did).toBe(b64u(thumbprintBytes(publicJwk)));
    expectAttestBody(bodies[0], publicJwk, 'ios', { platform: 'ios', keyId: device.calls[0]!.keyId, attestation: expect.any(String) });
  });

  it('a store that fails does not stop attestation: the client goes on with what it holds in memory', async () => {
    const { s, events, onEvent } = rig();
    const device = appAttestDevice(authority);
    const broken: HardwareKeyStore = {
      load: async () => {
        throw new Error('EIO: keychain locked');
      },
      save: async () => {
        throw new Error('ENOSPC');
      },
    };
    const client = s.client({ hardware: device.provider, hardwareKeyStore: broken, onEvent });
    expect(await s.passed(await client.getToken())).toBe(true);
    expect(await s.passed(await client.getLimitedUseToken())).toBe(true);
    expect(device.calls.map((c) => c.call)).toEqual(['attest', 'assert']);
    expect(hardwareKeyEvents(events)).toEqual([
      { type: 'hardware_store', operation: 'load', problem: 'EIO: keychain locked' },
      { type: 'hardware_key', platform: 'ios', reason: 'none' },
      { type: 'hardware_store', operation: 'save', problem: 'ENOSPC' },
      { type: 'hardware_store', operation: 'save', problem: 'ENOSPC' },
    ]);
  });
});

describe('Android key attestation', () => {
  it('the Keystore key is the install key: the chain goes with its first attestation, only the platform after it: the exact bodies', async () => {
    const { s, bodies, events, onEvent } = rig();
    const device = androidDevice(authority);
    const client = s.client({ keyStore: undefined, hardware: device.provider, onEvent });

    const tokens = [await client.getToken(), await client.getLimitedUseToken(), await client.getLimitedUseToken()];

    expect(device.attested).toHaveLength(1);
    const { publicJwk, chain, challenge } = device.attested[0]!;
    expectAttestBody(bodies[0], publicJwk, 'android', { platform: 'android', chain });
    expectAttestBody(bodies[1], publicJwk, 'android', { platform: 'android' }, LIMITED_USE);
    expectAttestBody(bodies[2], publicJwk, 'android', { platform: 'android' }, LIMITED_USE);
    // The key was made for the first attestation's nonce.
    expect(challenge).toBe(b64u(expectedAndroidChallenge(bodies[0]!.nonce)));
    const did = b64u(thumbprintBytes(publicJwk));
    for (const token of tokens) {
      expect(await s.passed(token)).toBe(true);
      expect(decodeClaims(token).did).toBe(did);
    }
    expect(hardwareKeyEvents(events)).toEqual([{ type: 'hardware_key', platform: 'android', reason: 'none' }]);
    expect(events.some((e) => e.type === 'install_key')).toBe(false);
  });

  it('the chain verifies with @attestor/hardware for the §5.5 androidChallenge of its nonce, and for no other', async () => {
    const { s, bodies } = rig();
    const device = androidDevice(authority);
    const client = s.client({ keyStore: undefined, hardware: device.provider });
    await client.getToken();
    await client.getLimitedUseToken();
    const [first, later] = bodies as [Body, Body];
    const chain = (first.hardware['chain'] as string[]).map(fromB64u);
    const now = new Date(s.clock.now * 1000);
    const input = { chain, now, roots: [authority.android.root.pem], packageName: PACKAGE_NAME, signatureDigests: [SIGNING_DIGEST] };

    const attested = verifyAndroidKeyAttestation({ ...input, challenge: expectedAndroidChallenge(first.nonce) });

    expect(attested.publicKeyJwk).toMatchObject({ kty: 'EC', crv: 'P-256', x: first.installKey.x, y: first.installKey.y });
    expect(attested.keyDescription.attestationSecurityLevel).toBe('STRONG_BOX');
    const mismatch = expect.objectContaining({ code: 'challenge_mismatch' });
    expect(() => verifyAndroidKeyAttestation({ ...input, challenge: expectedAndroidChallenge(later.nonce) })).toThrow(mismatch);
  });

  it('takes P1363 signatures as well as DER', async () => {
    const { s } = rig();
    const device = androidDevice(authority);
    device.encoding = 'ieee-p1363';
    const client = s.client({ keyStore: undefined, hardware: device.provider });
    expect(await s.passed(await client.getToken())).toBe(true);
    expect(await s.passed(await client.getLimitedUseToken())).toBe(true);
  });

  it('an old key is replaced by a new Keystore key for a new nonce: a new install key and a new did', async () => {
    const { s, bodies, events, onEvent } = rig();
    const device = androidDevice(authority);
    const client = s.client({ keyStore: undefined, hardware: device.provider, onEvent });

    const first = await client.getToken();
    s.clock.advance(7 * DAY_SECONDS + 1);
    const second = await client.getToken();
    const third = await client.getLimitedUseToken();

    expect(device.attested).toHaveLength(2);
    const [oldKey, newKey] = device.attested as [(typeof device.attested)[0], (typeof device.attested)[0]];
    expectAttestBody(bodies[1], newKey.publicJwk, 'android', { platform: 'android', chain: newKey.chain });
    expectAttestBody(bodies[2], newKey.publicJwk, 'android', { platform: 'android' }, LIMITED_USE);
    expect(newKey.challenge).toBe(b64u(expectedAndroidChallenge(bodies[1]!.nonce)));
    expect(decodeClaims(first).did).toBe(b64u(thumbprintBytes(oldKey.publicJwk)));
    expect([decodeClaims(second).did, decodeClaims(third).did]).toEqual(Array(2).fill(b64u(thumbprintBytes(newKey.publicJwk))));
    expect(hardwareKeyEvents(events).map((e) => e.type === 'hardware_key' && e.reason)).toEqual(['none', 'expired']);
  });

  it('a restarted app goes on with its attested Keystore key, remembered in a file store', async () => {
    const { s, bodies } = rig();
    const device = androidDevice(authority);
    const dir = mkdtempSync(join(tmpdir(), 'attestor-hardware-'));
    try {
      const path = join(dir, 'app-data', 'attestor-hardware-key.json');
      await s.client({ keyStore: undefined, hardware: device.provider, hardwareKeyStore: fileHardwareKeyStore(path) }).getToken();
      const { publicJwk } = device.attested[0]!;
      const record = { platform: 'android', did: b64u(thumbprintBytes(publicJwk)), createdAtMs: s.clock.now * 1000, attested: true };
      expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(record);
      expect(statSync(path).mode & 0o777).toBe(0o600);

      s.clock.advance(3 * DAY_SECONDS);
      const restarted = s.client({ keyStore: undefined, hardware: device.provider, hardwareKeyStore: fileHardwareKeyStore(path) });
      const token = await restarted.getToken();

      expect(device.attested).toHaveLength(1);
      expectAttestBody(bodies[1], publicJwk, 'android', { platform: 'android' });
      expect(await s.passed(token)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a Keystore that lost the remembered key, or holds another, gets a new key with its chain', async () => {
    const { s, bodies, events, onEvent } = rig();
    const device = androidDevice(authority);
    const hardwareKeyStore = memoryHardwareKeyStore();
    await s.client({ keyStore: undefined, hardware: device.provider, hardwareKeyStore }).getToken();
    device.current = undefined; // e.g. the user cleared the app's credentials

    await s.client({ keyStore: undefined, hardware: device.provider, hardwareKeyStore, onEvent }).getToken();

    expect(device.attested).toHaveLength(2);
    expectAttestBody(bodies[1], device.attested[1]!.publicJwk, 'android', { platform: 'android', chain: device.attested[1]!.chain });
    expect(hardwareKeyEvents(events)).toEqual([{ type: 'hardware_key', platform: 'android', reason: 'key_changed' }]);
  });

  it('proofs of possession are signed by the Keystore key the token names', async () => {
    const API = 'https://api.example.com';
    const s = inProcessService({ api: () => new Response('ok'), hardware: trusted() });
    const device = androidDevice(authority);
    const client = s.client({ keyStore: undefined, hardware: device.provider, hosts: ['api.example.com'], proof: true });

    await client.fetch(`${API}/orders`, { method: 'POST', body: '{}' });

    const request = s.apiRequests[0]!;
    const token = request.headers.get('attestor-token')!;
    const claims = await s.verify(token);
    expect(claims.did).toBe(b64u(thumbprintBytes(device.attested[0]!.publicJwk)));
    expect(() => checkProof(request.headers.get('attestor-proof')!, token, claims, { method: 'POST', url: `${API}/orders` }, s.clock.now)).not.toThrow();
  });
});

describe('provider failures', () => {
  it('a provider that throws fails the attestation with hardware_error, sends no attest request and does not count against the service', async () => {
    const { s } = rig();
    const device = appAttestDevice(authority);
    const client = s.client({ hardware: device.provider });
    const unavailable = new Error('DCErrorServerUnavailable');
    device.failWith = unavailable;

    const error = await rejection(client.getToken());

    expect(error).toMatchObject({ code: 'hardware_error', message: "the hardware provider's attest() failed: DCErrorServerUnavailable", cause: unavailable });
    expect(s.requests).toEqual(['/v1/challenge']);
    expect(client.status()).toMatchObject({ circuit: 'closed', consecutiveFailures: 0, lastError: { code: 'hardware_error' } });
    expect(attestorStatusOf(error)).toBe('client_error');

    device.failWith = undefined;
    expect(await s.passed(await client.getToken())).toBe(true);
  });

  it('fetch still sends the request, without a token and with Attestor-Status client_error', async () => {
    const s = inProcessService({ api: () => new Response('ok') });
    const device = androidDevice(authority);
    device.failWith = new Error('ProviderException: StrongBox unavailable');
    const client = s.client({ keyStore: undefined, hardware: device.provider, hosts: ['api.example.com'] });

    const response = await client.fetch('https://api.example.com/orders');

    expect(response.status).toBe(200);
    expect(s.apiRequests[0]!.headers.get('attestor-token')).toBeNull();
    expect(s.apiRequests[0]!.headers.get('attestor-status')).toBe('client_error');
  });

  type Ios = ReturnType<typeof appAttestDevice>;
  type Android = ReturnType<typeof androidDevice>;
  const anotherPrivateKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  it.each([
    ['assert() throws', 'ios', (d: Ios) => (d.failWith = new Error('DCErrorInvalidKey')), "the hardware provider's assert() failed: DCErrorInvalidKey"],
    ['sign() throws', 'android', (d: Android) => (d.failWith = new Error('KeyPermanentlyInvalidatedException')), "the hardware provider's sign() failed"],
    [
      'sign() signs with another key',
      'android',
      (d: Android) => (d.current = { ...d.current!, privateKey: anotherPrivateKey() }),
      "the hardware provider's sign() returned a signature that does not verify",
    ],
    [
      'currentKey() returns something that is no P-256 key',
      'android',
      (d: Android) => (d.current = { ...d.current!, publicJwk: { kty: 'RSA' } as unknown as InstallPublicJwk }),
      "the hardware provider's currentKey() must resolve to an EC P-256 public JWK",
    ],
  ] as const)('once the key is established: %s', async (_name, platform, breakIt, message) => {
    const { s } = rig();
    const ios = platform === 'ios' ? appAttestDevice(authority) : undefined;
    const android = platform === 'android' ? androidDevice(authority) : undefined;
    const client = s.client(ios ? { hardware: ios.provider } : { keyStore: undefined, hardware: android!.provider });
    await client.getToken();

    (breakIt as (d: unknown) => void)(ios ?? android);
    const error = await rejection(client.getLimitedUseToken());

    expect(error.code).toBe('hardware_error');
    expect(error.message).toContain(message);
    expect(s.requests.filter((r) => r === '/v1/attest')).toHaveLength(1);
  });

  it.each([
    ['an App Attest keyId that is not 32 bytes', { keyId: new Uint8Array(16) }, 'attest() returned a keyId that is not 32 bytes'],
    ['an attestation that is not a CBOR map', { attestation: Uint8Array.of(0x30, 0x01, 0x00) }, 'attest() returned the attestation that is not a CBOR map'],
    ['an attestation larger than the protocol allows', { attestation: Uint8Array.of(0xa1, ...new Uint8Array(9_000)) }, 'not a CBOR map of 1 to 8192 bytes'],
  ])('evidence the service would refuse is refused before it is sent: %s', async (_name, change, message) => {
    const { s } = rig();
    const device = appAttestDevice(authority);
    const attest = device.provider.attest;
    const client = s.client({ hardware: { ...device.provider, attest: async (clientDataHash) => ({ ...(await attest(clientDataHash)), ...change }) } });

    const error = await rejection(client.getToken());

    expect(error.code).toBe('hardware_error');
    expect(error.message).toContain(message);
    expect(s.requests).not.toContain('/v1/attest');
  });

  const pem = new TextEncoder().encode('-----BEGIN CERTIFICATE-----');
  it.each([
    ['a chain of one certificate', (chain: Uint8Array[]) => chain.slice(0, 1), 'must return a chain of 2 to 8 DER certificates'],
    ['a chain with a PEM certificate', (chain: Uint8Array[]) => [chain[0]!, pem], 'chain[1], which is not a DER certificate'],
  ])('Android evidence the service would refuse is refused before it is sent: %s', async (_name, change, message) => {
    const { s } = rig();
    const device = androidDevice(authority);
    const attest = device.provider.attest;
    const provider = {
      ...device.provider,
      attest: async (challenge: Uint8Array) => {
        const made = await attest(challenge);
        return { ...made, chain: change([...made.chain]) };
      },
    };

    const error = await rejection(s.client({ keyStore: undefined, hardware: provider }).getToken());

    expect(error.code).toBe('hardware_error');
    expect(error.message).toContain(message);
    expect(s.requests).not.toContain('/v1/attest');
  });

  it('a provider that never answers ends in timeout within timeoutMs; the client waits one budget for it, then goes on', async () => {
    const { s } = rig();
    const device = androidDevice(authority);
    let hang = true;
    const never = new Promise<never>(() => undefined);
    const provider = { ...device.provider, attest: (challenge: Uint8Array) => (hang ? never : device.provider.attest(challenge)) };
    const client = s.client({ keyStore: undefined, hardware: provider, timeoutMs: 300 });

    const started = Date.now();
    const error = await rejection(client.getToken());

    expect(error).toMatchObject({ code: 'timeout', message: "the attestation took longer than 300 ms (at the hardware provider's attest())" });
    expect(Date.now() - started).toBeLessThan(2000);
    hang = false;
    // The hung call might still replace the Keystore key, so the next attestation waits behind it
    // for one budget, and then goes on without it.
    const resumed = Date.now();
    expect(await s.passed(await client.getToken())).toBe(true);
    expect(Date.now() - resumed).toBeGreaterThanOrEqual(250);
  });

  it.each([
    ['an App Attest assertion throws (the key was lost, e.g. restored onto another device)', 'ios'],
    ['an Android signature throws (the Keystore key was invalidated)', 'android'],
  ] as const)('%s: that attestation fails, the next one makes a new key', async (_name, platform) => {
    const { s, events, onEvent } = rig();
    const ios = platform === 'ios' ? appAttestDevice(authority) : undefined;
    const android = platform === 'android' ? androidDevice(authority) : undefined;
    const client = s.client({ ...(ios ? { hardware: ios.provider } : { keyStore: undefined, hardware: android!.provider }), onEvent });
    await client.getToken();

    let broken = true;
    if (ios) {
      const assert = ios.provider.assert;
      (ios.provider as { assert: typeof assert }).assert = async (keyId, clientDataHash) => {
        if (broken) throw new Error('DCErrorInvalidKey');
        return assert(keyId, clientDataHash);
      };
    } else {
      const sign = android!.provider.sign;
      (android!.provider as { sign: typeof sign }).sign = async (message) => {
        if (broken) throw new Error('KeyPermanentlyInvalidatedException');
        return sign(message);
      };
    }
    expect((await rejection(client.getLimitedUseToken())).code).toBe('hardware_error');
    broken = false;
    expect(await s.passed(await client.getLimitedUseToken())).toBe(true);

    expect(hardwareKeyEvents(events)).toEqual([
      { type: 'hardware_key', platform, reason: 'none' },
      { type: 'hardware_key', platform, reason: 'unusable' },
    ]);
    expect((ios?.calls ?? []).map((c) => c.call)).toEqual(ios ? ['attest', 'attest'] : []);
    expect(android?.attested.length ?? 0).toBe(android ? 2 : 0);
  });
});

describe('options', () => {
  const ios = () => appAttestDevice(authority).provider;
  const android = () => androidDevice(authority).provider;
  const installKey: PlatformInstallKey = { publicKey: async () => publicOf(seededInstallKey()), sign: async () => new Uint8Array() };
  const pixel = { platform: 'android', osVersion: '14', model: 'Pixel 8' };
  const withoutAssert = () => ({ platform: 'ios', attest: ios().attest }) as never;
  const withoutCurrentKey = () => ({ ...android(), currentKey: undefined }) as never;
  const storeWithoutSave = { load: async () => undefined } as never;

  it.each([
    ['keyStore with an Android provider', () => ({ hardware: android() }), 'keyStore', 'must not be set with an Android hardware provider'],
    ['installKey with an Android provider', () => ({ keyStore: undefined, hardware: android(), installKey }), 'installKey', 'must not be set'],
    ['installKey and keyStore together', () => ({ installKey }), 'installKey', 'exclusive'],
    ['an unknown platform', () => ({ hardware: { ...ios(), platform: 'windows' } as never }), 'hardware.platform', 'must be "ios"'],
    ['an App Attest provider without assert', () => ({ hardware: withoutAssert() }), 'hardware.assert', 'must be a function'],
    ['an Android provider without currentKey', () => ({ keyStore: undefined, hardware: withoutCurrentKey() }), 'hardware.currentKey', 'must be a function'],
    ['a max age of 0 days', () => ({ hardware: ios(), hardwareKeyMaxAgeDays: 0 }), 'hardwareKeyMaxAgeDays', 'more than 0'],
    ['a max age beyond a year', () => ({ hardware: ios(), hardwareKeyMaxAgeDays: 366 }), 'hardwareKeyMaxAgeDays', 'at most 365'],
    ['a hardware key store without save', () => ({ hardware: ios(), hardwareKeyStore: storeWithoutSave }), 'hardwareKeyStore', 'load() and save()'],
    ['a device platform other than the provider', () => ({ hardware: ios(), device: pixel }), 'device.platform', 'must be "ios"'],
  ])('refuses %s, naming the option', (_name, options, field, message) => {
    const { s } = rig();
    let thrown: unknown;
    try {
      s.client(options());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AttestorError);
    expect(thrown).toMatchObject({ code: 'invalid_request', field });
    expect((thrown as Error).message).toContain(message);
  });
});
