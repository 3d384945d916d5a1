/**
 * Hardware evidence in the attest core (PROTOCOL.md §5.5) over the memory fakes, with evidence from
 * @attestor/hardware/testing's authority: each reason, the policy modes, device records and their
 * writes, the counter compare-and-set, the `hw` claim, and the 400s of evidence that does not decode.
 */
import { X509Certificate } from 'node:crypto';
import { attest, nonceId } from '../../../packages/service/src/core/attestation';
import { InvalidRequestError } from '../../../packages/contracts/src/errors';
import { decodeB64u, encodeB64u } from '../../../packages/contracts/src/base64url';
import { attestRequestSchema, parseRequest } from '../../../packages/contracts/src/validation';
import { newInstallDevice } from '../../../packages/service/src/core/devices';
import type { AttestRequest } from '../../../packages/contracts/src/validation';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { appAttestClientDataHash } from '../../../packages/service/src/core/hardware/challenge';
import { APP_ID, macBy, newInstallKey, parts } from './helpers';
import {
  OTHER_CERT,
  SIGNING_CERT,
  androidChainRequest,
  androidRememberedRequest,
  appAttestAssertion,
  appAttestAttestation,
  authority,
  deviceRequest,
  hardwareWorld,
  RP_ID,
  type HardwareWorld,
} from './hardware-world';

const DAY = 86_400;

async function judge(world: HardwareWorld, request: AttestRequest) {
  // Through the request schema first, as the handler does: what reaches the core is what a client can send.
  const result = await attest(world.deps, parseRequest(attestRequestSchema, request));
  return { ...result, passed: result.verdict.passed, reasons: result.verdict.reasons, mac: macBy(world, result.token), claims: parts(result.token).claims };
}

