/**
 * Real device evidence (packages/hardware/test/vectors, copies of ../shared/vectors) through the
 * service's side: the structural decode of the attest request (core/hardware/evidence.ts) and the
 * verifier with attest's reason mapping (core/hardware/verifier.ts), with the app identity the
 * vectors were made for. Their challenges are fixed, so they cannot go through a fresh nonce: the
 * core's own flow is tested with the test authority (hardware.test.ts).
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import type { KeyDescriptionRecord } from '@attestor/hardware';
import { encodeB64u } from '../../../packages/contracts/src/base64url';
import { decodeHardwareEvidence, type DecodedEvidence } from '../../../packages/service/src/core/hardware/evidence';

type Chain = Extract<DecodedEvidence, { kind: 'android-chain' }>;
function chainOf(decoded: DecodedEvidence | undefined): Chain {
  if (decoded?.kind !== 'android-chain') throw new Error(`decoded as ${decoded?.kind}`);
  return decoded;
}
import { verifyAndroidChain, verifyAppAttestAssertionOf, verifyAppAttestKey } from '../../../packages/service/src/core/hardware/verifier';
import { androidDeviceVectors, appleVectors, firstExpiry, readPemChain, timeInside, ANDROID_VECTORS } from '../../../packages/hardware/test/support/vectors';

const DAY = 86_400_000;

describe('App Attest, real iOS 14 devices (development environment)', () => {
  const vectors = appleVectors();

  it.each(vectors.map((v) => [v.file, v] as const))('%s: attestation, then its assertion, pass at the time they were made', (_file, v) => {
    // Prepare: what a request would carry, decoded as attest decodes it.
    const decoded = decodeHardwareEvidence({ platform: 'ios', keyId: encodeB64u(v.keyId), attestation: encodeB64u(v.attestation) });
    expect(decoded?.kind).toBe('app-attest-attestation');
    const rpId = `${v.teamIdentifier}.${v.bundleIdentifier}`;
    // Act
    const attested = verifyAppAttestKey({
      attestation: (decoded as { attestation: Buffer }).attestation,
      keyId: v.keyId,
      clientDataHash: v.clientDataHash,
      rpId,
      environments: ['development'],
      now: v.attestedAt,
    });
    // Assess
    expect(attested.ok).toBe(true);
    if (!attested.ok) return;
    expect(attested.value.environment).toBe('development');
    expect(createPublicKey({ key: { ...attested.value.publicKey }, format: 'jwk' }).export({ format: 'pem', type: 'spki' })).toBe(
      createPublicKey(v.publicKeyPem).export({ format: 'pem', type: 'spki' }),
    );
    const asserted = verifyAppAttestAssertionOf({
      assertion: v.assertion,
      clientDataHash: v.clientDataHash,
      rpId,
      publicKey: attested.value.publicKey,
      previousCounter: 0,
    });
    expect(asserted).toEqual({ ok: true, value: { counter: v.assertionCounter } });
    // The same assertion again: the stored counter has moved to it.
    expect(
      verifyAppAttestAssertionOf({
        assertion: v.assertion,
        clientDataHash: v.clientDataHash,
        rpId,
        publicKey: attested.value.publicKey,
        previousCounter: v.assertionCounter,
      }),
    ).toEqual({
      ok: false,
      reason: 'hardware_counter_replay',
    });
  });

  it('the same attestation fails as attest reports it: leaf expired, another bundle, production only, a flipped byte', () => {
    const v = vectors[0]!;
    const input = {
      attestation: v.attestation,
      keyId: v.keyId,
      clientDataHash: v.clientDataHash,
      rpId: `${v.teamIdentifier}.${v.bundleIdentifier}`,
      environments: ['development'] as const,
      now: v.attestedAt,
    };
    const leafExpiry = Date.parse(new X509Certificate(extractLeaf(v.attestation)).validTo);
    expect(verifyAppAttestKey({ ...input, now: new Date(leafExpiry + DAY) })).toEqual({ ok: false, reason: 'hardware_untrusted' });
    expect(verifyAppAttestKey({ ...input, rpId: `${v.teamIdentifier}.com.example.other` })).toEqual({ ok: false, reason: 'hardware_app_mismatch' });
    expect(verifyAppAttestKey({ ...input, environments: ['production'] })).toEqual({ ok: false, reason: 'hardware_policy' });
    const flipped = Buffer.from(v.attestation);
    flipped[flipped.length - 40] = flipped[flipped.length - 40]! ^ 0x01;
    // A byte of authData's credential public key: the certified nonce no longer matches.
    expect(verifyAppAttestKey({ ...input, attestation: flipped })).toEqual({ ok: false, reason: 'hardware_invalid' });
  });
});

/** The credential certificate: the first DER certificate inside the attestation's x5c. */
function extractLeaf(attestation: Buffer): Buffer {
  const start = attestation.indexOf(Buffer.from([0x30, 0x82]));
  const length = attestation.readUInt16BE(start + 2) + 4;
  return attestation.subarray(start, start + length);
}

