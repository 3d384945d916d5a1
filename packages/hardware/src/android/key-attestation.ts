import type { JsonWebKey } from 'node:crypto';
import { bytesEqual, copyBytes } from '../bytes';
import { guarded, refuse } from '../errors';
import { requireBytes, requireDate } from '../input';
import { GOOGLE_KEY_ATTESTATION_ROOTS } from '../roots';
import { lazyAnchors, loadAnchors, type TrustAnchor } from '../x509/anchors';
import { extensionValue, normalizeSerial, parseCertificate, publicKeyJwk } from '../x509/certificate';
import { verifyChain } from '../x509/chain';
import { decodeKeyDescription, KEY_DESCRIPTION_OID } from './key-description';
import type {
  AuthorizationListRecord,
  KeyDescriptionRecord,
  SecurityLevelName,
  VerifiedBootStateName,
} from './record';

/** Real chains hold 3 to 5 certificates; anything much longer is not a device's. */
export const MAX_CHAIN_LENGTH = 10;
/** KeyMint refuses attestation challenges longer than 128 bytes. */
export const MAX_CHALLENGE_BYTES = 128;

export interface AndroidKeyAttestationInput {
  /** `KeyStore.getCertificateChain()` as DER, leaf first. */
  readonly chain: readonly Uint8Array[];
  /** The challenge the server issued for `setAttestationChallenge`. */
  readonly challenge: Uint8Array;
  readonly now: Date;
  /** Serials from Google's attestation status list (lower-case hex without leading zeros). */
  readonly revokedSerials?: Iterable<string>;
  /** Trust anchors to use instead of Google's pinned roots. */
  readonly roots?: readonly TrustAnchor[];
  /** When given, refuse with `app_mismatch` unless this package is among the attested ones. */
  readonly packageName?: string;
  /**
   * When given, refuse with `app_mismatch` unless the app is signed, and signed only, by
   * certificates whose SHA-256 digests are in this list (add the old and new digests while rotating).
   */
  readonly signatureDigests?: readonly Uint8Array[];
}

export interface AndroidRootOfTrust {
  readonly verifiedBootKey: Uint8Array;
  readonly deviceLocked: boolean;
  readonly verifiedBootState: VerifiedBootStateName;
  readonly verifiedBootHash?: Uint8Array;
}

export interface AndroidPackage {
  readonly name: string;
  readonly version: number;
}

export interface VerifiedAndroidKeyAttestation {
  /** The attested key: EC or RSA as usual, ML-DSA as `{ kty: 'AKP', alg, pub }`. */
  readonly publicKeyJwk: JsonWebKey;
  readonly attestationSecurityLevel: SecurityLevelName;
  /** The KeyMint (Keymaster) security level; the record calls it keyMintSecurityLevel. */
  readonly keymasterSecurityLevel: SecurityLevelName;
  readonly attestationChallenge: Uint8Array;
  /** Packages sharing the calling UID; one for ordinary apps. */
  readonly packages: readonly AndroidPackage[];
  /** SHA-256 digests of the APK signing certificates, as raw 32-byte arrays. */
  readonly signatureDigests: readonly Uint8Array[];
  /** The version code, when exactly one package is attested. */
  readonly versionCode?: number;
  readonly rootOfTrust: AndroidRootOfTrust;
  /** e.g. 140000 for Android 14; 0 when the secure hardware did not report it. */
  readonly osVersion: number;
  /** yyyyMM, e.g. 202408; 0 when the secure hardware did not report a valid one. */
  readonly osPatchLevel: number;
  /** The whole attestation record, for policies on fields not lifted out above. */
  readonly keyDescription: KeyDescriptionRecord;
}

const googleAnchors = lazyAnchors(GOOGLE_KEY_ATTESTATION_ROOTS);

/**
 * Verifies an Android Key Attestation certificate chain and returns what the secure hardware
 * attested about the key, the app and the device.
 *
 * Proves: the leaf key was generated in (or imported into) Android secure hardware whose
 * attestation chain leads to Google's root keys, none revoked, all below the root valid at `now`,
 * in answer to `challenge`, for the app (and signing certificates) named in the record, which
 * `packageName` and `signatureDigests` check when given. Does not prove: anything else a caller
 * policy must decide, such as which security levels, boot states or patch levels to accept (a
 * SOFTWARE attestation level is returned, not refused); nor freshness unless the caller issued
 * `challenge` once and checks it here once.
 *
 * @throws {@link HardwareAttestationError} with a code from {@link HARDWARE_ERROR_CODES}.
 * @example
 * ```ts
 * const attested = verifyAndroidKeyAttestation({
 *   chain: body.chain.map((b64: string) => Buffer.from(b64, 'base64')),
 *   challenge,
 *   now: new Date(),
 *   revokedSerials: Object.keys(statusList.entries),
 * });
 * if (attested.packages[0]?.name !== 'com.example.app') throw new Error('wrong app');
 * ```
 */