describe('Android key attestation', () => {
  it('a genuine chain passes, is remembered with what it attested, and carries hw android-key after did', async () => {
    // Prepare
    const world = hardwareWorld();
    const { request, installKey, chain } = await androidChainRequest(world);
    // Act
    const result = await judge(world, request);
    // Assess
    expect(result.verdict).toMatchObject({ passed: true, outcome: 'pass', reasons: [] });
    expect(result.mac).toBe('tenant');
    expect(Object.keys(result.claims)).toEqual(['iss', 'sub', 'iat', 'exp', 'jti', 'ver', 'did', 'hw', 'cnf']);
    expect(result.claims['hw']).toBe('android-key');
    const did = jwkThumbprint(installKey.jwk);
    const serials = chain.map((der) => new X509Certificate(der).serialNumber.toLowerCase().replace(/^0+(?=.)/, ''));
    expect([...world.devices.records.values()]).toEqual([
      {
        platform: 'android',
        appId: APP_ID,
        did,
        securityLevel: 'tee',
        verifiedBootState: 'VERIFIED',
        deviceLocked: true,
        osPatchLevel: 202509,
        osVersion: 150000,
        packageName: 'com.example.android',
        signatureDigests: [SIGNING_CERT.toString('hex')],
        versionCode: 42,
        serials,
        createdAt: world.clock.now,
        expiresAt: world.clock.now + 30 * DAY,
      },
    ]);
  });

  it('later attestations of the install key stand on the record: one read, no write, no cryptography', async () => {
    const world = hardwareWorld();
    const { request, installKey } = await androidChainRequest(world);
    await judge(world, request);
    world.devices.calls.length = 0;
    world.clock.advance(5 * DAY);
    const later = await judge(world, await androidRememberedRequest(world, installKey));
    expect(later.verdict).toMatchObject({ passed: true, reasons: [] });
    expect(later.claims['hw']).toBe('android-key');
    expect(world.devices.calls.map((c) => c.op)).toEqual(['get']);
  });

  it('a chainless attestation without a record (or with an expired one) is hardware_missing', async () => {
    const world = hardwareWorld({ android: 'require', rememberDays: 10 });
    const unknown = await judge(world, await androidRememberedRequest(world, newInstallKey()));
    expect(unknown.reasons).toEqual(['hardware_missing']);
    expect(unknown.mac).toBe('decoy');

    const { request, installKey } = await androidChainRequest(world);
    expect((await judge(world, request)).passed).toBe(true);
    world.clock.advance(10 * DAY);
    expect((await judge(world, await androidRememberedRequest(world, installKey))).reasons).toEqual(['hardware_missing']);
  });

  it('shortening rememberDays expires records written under the longer one at once', async () => {
    const world = hardwareWorld({ android: 'require', rememberDays: 30 });
    const { request, installKey } = await androidChainRequest(world);
    await judge(world, request);
    world.clock.advance(3 * DAY);
    world.registry.policies.set(APP_ID, {
      ...world.registry.policies.get(APP_ID)!,
      hardware: { ...world.registry.policies.get(APP_ID)!.hardware!, rememberDays: 2 },
    });
    world.clock.advance(31); // past the catalog cache
    expect((await judge(world, await androidRememberedRequest(world, installKey))).reasons).toEqual(['hardware_missing']);
  });

  it.each([
    ['another package', { packageName: 'com.evil.clone' }, 'hardware_app_mismatch'],
    ['another signing certificate', { signatureDigests: [OTHER_CERT] }, 'hardware_app_mismatch'],
    ['the registered certificate and another one', { signatureDigests: [SIGNING_CERT, OTHER_CERT] }, 'hardware_app_mismatch'],
    ['a versionCode below the identity minimum', { versionCode: 39 }, 'hardware_app_mismatch'],
    ['a leaf certifying another key than installKey', { attestedKey: newInstallKey() }, 'hardware_invalid'],
    ['a key made for another nonce', { challenge: Buffer.alloc(32, 7) }, 'hardware_invalid'],
  ] as const)('%s fails (%s), and nothing is remembered', async (_what, options, reason) => {
    const world = hardwareWorld();
    const { request, installKey } = await androidChainRequest(world, options);
    const result = await judge(world, request);
    expect(result.verdict).toMatchObject({ passed: false, outcome: 'fail', reasons: [reason] });
    expect(result.mac).toBe('decoy');
    expect(result.claims['hw']).toBe('android-key');
    expect(world.devices.records.size).toBe(0);
    // And the install key cannot ride on a record later.
    expect((await judge(world, await androidRememberedRequest(world, installKey))).reasons).toEqual(['hardware_missing']);
  });

  it('a chain with a revoked (or suspended) serial fails, and a record whose chain is revoked later fails from then on', async () => {
    const world = hardwareWorld();
    world.revocations.serials.add('c0ffee');
    const revoked = await judge(world, (await androidChainRequest(world, { serial: '00C0FFEE' })).request);
    expect(revoked.reasons).toEqual(['hardware_revoked']);

    const { request, installKey } = await androidChainRequest(world, { serial: 'beef01' });
    expect((await judge(world, request)).passed).toBe(true);
    world.revocations.serials.add('beef01');
    expect((await judge(world, await androidRememberedRequest(world, installKey))).reasons).toEqual(['hardware_revoked']);
  });

  it('a chain from an untrusted root (the test root not configured) is hardware_untrusted', async () => {
    const world = hardwareWorld();
    const deps = { ...world.deps, hardware: { ...world.deps.hardware!, testRoots: { appAttest: [], android: [] } } };
    const { request } = await androidChainRequest(world);
    const result = await attest(deps, request);
    expect(result.verdict.reasons).toEqual(['hardware_untrusted']);
  });

  it.each([
    ['a software-only keystore', { securityLevel: 'SOFTWARE' }, {}],
    ['TEE where StrongBox is required', {}, { minAndroidSecurityLevel: 'strongbox' }],
    ['an unlocked bootloader', { deviceLocked: false }, {}],
    ['a self-signed boot image', { verifiedBootState: 'SELF_SIGNED' }, {}],
    ['an old patch level', { osPatchLevel: 202401 }, { minAndroidPatchLevel: 202406 }],
  ] as const)('%s fails with hardware_policy; the facts are remembered and judged again under a laxer policy', async (_what, options, policy) => {
    const world = hardwareWorld({ android: 'require', ...policy });
    const { request, installKey } = await androidChainRequest(world, options);
    expect((await judge(world, request)).reasons).toEqual(['hardware_policy']);
    expect(world.devices.records.size).toBe(1);
    world.registry.policies.set(APP_ID, {
      ...world.registry.policies.get(APP_ID)!,
      hardware: {
        ...world.registry.policies.get(APP_ID)!.hardware!,
        minAndroidSecurityLevel: 'software',
        requireVerifiedBoot: false,
        minAndroidPatchLevel: undefined,
      },
    });
    world.clock.advance(31);
    expect((await judge(world, await androidRememberedRequest(world, installKey))).verdict).toMatchObject({ passed: true, reasons: [] });
  });

  it('a StrongBox chain meets a strongbox minimum', async () => {
    const world = hardwareWorld({ android: 'require', minAndroidSecurityLevel: 'strongbox' });
    expect((await judge(world, (await androidChainRequest(world, { securityLevel: 'STRONG_BOX' })).request)).passed).toBe(true);
  });

  it('a record whose signing certificate the identity no longer lists fails (hardware_app_mismatch)', async () => {
    const world = hardwareWorld();
    const { request, installKey } = await androidChainRequest(world);
    await judge(world, request);
    world.registry.identities.set(APP_ID, {
      ...world.registry.identities.get(APP_ID)!,
      android: { packageName: 'com.example.android', signingCertificates: [OTHER_CERT.toString('hex')] },
    });
    world.clock.advance(31);
    expect((await judge(world, await androidRememberedRequest(world, installKey))).reasons).toEqual(['hardware_app_mismatch']);
  });
});

