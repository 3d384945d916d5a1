/**
 * The cryptographic half of hardware evidence: @attestor/hardware's verifiers, with its error codes
 * mapped to attest's reasons (PROTOCOL.md §5.5). This module and its parsers (asn1js and the
 * @peculiar ASN.1 schemas, about 180 KB minified) are loaded only when a request carries evidence
 * that needs them (./judge.ts, loadVerifier), and the attest bundle keeps them in a file of their
 * own (packages/cdk/scripts/build-functions.ts), so attestations without evidence never pay for them.
 */
import {
  APPLE_APP_ATTESTATION_ROOT_CA,
  GOOGLE_KEY_ATTESTATION_ROOTS,
  HardwareAttestationError,
  verifyAndroidKeyAttestation,
  verifyAppAttestAssertion,
  verifyAppAttestAttestation,
  type HardwareErrorCode,
} from '@attestor/hardware';
import type { AndroidSecurityLevel, AppAttestEnvironment } from '@attestor/contracts/admin-api';
import type { InstallPublicJwk } from '@attestor/contracts/protocol';
import type { HardwareReason } from './reasons';
import type { AndroidKeyRecord } from './ports';

export type Verified<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: HardwareReason };

/** Where a failure happened decides what a counter failure means: replay for assertions, a bad object for attestations. */
type Step = 'attestation' | 'assertion' | 'chain';

/** @attestor/hardware's stable codes as attest's reasons; the verifiers throw nothing else. */
export function reasonOf(code: HardwareErrorCode, step: Step): HardwareReason {
  switch (code) {
    case 'untrusted_chain':
    case 'expired':
      return 'hardware_untrusted';
    case 'revoked':
      return 'hardware_revoked';
    case 'app_mismatch':
      return 'hardware_app_mismatch';
    case 'environment_not_allowed':
      return 'hardware_policy';
    case 'counter_invalid':
      // An assertion whose counter does not grow is a replay; an attestation whose counter is not 0 is not an attestation.
      return step === 'assertion' ? 'hardware_counter_replay' : 'hardware_invalid';
    case 'malformed':
    case 'extension_missing':
    case 'challenge_mismatch':
    case 'key_mismatch':
    case 'bad_signature':
      return 'hardware_invalid';
    default: {
      const unknown: never = code;
      throw new Error(`unknown hardware error code ${String(unknown)}`);
    }
  }
}

function attempt<T>(step: Step, verify: () => T): Verified<T> {
  try {
    return { ok: true, value: verify() };
  } catch (error) {
    if (error instanceof HardwareAttestationError) return { ok: false, reason: reasonOf(error.code, step) };
    throw error;
  }
}

/** The P-256 JWK an App Attest key or a Keystore EC key certificate holds, in install-key form; undefined for any other key. */
function p256(jwk: { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown }): InstallPublicJwk | undefined {
  return jwk.kty === 'EC' && jwk.crv === 'P-256' && typeof jwk.x === 'string' && typeof jwk.y === 'string'
    ? { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
    : undefined;
}

export interface AppAttestKeyFacts {
  readonly publicKey: InstallPublicJwk;
  readonly environment: AppAttestEnvironment;
  readonly receipt: Uint8Array;
}

export function verifyAppAttestKey(input: {
  readonly attestation: Uint8Array;
  readonly keyId: Uint8Array;
  readonly clientDataHash: Uint8Array;
  readonly rpId: string;
  readonly environments: readonly AppAttestEnvironment[];
  readonly now: Date;
  readonly testRoots?: readonly string[];
}): Verified<AppAttestKeyFacts> {
  return attempt('attestation', () => {
    const verified = verifyAppAttestAttestation({
      attestation: input.attestation,
      keyId: input.keyId,
      clientDataHash: input.clientDataHash,
      appId: input.rpId,
      environments: input.environments,
      now: input.now,
      ...(input.testRoots?.length ? { roots: [APPLE_APP_ATTESTATION_ROOT_CA, ...input.testRoots] } : {}),
    });
    const publicKey = p256(verified.publicKeyJwk);
    // verifyAppAttestAttestation accepts P-256 keys only; this keeps the type honest.
    if (!publicKey) throw new HardwareAttestationError('malformed', 'the attested key is not P-256');
    return { publicKey, environment: verified.environment, receipt: verified.receipt };
  });
}

export function verifyAppAttestAssertionOf(input: {
  readonly assertion: Uint8Array;
  readonly clientDataHash: Uint8Array;
  readonly rpId: string;
  readonly publicKey: InstallPublicJwk;
  readonly previousCounter: number;
}): Verified<{ readonly counter: number }> {
  return attempt('assertion', () =>
    verifyAppAttestAssertion({
      assertion: input.assertion,
      clientDataHash: input.clientDataHash,
      appId: input.rpId,
      publicKeyJwk: { ...input.publicKey },
      previousCounter: input.previousCounter,
    }),
  );
}

/** What an Android chain attested, as the device record keeps it, and the key it attested. */
export type AndroidKeyFacts = Pick<
  AndroidKeyRecord,
  'securityLevel' | 'verifiedBootState' | 'deviceLocked' | 'osPatchLevel' | 'osVersion' | 'packageName' | 'signatureDigests' | 'versionCode'
> & { readonly publicKey: InstallPublicJwk | undefined };

const LEVELS: Readonly<Record<string, AndroidSecurityLevel>> = { SOFTWARE: 'software', TRUSTED_ENVIRONMENT: 'tee', STRONG_BOX: 'strongbox' };
const RANK: Readonly<Record<AndroidSecurityLevel, number>> = { software: 0, tee: 1, strongbox: 2 };

export function verifyAndroidChain(input: {
  readonly chain: readonly Uint8Array[];
  readonly challenge: Uint8Array;
  readonly now: Date;
  readonly revokedSerials: ReadonlySet<string>;
  readonly packageName: string;
  readonly signatureDigests: readonly Uint8Array[];
  readonly testRoots?: readonly string[];
}): Verified<AndroidKeyFacts> {
  return attempt('chain', () => {
    const verified = verifyAndroidKeyAttestation({
      chain: input.chain,
      challenge: input.challenge,
      now: input.now,
      revokedSerials: input.revokedSerials,
      packageName: input.packageName,
      signatureDigests: input.signatureDigests,
      ...(input.testRoots?.length ? { roots: [...GOOGLE_KEY_ATTESTATION_ROOTS, ...input.testRoots] } : {}),
    });
    // The key lives at the KeyMint level and is vouched for at the attestation level: the weaker one counts.
    const levels = [verified.attestationSecurityLevel, verified.keymasterSecurityLevel].map((name) => LEVELS[name] ?? 'software');
    const securityLevel = levels.reduce((a, b) => (RANK[a] <= RANK[b] ? a : b));
    return {
      publicKey: p256(verified.publicKeyJwk),
      securityLevel,
      verifiedBootState: verified.rootOfTrust.verifiedBootState,
      deviceLocked: verified.rootOfTrust.deviceLocked,
      osPatchLevel: verified.osPatchLevel,
      osVersion: verified.osVersion,
      packageName: input.packageName,
      signatureDigests: verified.signatureDigests.map((digest) => Buffer.from(digest).toString('hex')),
      ...(verified.versionCode !== undefined ? { versionCode: verified.versionCode } : {}),
    };
  });
}
