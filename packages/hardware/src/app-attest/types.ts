import type { JsonWebKey } from 'node:crypto';
import type { TrustAnchor } from '../x509/anchors';

/** The App Attest environment, named by the attestation's aaguid. */
export type AppAttestEnvironment = 'production' | 'development';

export interface AppAttestAttestationInput {
  /** The CBOR attestation object from `DCAppAttestService.attestKey` (at most 16 KiB). */
  readonly attestation: Uint8Array;
  /** The 32-byte key identifier from `generateKey` (base64-decoded). */
  readonly keyId: Uint8Array;
  /** The 32-byte SHA-256 of the client data the app passed to `attestKey`. */
  readonly clientDataHash: Uint8Array;
  /** `teamId.bundleId`, e.g. `6MURL8TA57.com.example.app`. */
  readonly appId: string;
  /** The environments to accept; production and development keys are not interchangeable. */
  readonly environments: readonly AppAttestEnvironment[];
  /** The time at which certificates must be valid. */
  readonly now: Date;
  /** Trust anchors to use instead of the pinned Apple App Attestation Root CA. */
  readonly roots?: readonly TrustAnchor[];
}

export interface VerifiedAppAttestAttestation {
  /** The verified 32-byte key identifier (SHA-256 of the uncompressed public key point). */
  readonly keyId: Uint8Array;
  /** The attested P-256 public key; store it to verify later assertions. */
  readonly publicKeyJwk: JsonWebKey;
  readonly environment: AppAttestEnvironment;
  /** Apple's receipt, returned unverified, for the fraud-metric exchange with Apple. */
  readonly receipt: Uint8Array;
  /** Always 0 for an attestation; store it as the starting `previousCounter`. */
  readonly counter: number;
}

export interface AppAttestAssertionInput {
  /** The CBOR assertion from `DCAppAttestService.generateAssertion` (at most 2 KiB). */
  readonly assertion: Uint8Array;
  /** The 32-byte SHA-256 of the client data the app passed to `generateAssertion`. */
  readonly clientDataHash: Uint8Array;
  readonly appId: string;
  /** The key returned by {@link verifyAppAttestAttestation} for this keyId. */
  readonly publicKeyJwk: JsonWebKey;
  /** The highest counter accepted so far for this key (0 after the attestation). */
  readonly previousCounter: number;
}

export interface VerifiedAppAttestAssertion {
  /** The assertion's counter; store it as the next `previousCounter`. */
  readonly counter: number;
}
