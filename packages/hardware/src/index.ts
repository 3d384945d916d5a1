/**
 * @attestor/hardware: verifies hardware attestation evidence from Apple App Attest and Android
 * Key Attestation. No I/O, no state: callers pass what they stored and store what is returned.
 */
export { HARDWARE_ERROR_CODES, HardwareAttestationError, type HardwareErrorCode } from './errors';
export { APPLE_APP_ATTESTATION_ROOT_CA, GOOGLE_KEY_ATTESTATION_ROOTS } from './roots';
export type { TrustAnchor } from './x509/anchors';

export { verifyAppAttestAttestation, MAX_ATTESTATION_BYTES } from './app-attest/attestation';
export { verifyAppAttestAssertion, MAX_ASSERTION_BYTES } from './app-attest/assertion';
export type {
  AppAttestAssertionInput,
  AppAttestAttestationInput,
  AppAttestEnvironment,
  VerifiedAppAttestAssertion,
  VerifiedAppAttestAttestation,
} from './app-attest/types';

export {
  verifyAndroidKeyAttestation,
  MAX_CHAIN_LENGTH,
  MAX_CHALLENGE_BYTES,
  type AndroidKeyAttestationInput,
  type AndroidPackage,
  type AndroidRootOfTrust,
  type VerifiedAndroidKeyAttestation,
} from './android/key-attestation';
export { parseAndroidKeyDescription, KEY_DESCRIPTION_OID } from './android/key-description';
export type {
  AttestationApplicationIdRecord,
  AuthorizationListRecord,
  KeyDescriptionRecord,
  OriginName,
  RootOfTrustRecord,
  SecurityLevelName,
  VerifiedBootStateName,
} from './android/record';
