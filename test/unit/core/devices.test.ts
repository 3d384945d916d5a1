import { attest } from '../../../packages/service/src/core/attestation';
import { debugSecretDigest, matchesDebugSecret, newDebugDevice, newInstallDevice, publicDevice } from '../../../packages/service/src/core/devices';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { APP_ID, genuineRequest, macBy, makeWorld, newInstallKey } from './helpers';

const TAMPERED = Buffer.from('a repackaged build');

function worldWithDevices() {
  const world = makeWorld();
  const allowed = newInstallKey();
  void world.registry.deviceStore.putDeviceIfAbsent(newInstallDevice(world.clock, APP_ID, jwkThumbprint(allowed.jwk), 'lab phone'));
  let n = 0;
  const { device, debugSecret } = newDebugDevice({ clock: world.clock, random: { bytes: (size) => Buffer.alloc(size, ++n) } }, APP_ID, 'CI');
  void world.registry.deviceStore.putDeviceIfAbsent(device);
  return { world, allowed, debugSecret, debugDevice: device };
}

describe('debug devices', () => {
  it('store only the digest of a 32-byte secret, under an id derived from it', () => {
    const { debugSecret, debugDevice } = worldWithDevices();
    const digest = debugSecretDigest(Buffer.from(debugSecret, 'base64url'));
    expect(Buffer.from(debugSecret, 'base64url')).toHaveLength(32);
    expect(debugDevice).toMatchObject({ kind: 'debug', secretSha256: digest, deviceId: `debug.${digest.slice(0, 22)}` });
    expect(JSON.stringify(debugDevice)).not.toContain(debugSecret);
    expect(publicDevice(debugDevice)).not.toHaveProperty('secretSha256');
    expect(matchesDebugSecret(debugDevice, digest)).toBe(true);
    expect(matchesDebugSecret(debugDevice, debugSecretDigest(Buffer.alloc(32)))).toBe(false);
    expect(matchesDebugSecret(undefined, digest)).toBe(false);
  });
});

describe('attest with allow-listed devices', () => {
  it('passes an allow-listed install key whatever the build and signals, outcome allowlisted, reasons kept', async () => {
    const { world, allowed } = worldWithDevices();
    const request = await genuineRequest(world, { installKey: allowed, build: TAMPERED, signals: { hooked: true }, appVersion: '9.9.9' });
    const result = await attest(world.deps, request);
    expect(result.verdict).toMatchObject({ passed: true, outcome: 'allowlisted', reasons: ['version_unknown', 'device_hooked'] });
    expect(macBy(world, result.token)).toBe('tenant');
  });

  it('does not pass an allow-listed did without possession of its key', async () => {
    const { world, allowed } = worldWithDevices();
    const impostor = await genuineRequest(world, { installKey: allowed, build: TAMPERED, installProof: 'A'.repeat(86) });
    const result = await attest(world.deps, impostor);
    expect(result.verdict).toMatchObject({ passed: false, outcome: 'fail' });
    expect(result.verdict.reasons).toContain('install_proof_invalid');
    expect(macBy(world, result.token)).toBe('decoy');
  });

  it('passes a matching debug secret, outcome debug; a wrong one fails with debug_secret_invalid', async () => {
    const { world, debugSecret } = worldWithDevices();
    const good = await attest(world.deps, { ...(await genuineRequest(world, { build: TAMPERED })), debugSecret });
    expect(good.verdict).toMatchObject({ passed: true, outcome: 'debug', reasons: ['measurement_mismatch'] });
    const wrong = await attest(world.deps, { ...(await genuineRequest(world)), debugSecret: Buffer.alloc(32, 7).toString('base64url') });
    expect(wrong.verdict).toMatchObject({ passed: false, outcome: 'fail', reasons: ['debug_secret_invalid'] });
    expect([macBy(world, good.token), macBy(world, wrong.token)]).toEqual(['tenant', 'decoy']);
  });

  it('fails an allow-listed install that sends a debug secret matching nothing', async () => {
    const { world, allowed } = worldWithDevices();
    const request = await genuineRequest(world, { installKey: allowed });
    const result = await attest(world.deps, { ...request, debugSecret: Buffer.alloc(32, 9).toString('base64url') });
    expect(result.verdict).toMatchObject({ passed: false, outcome: 'fail', reasons: ['debug_secret_invalid'] });
    expect(macBy(world, result.token)).toBe('decoy');
  });

  it('ignores devices of an app that is not registered', async () => {
    const { world, allowed, debugSecret } = worldWithDevices();
    world.registry.apps.delete(APP_ID);
    const result = await attest(world.deps, { ...(await genuineRequest(world, { installKey: allowed })), debugSecret });
    expect(result.verdict).toMatchObject({ passed: false, outcome: 'fail', appKnown: false });
  });

  it('keeps a genuine request without devices a plain pass', async () => {
    const { world } = worldWithDevices();
    expect((await attest(world.deps, await genuineRequest(world))).verdict).toMatchObject({ passed: true, outcome: 'pass', reasons: [] });
  });
});
