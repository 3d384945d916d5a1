import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { bytesEqual, sha256 } from '../bytes';
import { attempt, guarded, refuse } from '../errors';
import { requireBytes, requireCounter, requireString } from '../input';
import { readAuthenticatorData } from './authenticator-data';
import { cborBytes, decodeCborMap } from './cbor';
import type { AppAttestAssertionInput, VerifiedAppAttestAssertion } from './types';

export const MAX_ASSERTION_BYTES = 2 * 1024;

/**
 * Verifies an App Attest assertion with the key stored from the attestation, following Apple's
 * "Verify the assertion" steps, and returns the new counter to store.
 *
 * Proves: the attested key signed `clientDataHash` for `appId`, after every assertion counted up
 * to `previousCounter`. Does not prove: that the client data holds a fresh challenge (compare it
 * yourself), nor anything unless the caller stores the returned counter atomically, refusing
 * concurrent assertions with the same counter.
 *
 * The signature is ECDSA P-256 with SHA-256 over nonce = SHA-256(authenticatorData ||
 * clientDataHash), so the digest signed is SHA-256(nonce); the real iOS vectors confirm it.
 *
 * @throws {@link HardwareAttestationError} with a code from {@link HARDWARE_ERROR_CODES}.
 * @example
 * ```ts
 * const stored = await keys.get(keyId);
 * const { counter } = verifyAppAttestAssertion({
 *   assertion: Buffer.from(header, 'base64'),
 *   clientDataHash: createHash('sha256').update(requestBody).digest(),
 *   appId: '6MURL8TA57.com.example.app',
 *   publicKeyJwk: stored.jwk,
 *   previousCounter: stored.counter,
 * });
 * await keys.compareAndSetCounter(keyId, stored.counter, counter);
 * ```
 */
export function verifyAppAttestAssertion(input: AppAttestAssertionInput): VerifiedAppAttestAssertion {
  return guarded(() => followApplesAssertionSteps(input));
}

function followApplesAssertionSteps(input: AppAttestAssertionInput): VerifiedAppAttestAssertion {
  const assertion = requireBytes(input.assertion, 'assertion', { max: MAX_ASSERTION_BYTES });
  const clientDataHash = requireBytes(input.clientDataHash, 'clientDataHash', { min: 32, max: 32 });
  const appId = requireString(input.appId, 'appId');
  const previousCounter = requireCounter(input.previousCounter, 'previousCounter');
  const key = p256Key(input.publicKeyJwk);

  const object = decodeCborMap(assertion, 'assertion');
  const signature = cborBytes(object, 'signature', 'assertion');
  const authenticatorData = cborBytes(object, 'authenticatorData', 'assertion');
  const authenticator = readAuthenticatorData(authenticatorData);

  // Steps 1-3: the stored key signed nonce = SHA-256(authenticatorData || clientDataHash).
  const nonce = sha256(authenticatorData, clientDataHash);
  const valid = attempt('bad_signature', 'the assertion signature is not a valid ECDSA signature', () =>
    verify('sha256', nonce, { key, dsaEncoding: 'der' }, signature),
  );
  if (!valid) refuse('bad_signature', 'the assertion signature does not verify with the stored key');

  // Step 4: the RP ID is the App ID.
  if (!bytesEqual(authenticator.rpIdHash, sha256(Buffer.from(appId, 'utf8')))) {
    refuse('app_mismatch', `the assertion was made for another app than ${appId}`);
  }
  // Step 5: the counter only grows, so a replayed assertion is refused.
  if (authenticator.counter <= previousCounter) {
    refuse('counter_invalid', `the assertion counter ${authenticator.counter} is not above ${previousCounter}`);
  }
  return { counter: authenticator.counter };
}

function p256Key(jwk: unknown): KeyObject {
  const key = attempt('malformed', 'publicKeyJwk is not a valid JWK', () =>
    createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
  );
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    refuse('malformed', 'publicKeyJwk is not a P-256 public key');
  }
  return key;
}