export function verifyAndroidKeyAttestation(input: AndroidKeyAttestationInput): VerifiedAndroidKeyAttestation {
  return guarded(() => verifyKeyAttestation(input));
}

function verifyKeyAttestation(input: AndroidKeyAttestationInput): VerifiedAndroidKeyAttestation {
  const challenge = requireBytes(input.challenge, 'challenge', { max: MAX_CHALLENGE_BYTES });
  const now = requireDate(input.now, 'now');
  if (!Array.isArray(input.chain) || input.chain.length < 2 || input.chain.length > MAX_CHAIN_LENGTH) {
    refuse('malformed', `chain must hold 2 to ${MAX_CHAIN_LENGTH} certificates`);
  }
  const certs = input.chain.map((der, index) => parseCertificate(der, `chain[${index}]`));
  const anchors = input.roots === undefined ? googleAnchors() : loadAnchors(input.roots);
  const revokedSerials = new Set([...(input.revokedSerials ?? [])].map((serial) => normalizeSerial(String(serial))));

  const { belowRoot } = verifyChain(certs, { anchors, now, strictIssuers: false, revokedSerials });
  const [leaf, ...issuers] = belowRoot;
  if (!leaf) return refuse('malformed', 'chain has no leaf');
  // A key that may sign certificates could otherwise extend a real chain with a forged record.
  if (issuers.some((cert) => extensionValue(cert, KEY_DESCRIPTION_OID))) {
    refuse('untrusted_chain', 'a certificate above the leaf carries a KeyDescription extension');
  }

  const { record, canonical } = decodeKeyDescription(leaf);
  if (!canonical) refuse('malformed', 'the KeyDescription extension is not DER (non-canonical encoding or tag order)');
  if (!bytesEqual(Buffer.from(record.attestationChallenge, 'base64'), challenge)) {
    refuse('challenge_mismatch', 'the attestation challenge is not the one issued');
  }

  const hardware = record.hardwareEnforced;
  const application = hardware.attestationApplicationId ?? record.softwareEnforced.attestationApplicationId;
  if (!application) refuse('malformed', 'the record has no attestationApplicationId');
  const packages = application.packages.map(({ name, version }) => ({
    name,
    version: safeInteger(version, 'version'),
  }));
  const signatureDigests = application.signatures.map((digest) => copyBytes(Buffer.from(digest, 'base64')));
  checkApp(input, packages, signatureDigests);

  return {
    publicKeyJwk: publicKeyJwk(leaf),
    attestationSecurityLevel: record.attestationSecurityLevel,
    keymasterSecurityLevel: record.keyMintSecurityLevel,
    attestationChallenge: copyBytes(challenge),
    packages,
    signatureDigests,
    ...(packages.length === 1 && packages[0] ? { versionCode: packages[0].version } : {}),
    rootOfTrust: rootOfTrust(hardware),
    osVersion: safeInteger(hardware.osVersion ?? '0', 'osVersion'),
    osPatchLevel: safeInteger(hardware.osPatchLevel ?? '0', 'osPatchLevel'),
    keyDescription: record,
  };
}

function checkApp(
  input: AndroidKeyAttestationInput,
  packages: readonly AndroidPackage[],
  signatureDigests: readonly Uint8Array[],
): void {
  if (input.packageName !== undefined && !packages.some((p) => p.name === input.packageName)) {
    refuse('app_mismatch', `the key was attested for ${packages.map((p) => p.name).join(', ')}`);
  }
  if (input.signatureDigests !== undefined) {
    const allowed = input.signatureDigests.map((digest) => requireBytes(digest, 'signatureDigests[]', { max: 64 }));
    const signedByAllowed = signatureDigests.every((digest) => allowed.some((ok) => bytesEqual(ok, digest)));
    if (signatureDigests.length === 0 || !signedByAllowed) {
      refuse('app_mismatch', 'the app is not signed only by the expected signing certificates');
    }
  }
}

function rootOfTrust(hardware: AuthorizationListRecord): AndroidRootOfTrust {
  const root = hardware.rootOfTrust;
  // Only the secure hardware can vouch for the boot state; a software-enforced copy proves nothing.
  if (!root) return refuse('malformed', 'hardwareEnforced has no rootOfTrust');
  return {
    verifiedBootKey: copyBytes(Buffer.from(root.verifiedBootKey, 'base64')),
    deviceLocked: root.deviceLocked,
    verifiedBootState: root.verifiedBootState,
    ...(root.verifiedBootHash === undefined
      ? {}
      : { verifiedBootHash: copyBytes(Buffer.from(root.verifiedBootHash, 'base64')) }),
  };
}

function safeInteger(decimal: string, what: string): number {
  const value = Number(decimal);
  if (!Number.isSafeInteger(value)) refuse('malformed', `${what} ${decimal} is not a safe integer`);
  return value;
}
