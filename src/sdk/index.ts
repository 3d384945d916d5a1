/**
 * Attestor SDK, portable core. Runs wherever WebCrypto (`globalThis.crypto.subtle`), `fetch` and
 * TextEncoder exist: Node 20+, Electron, React Native with a WebCrypto polyfill. Node-only helpers
 * (streaming file digests, a file key store) live in ./node so this entry point never pulls them in.
 */
export { AttestorClient } from './client';
export type { AttestationResult, AttestOptions, AttestorClientOptions, DeviceInfo, DeviceSignals, SignalProvider } from './client';
export { AttestorError } from './errors';
export type { AttestorErrorCode } from './errors';
export { isStoredInstallKey, loadOrCreateInstallKey, memoryKeyStore } from './install-key';
export type { InstallKey, KeyStore, StoredInstallKey } from './install-key';
export { bytesPackageSource } from './package-source';
export type { PackageSource } from './package-source';
export {
  computeMeasurement,
  decodeB64u,
  encodeB64u,
  INSTALL_PROOF_LABEL,
  installProofMessage,
  jwkThumbprint,
  MEASUREMENT_LABEL,
  measurementMessage,
  NONCE_BYTES,
  sha256,
  signInstallProof,
  TOKEN_HEADER,
  verifyInstallProof,
} from './protocol';
export type { InstallPublicJwk } from './protocol';
export { SDK_VERSION } from './version';