describe('App Attest', () => {
  it('an attestation passes and stores the key under its keyId with counter 0; assertions then pass with growing counters', async () => {
    const world = hardwareWorld();
    const { request, key } = await appAttestAttestation(world);
    const first = await judge(world, request);
    expect(first.verdict).toMatchObject({ passed: true, reasons: [] });
    expect(first.claims['hw']).toBe('app-attest');
    const record = world.devices.records.get(`ios#${APP_ID}#${key.keyId}`);
    expect(record).toMatchObject({
      platform: 'ios',
      keyId: key.keyId,
      did: jwkThumbprint(key.installKey.jwk),
      counter: 0,
      environment: 'production',
      expiresAt: world.clock.now + 30 * DAY,
    });
    expect(record).toHaveProperty('receipt');

    for (const counter of [1, 2, 7]) {
      const later = await judge(world, await appAttestAssertion(world, key, { counter }));
      expect(later.verdict).toMatchObject({ passed: true, reasons: [] });
      expect(world.devices.records.get(`ios#${APP_ID}#${key.keyId}`)).toMatchObject({ counter });
    }
  });

  it('a replayed counter (equal or lower) is hardware_counter_replay, and leaves the counter as it was', async () => {
    const world = hardwareWorld();
    const { request, key } = await appAttestAttestation(world);
    await judge(world, request);
    await judge(world, await appAttestAssertion(world, key, { counter: 5 }));
    for (const counter of [5, 3]) {
      const replay = await judge(world, await appAttestAssertion(world, key, { counter }));
      expect(replay.verdict).toMatchObject({ passed: false, reasons: ['hardware_counter_replay'] });
      expect(replay.mac).toBe('decoy');
    }
    expect(world.devices.records.get(`ios#${APP_ID}#${key.keyId}`)).toMatchObject({ counter: 5 });
  });

  it('of two concurrent assertions with one counter, exactly one passes; the other is logged as a replay', async () => {
    const world = hardwareWorld();
    const { request, key } = await appAttestAttestation(world);
    await judge(world, request);
    const [a, b] = [await appAttestAssertion(world, key, { counter: 1 }), await appAttestAssertion(world, key, { counter: 1 })];
    const results = await Promise.all([attest(world.deps, a), attest(world.deps, b)]);
    expect(results.map((r) => r.verdict.passed).sort()).toEqual([false, true]);
    const loser = results.find((r) => !r.verdict.passed)!;
    expect(loser.verdict.reasons).toEqual(['hardware_counter_replay']);
    expect(macBy(world, loser.token)).toBe('decoy');
    // The loser's log entry was written as a pass alongside the compare-and-set, then replaced.
    const entry = world.log.find((e) => e.jti === loser.verdict.jti)!;
    expect(entry).toMatchObject({ outcome: 'fail', reasons: ['hardware_counter_replay'] });
    expect(world.log.filter((e) => e.jti === loser.verdict.jti)).toHaveLength(1);
  });

  it('an assertion with another install key than the one attested is hardware_invalid', async () => {
    const world = hardwareWorld();
    const { request, key } = await appAttestAttestation(world);
    await judge(world, request);
    const result = await judge(world, await appAttestAssertion(world, key, { installKey: newInstallKey() }));
    expect(result.reasons).toEqual(['hardware_invalid']);
    expect(world.devices.records.get(`ios#${APP_ID}#${key.keyId}`)).toMatchObject({ counter: 0 });
  });

  it('an assertion signed by another key, or for another app, fails', async () => {
    const world = hardwareWorld();
    const { request, key } = await appAttestAttestation(world);
    await judge(world, request);
    const { key: stranger } = await appAttestAttestation(world);
    const forged = await judge(world, await appAttestAssertion(world, { ...stranger, keyId: key.keyId, installKey: key.installKey }));
    expect(forged.reasons).toEqual(['hardware_invalid']);
    const otherApp = await judge(world, await appAttestAssertion(world, key, { rpId: 'TEAMID1234.com.example.other' }));
    expect(otherApp.reasons).toEqual(['hardware_app_mismatch']);
  });

  it('an assertion for an unknown key, or one past rememberDays, is hardware_missing', async () => {
    const world = hardwareWorld({ ios: 'require', rememberDays: 1 });
    const { request, key } = await appAttestAttestation(world);
    const unknown = await judge(world, await appAttestAssertion(world, key));
    expect(unknown.reasons).toEqual(['hardware_missing']);
    // (the request above consumed nothing of the key: the attestation still works)
    await judge(world, request);
    world.clock.advance(DAY);
    expect((await judge(world, await appAttestAssertion(world, key))).reasons).toEqual(['hardware_missing']);
  });

  it('a key attesting twice is hardware_counter_replay; its first attestation object replayed for another nonce is hardware_invalid', async () => {
    const world = hardwareWorld();
    const { request, key } = await appAttestAttestation(world);
    await judge(world, request);
    // The same App Attest key attested again (a valid attestation for this nonce): a key attests once.
    const again = await deviceRequest(world, 'ios', { installKey: key.installKey });
    const clientDataHash = appAttestClientDataHash(decodeB64u(again.nonce)!, jwkThumbprint(key.installKey.jwk));
    const made = authority.appAttest.attest({ appId: RP_ID, clientDataHash, environment: 'production', keyPair: key.keyPair });
    expect(encodeB64u(made.keyId)).toBe(key.keyId);
    const twice = await judge(world, { ...again, hardware: { platform: 'ios', keyId: key.keyId, attestation: encodeB64u(made.attestation) } });
    expect(twice.reasons).toEqual(['hardware_counter_replay']);
    // The original attestation object under a new nonce: its clientDataHash is the old one.
    const replayed = await judge(world, { ...(await deviceRequest(world, 'ios', { installKey: key.installKey })), hardware: request.hardware });
    expect(replayed.reasons).toEqual(['hardware_invalid']);
  });

  it('an attestation for another rpId is hardware_app_mismatch; a development key under production only is hardware_policy', async () => {
    const world = hardwareWorld();
    expect((await judge(world, (await appAttestAttestation(world, { rpId: 'OTHERTEAM1.com.example.ios' })).request)).reasons).toEqual([
      'hardware_app_mismatch',
    ]);
    expect((await judge(world, (await appAttestAttestation(world, { environment: 'development' })).request)).reasons).toEqual(['hardware_policy']);
    const dev = hardwareWorld({ ios: 'require', appAttestEnvironments: ['development'] });
    expect((await judge(dev, (await appAttestAttestation(dev, { environment: 'development' })).request)).passed).toBe(true);
  });

  it('a development key remembered while development was allowed fails once the policy drops it', async () => {
    const world = hardwareWorld({ ios: 'require', appAttestEnvironments: ['production', 'development'] });
    const { request, key } = await appAttestAttestation(world, { environment: 'development' });
    expect((await judge(world, request)).passed).toBe(true);
    world.registry.policies.set(APP_ID, {
      ...world.registry.policies.get(APP_ID)!,
      hardware: { ...world.registry.policies.get(APP_ID)!.hardware!, appAttestEnvironments: ['production'] },
    });
    world.clock.advance(31);
    expect((await judge(world, await appAttestAssertion(world, key))).reasons).toEqual(['hardware_policy']);
  });

  it('an app without an iOS identity cannot pass App Attest evidence (hardware_app_mismatch), and stores nothing', async () => {
    const world = hardwareWorld();
    world.registry.identities.set(APP_ID, { android: world.registry.identities.get(APP_ID)!.android! });
    const result = await judge(world, (await appAttestAttestation(world)).request);
    expect(result.reasons).toEqual(['hardware_app_mismatch']);
    expect(world.devices.records.size).toBe(0);
  });
});