describe('Android key attestation, real devices', () => {
  const applicationOf = (v: { record: unknown }) => {
    const record = v.record as KeyDescriptionRecord;
    return record.softwareEnforced.attestationApplicationId ?? record.hardwareEnforced.attestationApplicationId;
  };
  // marlin's chains end in Google's software attestation roots, which are not pinned; the IMEI
  // vectors attest a system key (package AndroidSystem, no signing certificate), tested below.
  const all = androidDeviceVectors().filter((v) => !v.name.startsWith('marlin/'));
  const vectors = all.filter((v) => (applicationOf(v)?.signatures.length ?? 0) > 0);
  const unsigned = all.filter((v) => (applicationOf(v)?.signatures.length ?? 0) === 0);

  it('there are vectors of both kinds', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
    expect(unsigned.map((v) => v.name).sort()).toEqual(['akita/sdk34/TEE_RSA_BASE+IMEI.pem', 'blueline/sdk28/TEE_RSA_BASE+IMEI.pem']);
  });

  it.each(unsigned.map((v) => [v.name, v] as const))('%s: a key of no signed app never matches an app identity (hardware_app_mismatch)', (_name, v) => {
    const record = v.record as KeyDescriptionRecord;
    const result = verifyAndroidChain({
      chain: v.chain,
      challenge: Buffer.from(record.attestationChallenge, 'base64'),
      now: timeInside(v.chain),
      revokedSerials: new Set(),
      packageName: 'AndroidSystem',
      signatureDigests: [Buffer.alloc(32)],
    });
    expect(result).toEqual({ ok: false, reason: 'hardware_app_mismatch' });
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: decodes, verifies for the attested package and certificates, and lifts the facts', (_name, v) => {
    const record = v.record as KeyDescriptionRecord;
    const application = applicationOf(v);
    const decoded = chainOf(decodeHardwareEvidence({ platform: 'android', chain: v.chain.map(encodeB64u) }));
    const chain = decoded.chain;
    const input = {
      chain,
      challenge: Buffer.from(record.attestationChallenge, 'base64'),
      now: timeInside(v.chain),
      revokedSerials: new Set<string>(),
      packageName: application!.packages[0]!.name,
      signatureDigests: application!.signatures.map((digest) => Buffer.from(digest, 'base64')),
    };
    const verified = verifyAndroidChain(input);
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    const levels = { SOFTWARE: 'software', TRUSTED_ENVIRONMENT: 'tee', STRONG_BOX: 'strongbox' } as const;
    expect(verified.value.securityLevel).toBe(levels[record.attestationSecurityLevel]);
    expect(verified.value.verifiedBootState).toBe(record.hardwareEnforced.rootOfTrust!.verifiedBootState);
    expect(verified.value.signatureDigests).toEqual(application!.signatures.map((d) => Buffer.from(d, 'base64').toString('hex')));
    // Another package, a revoked serial of this very chain, a day after its first expiry: attest's reasons.
    expect(verifyAndroidChain({ ...input, packageName: 'com.example.clone' })).toEqual({ ok: false, reason: 'hardware_app_mismatch' });
    const serials = decoded.serials;
    expect(verifyAndroidChain({ ...input, revokedSerials: new Set([serials[1]!]) })).toEqual({ ok: false, reason: 'hardware_revoked' });
    expect(verifyAndroidChain({ ...input, now: new Date(firstExpiry(v.chain).getTime() + DAY) })).toEqual({ ok: false, reason: 'hardware_untrusted' });
  });

  it.each([
    ['tags_not_in_ascending_order.pem', 'hardware_untrusted'], // its leaf signature is broken
    ['malformed_rot_device_locked.pem', 'hardware_invalid'], // a BER boolean in a signed record
  ] as const)('invalid/%s decodes (it is DER) but is refused as %s', (file, reason) => {
    const chain = readPemChain(`${ANDROID_VECTORS}/invalid/${file}`);
    const decoded = chainOf(decodeHardwareEvidence({ platform: 'android', chain: chain.map(encodeB64u) }));
    const result = verifyAndroidChain({
      chain: decoded.chain,
      challenge: Buffer.from('challenge'),
      now: timeInside(chain),
      revokedSerials: new Set(),
      packageName: 'x',
      signatureDigests: [],
    });
    expect(result).toEqual({ ok: false, reason });
  });
});
