/**
 * Attestor SDK, portable core (`@attestor/sdk`). Runs wherever WebCrypto
 * (`globalThis.crypto.subtle`), `fetch` and TextEncoder exist: Node 20+, Electron, React Native
 * with a WebCrypto polyfill. Node-only helpers (streaming file digests, a file key store, the Node
 * signal provider) live in ./node (`@attestor/sdk/node`), so this entry point never pulls them in.
 * docs/SDK.md is the guide.
 */
export { AttestorClient } from './client';
export type { TokenOptions } from './client';
export type { AttestorClientStatus, AttestorEvent, AttestorStatus, HardwareKeyReason } from './events';
export { attestorStatusOf, STATUS_HEADER } from './fetch';
export type { AttestorRequestInit, RequestAttestation } from './fetch';
export type { AttestorClientOptions } from './options';
export { AttestorError } from './errors';
export type { AttestorErrorCode } from './errors';
export { isHardwareKeyRecord, memoryHardwareKeyStore } from './hardware';
export type {
  AndroidKeyAttestation,
  AndroidKeyAttestationProvider,
  AppAttestKeyAttestation,
  AppAttestProvider,
  HardwareKeyRecord,
  HardwareKeyStore,
  HardwareProvider,
} from './hardware';
export { hostAllowed, parseHostRule } from './hosts';
export type { HostRule } from './hosts';
export { isInstallPublicJwk, isStoredInstallKey, loadOrCreateInstallKey, memoryKeyStore, resolveInstallKey } from './install-key';
export type { InstallKey, InstallKeyOutcome, KeyStore, PlatformInstallKey, ResolvedInstallKey, StoredInstallKey } from './install-key';
export { bytesPackageSource } from './package-source';
export type { PackageSource } from './package-source';
export { createRequestProof, proofTargetUri } from './proof';
export type { ProofRequest } from './proof';
export {
  androidAttestationChallenge,
  androidChallengeMessage,
  appAttestClientData,
  appAttestClientDataHash,
  computeMeasurement,
  decodeB64u,
  encodeB64u,
  installProofMessage,
  jwkThumbprint,
  measurementMessage,
  sha256,
  signInstallProof,
  verifyInstallProof,
} from './protocol';
// The protocol's constants, from the one module the server uses too (bundled into this package).
export {
  DEFAULT_HARDWARE_KEY_MAX_AGE_DAYS,
  HARDWARE_LABEL,
  INSTALL_PROOF_LABEL,
  MEASUREMENT_LABEL,
  NONCE_BYTES,
  PROOF_HEADER_NAME,
  PROOF_TYPE,
  TOKEN_HEADER_NAME,
  type HardwareEvidence,
  type HardwarePlatform,
  type InstallPublicJwk,
} from '@attestor/contracts/protocol';
export type { CircuitOptions, CircuitState, RetryOptions } from './resilience';
export { NO_SIGNALS, readSignals } from './signals';
export type { DeviceInfo, DeviceSignals, SignalProvider } from './signals';
export { SDK_VERSION } from './version';
