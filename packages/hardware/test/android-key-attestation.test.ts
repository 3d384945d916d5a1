import { createPublicKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import {
  GOOGLE_KEY_ATTESTATION_ROOTS,
  verifyAndroidKeyAttestation,
  type AndroidKeyAttestationInput,
  type KeyDescriptionRecord,
} from '../src';
import { outcomeOf } from './support/codes';
import {
  ANDROID_VECTORS,
  androidDeviceVectors,
  androidRoots,
  firstExpiry,
  readPemChain,
  timeInside,
  type AndroidVector,
} from './support/vectors';

const DAY = 24 * 60 * 60 * 1000;

function challengeOf(vector: AndroidVector): Buffer {
  return Buffer.from((vector.record as KeyDescriptionRecord).attestationChallenge, 'base64');
}

function inputFor(vector: AndroidVector, overrides: Partial<AndroidKeyAttestationInput> = {}): AndroidKeyAttestationInput {
  return { chain: vector.chain, challenge: challengeOf(vector), now: timeInside(vector.chain), ...overrides };
}

function vector(name: string): AndroidVector {
  const found = androidDeviceVectors().find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no vector ${name}`);
  return found;
}

function serialOf(der: Uint8Array | undefined): string {
  return new X509Certificate(der as Uint8Array).serialNumber.toLowerCase().replace(/^0+/, '');
}

// marlin's chains end in Google's software attestation roots: not hardware, not pinned.
const hardwareVectors = androidDeviceVectors().filter((candidate) => !candidate.name.startsWith('marlin/'));

describe('verifyAndroidKeyAttestation on real devices', () => {
  it('pins exactly the roots of android/keyattestation roots.json', () => {
    // Prepare
    const derOf = (pem: string) => new X509Certificate(pem).raw.toString('base64');

    // Act / Assess
    expect(GOOGLE_KEY_ATTESTATION_ROOTS.map(derOf)).toEqual(androidRoots().map(derOf));
  });

  it.each(hardwareVectors.map((v) => [v.name, v] as const))('%s verifies and returns its record', (_name, v) => {
    // Prepare
    const record = v.record as KeyDescriptionRecord;
    const application = record.softwareEnforced.attestationApplicationId;
    const rootOfTrust = record.hardwareEnforced.rootOfTrust;

    // Act
    const result = verifyAndroidKeyAttestation(inputFor(v));

    // Assess
    expect(result.attestationSecurityLevel).toBe(record.attestationSecurityLevel);
    expect(result.keymasterSecurityLevel).toBe(record.keyMintSecurityLevel);
    expect(Buffer.from(result.attestationChallenge)).toEqual(challengeOf(v));
    expect(result.packages).toEqual(application?.packages.map((p) => ({ name: p.name, version: Number(p.version) })));
    expect(result.versionCode).toBe(Number(application?.packages[0]?.version));
    expect(result.signatureDigests.map((d) => Buffer.from(d).toString('base64'))).toEqual(application?.signatures);
    expect(result.rootOfTrust.deviceLocked).toBe(rootOfTrust?.deviceLocked);
    expect(result.rootOfTrust.verifiedBootState).toBe(rootOfTrust?.verifiedBootState);
    expect(Buffer.from(result.rootOfTrust.verifiedBootKey).toString('base64')).toBe(rootOfTrust?.verifiedBootKey);
    expect(Buffer.from(result.rootOfTrust.verifiedBootHash ?? []).toString('base64')).toBe(rootOfTrust?.verifiedBootHash);
    expect(result.osVersion).toBe(Number(record.hardwareEnforced.osVersion));
    expect(result.osPatchLevel).toBe(Number(record.hardwareEnforced.osPatchLevel));
    expect(result.keyDescription.uniqueId).toBe(record.uniqueId);
  });

  it.each(hardwareVectors.filter((v) => !v.name.includes('MLDSA')).map((v) => [v.name, v] as const))(
    '%s returns the leaf key as a JWK',
    (_name, v) => {
      // Prepare
      const leafKey = new X509Certificate(v.chain[0] as Uint8Array).publicKey.export({ type: 'spki', format: 'der' });

      // Act
      const { publicKeyJwk } = verifyAndroidKeyAttestation(inputFor(v));

      // Assess
      expect(createPublicKey({ key: publicKeyJwk, format: 'jwk' }).export({ type: 'spki', format: 'der' })).toEqual(leafKey);
    },
  );

  it('returns an ML-DSA leaf key as an AKP JWK, which Node 20 cannot load itself', () => {
    // Act
    const { publicKeyJwk } = verifyAndroidKeyAttestation(inputFor(vector('tokay/sdk37/TEE_MLDSA_FACTORY.pem')));

    // Assess: ML-DSA-65 public keys are 1952 bytes (FIPS 204).
    expect(publicKeyJwk.kty).toBe('AKP');
    expect(publicKeyJwk.alg).toBe('ML-DSA-65');
    expect(Buffer.from(String(publicKeyJwk.pub), 'base64url')).toHaveLength(1952);
  });

  it.each(['marlin/sdk29/TEE_EC_NONE.pem', 'marlin/sdk29/TEE_RSA_NONE.pem'])(
    'refuses %s, a software attestation chain, as untrusted_chain',
    (name) => {
      expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(vector(name))))).toBe('untrusted_chain');
    },
  );

  it('accepts the same roots passed explicitly from roots.json', () => {
    // Act / Assess
    const v = vector('caiman/sdk36/TEE_EC_RKP.pem');
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { roots: androidRoots() })))).toBe('accepted');
  });

  it('trusts a chain ending in the expired copy of the RSA root, by its key', () => {
    // Prepare: the blueline root copy (serial e8fa196314d2fa18) expired on 2026-05-24.
    const v = vector('blueline/sdk28/TEE_EC_NONE.pem');
    const rootCopy = new X509Certificate(v.chain[v.chain.length - 1] as Uint8Array);
    const afterRootExpiry = new Date(Date.parse(rootCopy.validTo) + 30 * DAY);

    // Act
    const outcome = outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { now: afterRootExpiry })));

    // Assess
    expect(rootCopy.serialNumber.toLowerCase()).toBe('e8fa196314d2fa18');
    expect(outcome).toBe('accepted');
  });

  it('accepts a chain sent without its root, which a pinned root signed', () => {
    // Prepare
    const v = vector('tegu/sdk36/TEE_EC_2026_ROOT.pem');

    // Act / Assess
    const withoutRoot = v.chain.slice(0, -1);
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { chain: withoutRoot })))).toBe('accepted');
  });

  it('refuses the same chain one day after its first certificate expired', () => {
    // Prepare
    const v = vector('caiman/sdk36/SB_EC_RKP.pem');
    const now = new Date(firstExpiry(v.chain).getTime() + DAY);

    // Act / Assess
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { now })))).toBe('expired');
  });

  it('refuses a chain whose attestation certificate is not yet valid', () => {
    // Prepare
    const v = vector('caiman/sdk36/SB_EC_RKP.pem');
    const now = new Date(Date.parse(new X509Certificate(v.chain[1] as Uint8Array).validFrom) - DAY);

    // Act / Assess
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { now })))).toBe('expired');
  });

  it('refuses a chain holding a revoked serial, in any case and padding', () => {
    // Prepare
    const v = vector('sony-xperia10-iii/sdk33/TEE_EC.pem');
    const serial = serialOf(v.chain[1]);

    // Act / Assess
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { revokedSerials: [serial] })))).toBe('revoked');
    const shouted = `00${serial.toUpperCase()}`;
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { revokedSerials: [shouted] })))).toBe('revoked');
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { revokedSerials: ['1234abcd'] })))).toBe('accepted');
  });

  it('refuses another challenge as challenge_mismatch', () => {
    // Prepare
    const v = vector('akita/sdk34/TEE_EC_NONE.pem');
    const challenge = Buffer.from(challengeOf(v));
    challenge[0] = (challenge[0] as number) ^ 1;

    // Act / Assess
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { challenge })))).toBe('challenge_mismatch');
  });

  it('refuses a leaf with one byte flipped as untrusted_chain', () => {
    // Prepare: flip a byte inside the KeyDescription, so the leaf still parses.
    const v = vector('akita/sdk34/TEE_EC_NONE.pem');
    const leaf = Buffer.from(v.chain[0] as Uint8Array);
    const at = leaf.indexOf(Buffer.from('challenge'));
    leaf[at] = (leaf[at] as number) ^ 1;

    // Act / Assess
    expect(at).toBeGreaterThan(0);
    const chain = [leaf, ...v.chain.slice(1)];
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { chain })))).toBe('untrusted_chain');
  });

  it('refuses certificates out of order as untrusted_chain', () => {
    // Prepare
    const v = vector('akita/sdk34/TEE_EC_NONE.pem');
    const [leaf, attestation, ...rest] = v.chain;
    const chain = [attestation, leaf, ...rest] as Uint8Array[];

    // Act / Assess
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { chain })))).toBe('untrusted_chain');
  });

  it.each([
    ['a single certificate', (chain: Uint8Array[]) => chain.slice(0, 1)],
    ['eleven certificates', (chain: Uint8Array[]) => [...chain, ...chain, ...chain].slice(0, 11)],
    ['a certificate that is not DER', (chain: Uint8Array[]) => [new Uint8Array([1, 2, 3]), ...chain.slice(1)]],
    ['a certificate over 16 KiB', (chain: Uint8Array[]) => [new Uint8Array(16 * 1024 + 1), ...chain.slice(1)]],
  ])('refuses %s as malformed', (_what, mangle) => {
    const v = vector('akita/sdk34/TEE_EC_NONE.pem');
    expect(outcomeOf(() => verifyAndroidKeyAttestation(inputFor(v, { chain: mangle(v.chain) })))).toBe('malformed');
  });
});

describe('verifyAndroidKeyAttestation on the invalid vectors', () => {
  const invalid = (file: string) => {
    const chain = readPemChain(join(ANDROID_VECTORS, 'invalid', file));
    return { chain, challenge: Buffer.from('challenge'), now: timeInside(chain) };
  };

  it('refuses tags_not_in_ascending_order (its leaf signature is broken) as untrusted_chain', () => {
    expect(outcomeOf(() => verifyAndroidKeyAttestation(invalid('tags_not_in_ascending_order.pem')))).toBe(
      'untrusted_chain',
    );
  });

  it('refuses malformed_rot_device_locked (a BER boolean in a signed record) as malformed', () => {
    expect(outcomeOf(() => verifyAndroidKeyAttestation(invalid('malformed_rot_device_locked.pem')))).toBe('malformed');
  });
});
