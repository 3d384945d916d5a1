import { createPublicKey, X509Certificate } from 'node:crypto';
import { decodeCBOR } from '@levischuck/tiny-cbor';
import { verifyAppAttestAttestation, type AppAttestAttestationInput } from '../src';
import { createTestAuthority } from '../src/testing';
import { outcomeOf } from './support/codes';
import { appleVectors, type AppleVector } from './support/vectors';

const DAY = 24 * 60 * 60 * 1000;

function inputFor(vector: AppleVector, overrides: Partial<AppAttestAttestationInput> = {}): AppAttestAttestationInput {
  return {
    attestation: vector.attestation,
    keyId: vector.keyId,
    clientDataHash: vector.clientDataHash,
    appId: `${vector.teamIdentifier}.${vector.bundleIdentifier}`,
    environments: ['development'],
    now: vector.attestedAt,
    ...overrides,
  };
}

function decoded(attestation: Uint8Array): Map<string, unknown> {
  const view = new DataView(attestation.buffer, attestation.byteOffset, attestation.byteLength);
  return decodeCBOR(view) as Map<string, unknown>;
}

/** The credential certificate (x5c[0]) of an attestation object. */
function credCertOf(attestation: Uint8Array): X509Certificate {
  const x5c = (decoded(attestation).get('attStmt') as Map<string, unknown>).get('x5c') as Uint8Array[];
  return new X509Certificate(x5c[0] as Uint8Array);
}

function authDataOf(attestation: Uint8Array): Buffer {
  return Buffer.from(decoded(attestation).get('authData') as Uint8Array);
}

function flipByteAt(bytes: Uint8Array, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = (copy[index] as number) ^ 0x01;
  return copy;
}

const vectors = appleVectors();
const table = vectors.map((vector) => [vector.file, vector] as const);

describe('verifyAppAttestAttestation on real iOS 14 attestations', () => {
  it('reads all seven iOS versions', () => {
    expect(vectors.map((vector) => vector.file)).toHaveLength(7);
  });

  it.each(table)('%s verifies at a time inside its leaf validity', (_file, vector) => {
    // Prepare
    const leaf = credCertOf(vector.attestation);
    const expectedKey = createPublicKey(vector.publicKeyPem).export({ type: 'spki', format: 'der' });

    // Act
    const result = verifyAppAttestAttestation(inputFor(vector));

    // Assess
    expect(vector.attestedAt.getTime()).toBeGreaterThan(Date.parse(leaf.validFrom));
    expect(vector.attestedAt.getTime()).toBeLessThan(Date.parse(leaf.validTo));
    expect(Buffer.from(result.keyId)).toEqual(vector.keyId);
    expect(result.environment).toBe('development');
    expect(result.counter).toBe(0);
    expect(result.receipt.byteLength).toBeGreaterThan(3000);
    expect(createPublicKey({ key: result.publicKeyJwk, format: 'jwk' }).export({ type: 'spki', format: 'der' })).toEqual(
      expectedKey,
    );
  });

  it.each(table)('%s fails one day after its leaf expired', (_file, vector) => {
    const now = new Date(Date.parse(credCertOf(vector.attestation).validTo) + DAY);
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { now })))).toBe('expired');
  });

  it.each(table)('%s fails for another bundle id', (_file, vector) => {
    const appId = `${vector.teamIdentifier}.com.example.other`;
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { appId })))).toBe('app_mismatch');
  });

  it.each(table)('%s fails with one byte of authData flipped', (_file, vector) => {
    // Prepare: the nonce covers authData, so any change there breaks the certified nonce.
    const attestation = flipByteAt(vector.attestation, vector.attestation.indexOf(authDataOf(vector.attestation)));

    // Act / Assess
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { attestation })))).toBe('challenge_mismatch');
  });

  it.each(table)('%s fails with one byte of the credential certificate flipped', (_file, vector) => {
    // Prepare: the last byte of x5c[0] lies in its ECDSA signature, so the DER still parses.
    const credCert = credCertOf(vector.attestation).raw;
    const attestation = flipByteAt(vector.attestation, vector.attestation.indexOf(credCert) + credCert.length - 1);

    // Act / Assess
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { attestation })))).toBe('untrusted_chain');
  });

  it('fails with the CBOR header flipped', () => {
    const [vector] = vectors as [AppleVector];
    const attestation = flipByteAt(vector.attestation, 0);
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { attestation })))).toBe('malformed');
  });

  it('fails for the production environment only', () => {
    const [vector] = vectors as [AppleVector];
    const environments = ['production'] as const;
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { environments })))).toBe(
      'environment_not_allowed',
    );
  });

  it('fails for another clientDataHash', () => {
    const [vector] = vectors as [AppleVector];
    const clientDataHash = flipByteAt(vector.clientDataHash, 31);
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { clientDataHash })))).toBe('challenge_mismatch');
  });

  it("fails for another key's id", () => {
    const [first, second] = vectors as [AppleVector, AppleVector];
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(first, { keyId: second.keyId })))).toBe('key_mismatch');
  });

  it('fails when only a test root is trusted', () => {
    const [vector] = vectors as [AppleVector];
    const roots = [createTestAuthority().appAttest.root.pem];
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, { roots })))).toBe('untrusted_chain');
  });

  it.each([
    ['an attestation over 16 KiB', { attestation: new Uint8Array(16 * 1024 + 1) }],
    ['an attestation that is a string', { attestation: 'o2NmbXQ=' as unknown as Uint8Array }],
    ['a 31-byte keyId', { keyId: new Uint8Array(31) }],
    ['a clientDataHash that is not 32 bytes', { clientDataHash: new Uint8Array(16) }],
    ['an invalid date', { now: new Date(Number.NaN) }],
    ['an unknown environment', { environments: ['staging'] as unknown as ['production'] }],
  ])('refuses %s as malformed', (_what, overrides) => {
    const [vector] = vectors as [AppleVector];
    expect(outcomeOf(() => verifyAppAttestAttestation(inputFor(vector, overrides)))).toBe('malformed');
  });
});
