/**
 * @attestor/hardware/testing: a test authority that issues App Attest and Android Key Attestation
 * evidence in the real formats from freshly generated roots, for end-to-end tests and CI.
 * Never trust its roots in production: anyone holding the authority can mint any evidence.
 */
import { createAndroidIssuer, type AndroidTestIssuer } from './android';
import { createAppAttestIssuer, type AppAttestTestIssuer } from './app-attest';
import type { ValidityWindow } from './types';

export type { AndroidAttestRequest, AndroidTestIssuer } from './android';
export type {
  AppAttestAssertRequest,
  AppAttestAttestRequest,
  AppAttestAttestResult,
  AppAttestTestIssuer,
} from './app-attest';
export type { KeyPair, TestRoot } from './types';

export interface TestAuthority {
  readonly appAttest: AppAttestTestIssuer;
  readonly android: AndroidTestIssuer;
}

export interface TestAuthorityOptions {
  /** The clock the certificates are dated from (default: now). */
  readonly now?: Date;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/**
 * Creates a test authority with a new P-256 root per platform. Pass `authority.appAttest.root`
 * or `authority.android.root` (DER or PEM) as `roots` to the verifiers to trust it.
 *
 * Dates follow the real services: roots valid ten years, intermediates one year, App Attest
 * credential certificates three days, Android leaves 1970-2048; all start an hour before `now`.
 *
 * @example
 * ```ts
 * const authority = createTestAuthority();
 * const { keyId, attestation, keyPair } = authority.appAttest.attest({
 *   appId: 'TEAMID1234.com.example.app', clientDataHash, environment: 'development',
 * });
 * verifyAppAttestAttestation({
 *   attestation, keyId, clientDataHash, appId: 'TEAMID1234.com.example.app',
 *   environments: ['development'], now: new Date(), roots: [authority.appAttest.root.der],
 * });
 * ```
 */
export function createTestAuthority(options: TestAuthorityOptions = {}): TestAuthority {
  const now = options.now ?? new Date();
  const start = new Date(now.getTime() - HOUR);
  const window: ValidityWindow = {
    root: { notBefore: start, notAfter: new Date(now.getTime() + 3650 * DAY) },
    intermediate: { notBefore: start, notAfter: new Date(now.getTime() + 365 * DAY) },
    leaf: { notBefore: start, notAfter: new Date(now.getTime() + 3 * DAY) },
  };
  return { appAttest: createAppAttestIssuer(window), android: createAndroidIssuer(window, now) };
}