describe('policy modes', () => {
  it('require: a request without evidence fails with hardware_missing, and its token has no hw', async () => {
    const world = hardwareWorld({ ios: 'require', android: 'off' });
    const ios = await judge(world, await deviceRequest(world, 'ios'));
    expect(ios.reasons).toEqual(['hardware_missing']);
    expect(ios.claims).not.toHaveProperty('hw');
    expect((await judge(world, await deviceRequest(world, 'android'))).passed).toBe(true);
  });

  it('prefer: no evidence passes, evidence that verifies passes, evidence that does not verify fails', async () => {
    const world = hardwareWorld({ ios: 'prefer', android: 'prefer' });
    expect((await judge(world, await deviceRequest(world, 'android'))).passed).toBe(true);
    expect((await judge(world, (await androidChainRequest(world)).request)).passed).toBe(true);
    expect((await judge(world, (await androidChainRequest(world, { packageName: 'com.evil.clone' })).request)).reasons).toEqual(['hardware_app_mismatch']);
  });

  it('off: evidence sent anyway fails (hardware_policy), since its token carries hw; it is still verified and remembered', async () => {
    const world = hardwareWorld({ ios: 'off', android: 'off' });
    const { request, installKey } = await androidChainRequest(world);
    const result = await judge(world, request);
    expect(result.reasons).toEqual(['hardware_policy']);
    expect(result.claims['hw']).toBe('android-key');
    expect(world.devices.records.size).toBe(1);
    // Switched to prefer, the remembered install passes without a new key.
    world.registry.policies.set(APP_ID, {
      ...world.registry.policies.get(APP_ID)!,
      hardware: { ...world.registry.policies.get(APP_ID)!.hardware!, android: 'prefer' },
    });
    world.clock.advance(31);
    expect((await judge(world, await androidRememberedRequest(world, installKey))).passed).toBe(true);
    // Without evidence, off is as before hardware existed.
    expect((await judge(world, await deviceRequest(world, 'android'))).passed).toBe(true);
  });

  it('otherPlatforms: with a platform requiring hardware, refuse fails a client claiming neither platform; allow lets it through', async () => {
    const refuse = hardwareWorld({ ios: 'require', android: 'off', otherPlatforms: 'refuse' });
    expect((await judge(refuse, await deviceRequest(refuse, 'electron'))).reasons).toEqual(['hardware_missing']);
    expect((await judge(refuse, await deviceRequest(refuse, 'iOS'))).reasons).toEqual(['hardware_missing']);
    const allow = hardwareWorld({ ios: 'require', android: 'off', otherPlatforms: 'allow' });
    expect((await judge(allow, await deviceRequest(allow, 'electron'))).passed).toBe(true);
    const nothingRequired = hardwareWorld({ ios: 'prefer', android: 'prefer', otherPlatforms: 'refuse' });
    expect((await judge(nothingRequired, await deviceRequest(nothingRequired, 'electron'))).passed).toBe(true);
  });

  it('measurement off: an unregistered or mismatching build passes on its hardware evidence; with measurement required it does not', async () => {
    const world = hardwareWorld({ android: 'require' }, { measurement: 'off' });
    const unregistered = await judge(world, (await androidChainRequest(world, { request: { appVersion: '9.9.9' } })).request);
    expect(unregistered.verdict).toMatchObject({ passed: true, reasons: [] });
    const store = await judge(world, (await androidChainRequest(world, { request: { build: Buffer.from('what Google Play serves') } })).request);
    expect(store.verdict).toMatchObject({ passed: true, reasons: [] });
    const strict = hardwareWorld({ android: 'require' });
    expect((await judge(strict, (await androidChainRequest(strict, { request: { appVersion: '9.9.9' } })).request)).reasons).toEqual(['version_unknown']);
  });

  it('an allow-listed install passes without evidence under require, but not with evidence that fails (its token would carry hw)', async () => {
    const world = hardwareWorld();
    const installKey = newInstallKey();
    await world.registry.deviceStore.putDeviceIfAbsent(newInstallDevice(world.clock, APP_ID, jwkThumbprint(installKey.jwk), 'CI'));
    const without = await judge(world, await deviceRequest(world, 'android', { installKey }));
    expect(without.verdict).toMatchObject({ passed: true, outcome: 'allowlisted', reasons: ['hardware_missing'] });
    const failing = await judge(world, (await androidChainRequest(world, { installKey, packageName: 'com.evil.clone' })).request);
    expect(failing.verdict).toMatchObject({ passed: false, outcome: 'fail', reasons: ['hardware_app_mismatch'] });
  });

  it('a deployment without hardware ports fails every request with evidence (hardware_untrusted)', async () => {
    const world = hardwareWorld();
    const { hardware: _none, ...deps } = world.deps;
    const { request } = await androidChainRequest(world);
    expect((await attest(deps, request)).verdict.reasons).toEqual(['hardware_untrusted']);
  });
});

