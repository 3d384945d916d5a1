import { join } from 'node:path';
import {
  HARDWARE_ERROR_CODES,
  HardwareAttestationError,
  parseAndroidKeyDescription,
  verifyAndroidKeyAttestation,
  verifyAppAttestAssertion,
  verifyAppAttestAttestation,
} from '../src';
import { outcomeOf } from './support/codes';
import { ANDROID_VECTORS, appleVectors, readPemChain, timeInside, type AppleVector } from './support/vectors';

describe('HardwareAttestationError', () => {
  it('carries a name, a code from the published list and a message', () => {
    // Act
    const error = new HardwareAttestationError('revoked', 'serial 1 is revoked');

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('HardwareAttestationError');
    expect(HARDWARE_ERROR_CODES).toContain(error.code);
    expect(error.message).toBe('serial 1 is revoked');
  });

  it('publishes the eleven codes callers branch on', () => {
    expect([...HARDWARE_ERROR_CODES].sort()).toEqual(
      [
        'app_mismatch',
        'bad_signature',
        'challenge_mismatch',
        'counter_invalid',
        'environment_not_allowed',
        'expired',
        'extension_missing',
        'key_mismatch',
        'malformed',
        'revoked',
        'untrusted_chain',
      ].sort(),
    );
  });
});

/** Every single-byte corruption, and every truncation, gives a coded refusal: never a raw exception. */
describe('corrupted evidence never escapes as a raw exception', () => {
  const [apple] = appleVectors() as [AppleVector];
  const appId = `${apple.teamIdentifier}.${apple.bundleIdentifier}`;
  const android = readPemChain(join(ANDROID_VECTORS, 'tegu/sdk36/TEE_EC_2026_ROOT.pem'));
  const androidNow = timeInside(android);

  const flipped = (bytes: Uint8Array, index: number) => {
    const copy = Buffer.from(bytes);
    copy[index] = (copy[index] as number) ^ 0xff;
    return copy;
  };
  const positions = (length: number, step: number) => Array.from({ length: Math.ceil(length / step) }, (_, i) => i * step);

  it('App Attest attestations', () => {
    // Prepare: the receipt is not signed over by anything the verifier checks, so flips there pass.
    const inputs = [
      ...positions(apple.attestation.length, 53).map((index) => flipped(apple.attestation, index)),
      ...positions(apple.attestation.length, 401).map((end) => apple.attestation.subarray(0, end)),
    ];

    // Act
    const outcomes = new Set(
      inputs.map((attestation) =>
        outcomeOf(() =>
          verifyAppAttestAttestation({
            attestation,
            keyId: apple.keyId,
            clientDataHash: apple.clientDataHash,
            appId,
            environments: ['development'],
            now: apple.attestedAt,
          }),
        ),
      ),
    );

    // Assess
    expect([...outcomes].every((outcome) => outcome === 'accepted' || HARDWARE_ERROR_CODES.includes(outcome))).toBe(true);
    expect(outcomes).toContain('malformed');
    expect(outcomes).toContain('untrusted_chain');
    expect(outcomes).toContain('challenge_mismatch');
  });

  it('App Attest assertions', () => {
    // Prepare
    const publicKeyJwk = verifyAppAttestAttestation({
      attestation: apple.attestation,
      keyId: apple.keyId,
      clientDataHash: apple.clientDataHash,
      appId,
      environments: ['development'],
      now: apple.attestedAt,
    }).publicKeyJwk;
    const inputs = [
      ...positions(apple.assertion.length, 1).map((index) => flipped(apple.assertion, index)),
      ...positions(apple.assertion.length, 1).map((end) => apple.assertion.subarray(0, end)),
    ];

    // Act
    const outcomes = new Set(
      inputs.map((assertion) =>
        outcomeOf(() =>
          verifyAppAttestAssertion({
            assertion,
            clientDataHash: apple.clientDataHash,
            appId,
            publicKeyJwk,
            previousCounter: 0,
          }),
        ),
      ),
    );

    // Assess: every byte of an assertion is signed or structural.
    expect(outcomes).not.toContain('accepted');
    expect(outcomes).toEqual(new Set(['malformed', 'bad_signature']));
  });

  it('Android leaves', () => {
    // Prepare
    const [leaf, ...rest] = android as [Uint8Array, ...Uint8Array[]];
    const leaves = [
      ...positions(leaf.length, 11).map((index) => flipped(leaf, index)),
      ...positions(leaf.length, 61).map((end) => leaf.subarray(0, end)),
    ];
    const challenge = Buffer.from(parseAndroidKeyDescription(leaf).attestationChallenge, 'base64');

    // Act
    const outcomes = new Set(
      leaves.map((mutated) =>
        outcomeOf(() => verifyAndroidKeyAttestation({ chain: [mutated, ...rest], challenge, now: androidNow })),
      ),
    );

    // Assess: the whole leaf is signed, so nothing changed passes.
    expect(outcomes).not.toContain('accepted');
    expect([...outcomes].every((outcome) => HARDWARE_ERROR_CODES.includes(outcome as never))).toBe(true);
    expect(outcomes).toContain('untrusted_chain');
  });
});
