import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { decodeCBOR } from '@levischuck/tiny-cbor';
import { verifyAppAttestAssertion, verifyAppAttestAttestation, type AppAttestAssertionInput } from '../src';
import { outcomeOf } from './support/codes';
import { appleVectors, type AppleVector } from './support/vectors';

const vectors = appleVectors();
const rsaJwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
const table = vectors.map((vector) => [vector.file, vector] as const);
const appIdOf = (vector: AppleVector) => `${vector.teamIdentifier}.${vector.bundleIdentifier}`;

/** The key as the service stores it: the JWK returned by the attestation check. */
function storedKey(vector: AppleVector): AppAttestAssertionInput['publicKeyJwk'] {
  return verifyAppAttestAttestation({
    attestation: vector.attestation,
    keyId: vector.keyId,
    clientDataHash: vector.clientDataHash,
    appId: appIdOf(vector),
    environments: ['development'],
    now: vector.attestedAt,
  }).publicKeyJwk;
}

function inputFor(vector: AppleVector, overrides: Partial<AppAttestAssertionInput> = {}): AppAttestAssertionInput {
  return {
    assertion: vector.assertion,
    clientDataHash: vector.clientDataHash,
    appId: appIdOf(vector),
    publicKeyJwk: storedKey(vector),
    previousCounter: 0,
    ...overrides,
  };
}

function partsOf(assertion: Uint8Array): { signature: Buffer; authenticatorData: Buffer } {
  const view = new DataView(assertion.buffer, assertion.byteOffset, assertion.byteLength);
  const map = decodeCBOR(view) as Map<string, Uint8Array>;
  return {
    signature: Buffer.from(map.get('signature') as Uint8Array),
    authenticatorData: Buffer.from(map.get('authenticatorData') as Uint8Array),
  };
}

describe('verifyAppAttestAssertion on real iOS 14 assertions', () => {
  it.each(table)('%s verifies with the key from its attestation', (_file, vector) => {
    // Act
    const result = verifyAppAttestAssertion(inputFor(vector));

    // Assess
    expect(result.counter).toBe(vector.assertionCounter);
  });

  it.each(table)('%s signs SHA-256(nonce), nonce = SHA-256(authenticatorData || clientDataHash)', (_file, vector) => {
    // Prepare
    const key = createPublicKey(vector.publicKeyPem);
    const { signature, authenticatorData } = partsOf(vector.assertion);
    const signedOnce = Buffer.concat([authenticatorData, vector.clientDataHash]);
    const nonce = createHash('sha256').update(signedOnce).digest();

    // Act: ECDSA-SHA256 hashes its message once more.
    const overNonce = verify('sha256', nonce, key, signature);
    const overConcatenation = verify('sha256', signedOnce, key, signature);

    // Assess: the double hash is what iOS signs, which the verifier relies on.
    expect(overNonce).toBe(true);
    expect(overConcatenation).toBe(false);
  });

  it.each(table)('%s fails when the counter does not increase', (_file, vector) => {
    const previousCounter = vector.assertionCounter;
    expect(outcomeOf(() => verifyAppAttestAssertion(inputFor(vector, { previousCounter })))).toBe('counter_invalid');
  });

  it('fails for another app id', () => {
    const [vector] = vectors as [AppleVector];
    const appId = `${vector.teamIdentifier}.com.example.other`;
    expect(outcomeOf(() => verifyAppAttestAssertion(inputFor(vector, { appId })))).toBe('app_mismatch');
  });

  it('fails for another clientDataHash', () => {
    const [vector] = vectors as [AppleVector];
    const clientDataHash = createHash('sha256').update('other client data').digest();
    expect(outcomeOf(() => verifyAppAttestAssertion(inputFor(vector, { clientDataHash })))).toBe('bad_signature');
  });

  it("fails with another device's key", () => {
    const [first, second] = vectors as [AppleVector, AppleVector];
    const publicKeyJwk = storedKey(second);
    expect(outcomeOf(() => verifyAppAttestAssertion(inputFor(first, { publicKeyJwk })))).toBe('bad_signature');
  });

  it('fails with one byte of the counter flipped', () => {
    // Prepare: the counter is the last byte of the 37-byte authenticator data, at the end of the CBOR.
    const [vector] = vectors as [AppleVector];
    const assertion = Buffer.from(vector.assertion);
    assertion[assertion.length - 1] = (assertion[assertion.length - 1] as number) ^ 0x02;

    // Act / Assess
    expect(outcomeOf(() => verifyAppAttestAssertion(inputFor(vector, { assertion })))).toBe('bad_signature');
  });

  it.each([
    ['an assertion over 2 KiB', { assertion: new Uint8Array(2 * 1024 + 1) }],
    ['an assertion that is not CBOR', { assertion: new Uint8Array([0xff, 0x00]) }],
    ['an RSA key', { publicKeyJwk: rsaJwk }],
    ['a JWK that is not a key', { publicKeyJwk: { kty: 'EC' } }],
    ['a negative previousCounter', { previousCounter: -1 }],
    ['a fractional previousCounter', { previousCounter: 0.5 }],
  ])('refuses %s as malformed', (_what, overrides) => {
    const [vector] = vectors as [AppleVector];
    expect(outcomeOf(() => verifyAppAttestAssertion(inputFor(vector, overrides)))).toBe('malformed');
  });
});