describe('tokens and costs', () => {
  it('pass and fail tokens with evidence have the same header, claim names and length', async () => {
    const world = hardwareWorld();
    const pass = await judge(world, (await androidChainRequest(world)).request);
    const fail = await judge(world, (await androidChainRequest(world, { packageName: 'com.evil.clone' })).request);
    expect([pass.passed, fail.passed]).toEqual([true, false]);
    expect(Object.keys(fail.claims)).toEqual(Object.keys(pass.claims));
    expect(fail.token.length).toBe(pass.token.length);
  });

  it('a failing attestation reads and writes device records as a passing one does (the write goes with the log write)', async () => {
    const world = hardwareWorld();
    const pass = await androidChainRequest(world);
    await judge(world, pass.request);
    const passCalls = world.devices.calls.splice(0).map((c) => c.op);
    // Evidence that verifies but fails the policy: the same read and the same write.
    await judge(world, (await androidChainRequest(world, { securityLevel: 'SOFTWARE' })).request);
    expect(world.devices.calls.map((c) => c.op)).toEqual(passCalls);
    expect(passCalls).toEqual(['get', 'create']);
  });

  it('the revocation list is read for Android evidence only', async () => {
    const world = hardwareWorld();
    await judge(world, (await appAttestAttestation(world)).request);
    await judge(world, await deviceRequest(world, 'android'));
    expect(world.revocations.reads).toBe(0);
    await judge(world, (await androidChainRequest(world)).request);
    expect(world.revocations.reads).toBe(1);
  });
});

