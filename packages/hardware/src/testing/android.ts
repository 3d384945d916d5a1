import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  AttestationApplicationId,
  AttestationPackageInfo,
  AuthorizationList,
  IntegerSet,
  KeyMintKeyDescription,
  RootOfTrust,
  SecurityLevel,
  VerifiedBootState,
  id_ce_keyDescription,
} from '@peculiar/asn1-android';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import type { SecurityLevelName, VerifiedBootStateName } from '../android/record';
import { issueCertificate, toPem, type IssuedCertificate } from './certificates';
import type { TestRoot, ValidityWindow } from './types';

export interface AndroidAttestRequest {
  /** The install key the app generated: an EC P-256 public key. */
  readonly publicKey: KeyObject;
  readonly challenge: Uint8Array;
  readonly packageName: string;
  readonly versionCode: number;
  /** SHA-256 digests of the APK signing certificates. */
  readonly signatureDigests: readonly Uint8Array[];
  readonly securityLevel: SecurityLevelName;
  readonly rootOfTrust?: {
    readonly verifiedBootKey?: Uint8Array;
    readonly deviceLocked?: boolean;
    readonly verifiedBootState?: VerifiedBootStateName;
    readonly verifiedBootHash?: Uint8Array;
  };
  /** e.g. 150000 for Android 15 (the default). */
  readonly osVersion?: number;
  /** yyyyMM (default 202509). */
  readonly osPatchLevel?: number;
  /** Hex serial of the attestation certificate (the one above the leaf), to test revocation. */
  readonly serial?: string;
}

/** Issues Android Key Attestation chains the way KeyMint and Google's CA would, from a test root. */
export interface AndroidTestIssuer {
  readonly root: TestRoot;
  /**
   * Returns a chain, leaf first: the leaf certifying `publicKey` with a KeyDescription extension,
   * the attestation certificate that signed it, and the root.
   *
   * @example
   * ```ts
   * const chain = authority.android.attest({
   *   publicKey: installKey.publicKey, challenge, packageName: 'com.example.app', versionCode: 42,
   *   signatureDigests: [releaseDigest], securityLevel: 'STRONG_BOX',
   * });
   * ```
   */
  attest(request: AndroidAttestRequest): Uint8Array[];
}

const SECURITY_LEVELS: Readonly<Record<SecurityLevelName, SecurityLevel>> = {
  SOFTWARE: SecurityLevel.software,
  TRUSTED_ENVIRONMENT: SecurityLevel.trustedEnvironment,
  STRONG_BOX: SecurityLevel.strongBox,
};
const BOOT_STATES: Readonly<Record<VerifiedBootStateName, VerifiedBootState>> = {
  VERIFIED: VerifiedBootState.verified,
  SELF_SIGNED: VerifiedBootState.selfSigned,
  UNVERIFIED: VerifiedBootState.unverified,
  FAILED: VerifiedBootState.failed,
};
/** KeyMint 3 (Android 14), the layout most devices in the field send. */
const KEYMINT_VERSION = 300;
/** Real leaves carry these dates: the device clock is not trusted to set them. */
const LEAF_VALIDITY = { notBefore: new Date('1970-01-01T00:00:00Z'), notAfter: new Date('2048-01-01T00:00:00Z') };

export function createAndroidIssuer(window: ValidityWindow, now: Date): AndroidTestIssuer {
  const rootKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const root = issueCertificate({
    commonName: 'Attestor Test Key Attestation Root',
    organization: 'Attestor test authority',
    publicKey: rootKeys.publicKey,
    privateKey: rootKeys.privateKey,
    ...window.root,
    ca: true,
  });

  return {
    root: { der: root.der, pem: toPem(root.der) },
    attest(request) {
      const attestationKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const attestationCert: IssuedCertificate = issueCertificate({
        commonName: 'Attestor Test Attestation Key',
        organization: request.securityLevel === 'STRONG_BOX' ? 'StrongBox' : 'TEE',
        publicKey: attestationKeys.publicKey,
        issuer: { name: root.name, privateKey: rootKeys.privateKey },
        ...window.intermediate,
        ca: true,
        ...(request.serial === undefined ? {} : { serialHex: request.serial }),
      });
      const leaf = issueCertificate({
        commonName: 'Android Keystore Key',
        publicKey: request.publicKey,
        issuer: { name: attestationCert.name, privateKey: attestationKeys.privateKey },
        ...LEAF_VALIDITY,
        serialHex: '01',
        ca: false,
        extraExtensions: [{ oid: id_ce_keyDescription, value: keyDescription(request, now) }],
      });
      return [leaf.der, attestationCert.der, root.der];
    },
  };
}

/** The KeyDescription extension value, encoded with @peculiar/asn1-android's KeyMint schema. */
function keyDescription(request: AndroidAttestRequest, now: Date): Uint8Array {
  const level = SECURITY_LEVELS[request.securityLevel];
  const trust = request.rootOfTrust ?? {};
  const osPatchLevel = request.osPatchLevel ?? 202509;
  const application = new AttestationApplicationId({
    packageInfos: [
      new AttestationPackageInfo({
        packageName: octets(Buffer.from(request.packageName, 'utf8')),
        version: request.versionCode,
      }),
    ],
    signatureDigests: request.signatureDigests.map(octets),
  });
  const description = new KeyMintKeyDescription({
    attestationVersion: KEYMINT_VERSION,
    attestationSecurityLevel: level,
    keyMintVersion: KEYMINT_VERSION,
    keyMintSecurityLevel: level,
    attestationChallenge: new OctetString(request.challenge),
    uniqueId: new OctetString(0),
    softwareEnforced: new AuthorizationList({
      creationDateTime: now.getTime(),
      attestationApplicationId: new OctetString(AsnConvert.serialize(application)),
    }),
    hardwareEnforced: new AuthorizationList({
      purpose: new IntegerSet([2]), // SIGN
      algorithm: 3, // EC
      keySize: 256,
      digest: new IntegerSet([4]), // SHA-2 256
      ecCurve: 1, // P-256
      noAuthRequired: null,
      origin: 0, // GENERATED
      rootOfTrust: new RootOfTrust({
        verifiedBootKey: new OctetString(trust.verifiedBootKey ?? Buffer.alloc(32, 0xb0)),
        deviceLocked: trust.deviceLocked ?? true,
        verifiedBootState: BOOT_STATES[trust.verifiedBootState ?? 'VERIFIED'],
        verifiedBootHash: new OctetString(trust.verifiedBootHash ?? Buffer.alloc(32, 0xb1)),
      }),
      osVersion: request.osVersion ?? 150000,
      osPatchLevel,
      vendorPatchLevel: osPatchLevel * 100 + 1,
      bootPatchLevel: osPatchLevel * 100 + 1,
    }),
  });
  return new Uint8Array(AsnConvert.serialize(description));
}

/** asn1-android declares these fields as OctetString but its schema encodes raw bytes. */
function octets(bytes: Uint8Array): OctetString {
  return bytes as unknown as OctetString;
}