describe('evidence that does not decode: 400 naming the member, before the nonce is consumed', () => {
  async function refused(world: HardwareWorld, request: AttestRequest): Promise<InvalidRequestError> {
    const parsed = parseRequest(attestRequestSchema, request);
    const error = await attest(world.deps, parsed).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
    // The nonce is still there: a 400 consumes nothing.
    expect(world.nonces.records.has(nonceId(decodeB64u(request.nonce)!))).toBe(true);
    return error as InvalidRequestError;
  }

  it('an attestation or assertion that is not CBOR, or not a CBOR map', async () => {
    const world = hardwareWorld();
    const { request } = await appAttestAttestation(world);
    const hw = request.hardware as { keyId: string };
    const notCbor = await refused(world, {
      ...request,
      hardware: { platform: 'ios', keyId: hw.keyId, attestation: encodeB64u(Buffer.from('{"fmt":"json"}')) },
    });
    expect([notCbor.field, notCbor.message]).toEqual(['hardware.attestation', 'hardware.attestation must be CBOR (an App Attest object)']);
    const list = await refused(world, { ...request, hardware: { platform: 'ios', keyId: hw.keyId, assertion: encodeB64u(Buffer.from([0x82, 0x01, 0x02])) } });
    expect([list.field, list.detail]).toEqual(['hardware.assertion', 'must be a CBOR map (an App Attest object)']);
    const trailing = await refused(world, { ...request, hardware: { platform: 'ios', keyId: hw.keyId, assertion: encodeB64u(Buffer.from([0xa0, 0x00])) } });
    expect(trailing.field).toBe('hardware.assertion');
  });

  it('a certificate that is not DER: garbage, PEM text, DER with bytes after it', async () => {
    const world = hardwareWorld();
    const { request, chain } = await androidChainRequest(world);
    const chainOf = (replaced: Buffer, at: number) => chain.map((der, i) => encodeB64u(i === at ? replaced : der));
    const pem = Buffer.from(new X509Certificate(chain[1]!).toString());
    for (const [bytes, at] of [
      [Buffer.from('not a certificate'), 1],
      [pem, 1],
      [Buffer.concat([chain[0]!, Buffer.of(0)]), 0],
    ] as const) {
      const error = await refused(world, { ...request, hardware: { platform: 'android', chain: chainOf(bytes, at) } });
      expect([error.field, error.detail]).toEqual([`hardware.chain.${at}`, 'must be a DER X.509 certificate']);
    }
  });
});
