/**
 * The attestation record in the JSON shape of android/keyattestation's test data (its Gson
 * rendering of KeyDescription): integers as decimal strings, bytes as padded base64, enums by
 * name, absent fields left out.
 */
export interface KeyDescriptionRecord {
  attestationVersion: string;
  attestationSecurityLevel: SecurityLevelName;
  keyMintVersion: string;
  keyMintSecurityLevel: SecurityLevelName;
  attestationChallenge: string;
  uniqueId: string;
  softwareEnforced: AuthorizationListRecord;
  hardwareEnforced: AuthorizationListRecord;
}

export type SecurityLevelName = 'SOFTWARE' | 'TRUSTED_ENVIRONMENT' | 'STRONG_BOX';
export type VerifiedBootStateName = 'VERIFIED' | 'SELF_SIGNED' | 'UNVERIFIED' | 'FAILED';
export type OriginName = 'GENERATED' | 'DERIVED' | 'IMPORTED' | 'RESERVED' | 'SECURELY_IMPORTED';

export interface RootOfTrustRecord {
  verifiedBootKey: string;
  deviceLocked: boolean;
  verifiedBootState: VerifiedBootStateName;
  verifiedBootHash?: string;
}

export interface AttestationApplicationIdRecord {
  packages: { name: string; version: string }[];
  signatures: string[];
}

/**
 * One AuthorizationList. Tags the Kotlin model leaves out but asn1-android knows (303, 305, 600,
 * 601, 720) are kept under their AOSP names instead of failing the record as the Kotlin code does.
 */
export interface AuthorizationListRecord {
  purposes?: string[];
  algorithms?: string;
  keySize?: string;
  blockModes?: string[];
  digests?: string[];
  paddings?: string[];
  ecCurve?: string;
  mlDsaVariant?: string;
  rsaPublicExponent?: string;
  rsaOaepMgfDigests?: string[];
  rollbackResistance?: true;
  earlyBootOnly?: true;
  activeDateTime?: string;
  originationExpireDateTime?: string;
  usageExpireDateTime?: string;
  usageCountLimit?: string;
  noAuthRequired?: true;
  userAuthType?: string;
  authTimeout?: string;
  allowWhileOnBody?: true;
  trustedUserPresenceRequired?: true;
  trustedConfirmationRequired?: true;
  unlockedDeviceRequired?: true;
  allApplications?: true;
  applicationId?: string;
  creationDateTime?: string;
  origin?: OriginName;
  rollbackResistant?: true;
  rootOfTrust?: RootOfTrustRecord;
  osVersion?: string;
  /** `yyyyMM` or `yyyyMMdd`; left out when not a valid patch level, as the Kotlin parser does. */
  osPatchLevel?: string;
  attestationApplicationId?: AttestationApplicationIdRecord;
  attestationIdBrand?: string;
  attestationIdDevice?: string;
  attestationIdProduct?: string;
  attestationIdSerial?: string;
  attestationIdImei?: string;
  attestationIdMeid?: string;
  attestationIdManufacturer?: string;
  attestationIdModel?: string;
  vendorPatchLevel?: string;
  bootPatchLevel?: string;
  deviceUniqueAttestation?: true;
  attestationIdSecondImei?: string;
  moduleHash?: string;
  /** False when tags are not in ascending order, which DER forbids (the Kotlin default is true). */
  areTagsOrdered: boolean;
}

export const SECURITY_LEVELS: readonly SecurityLevelName[] = ['SOFTWARE', 'TRUSTED_ENVIRONMENT', 'STRONG_BOX'];
export const VERIFIED_BOOT_STATES: readonly VerifiedBootStateName[] = [
  'VERIFIED',
  'SELF_SIGNED',
  'UNVERIFIED',
  'FAILED',
];
export const ORIGINS: readonly OriginName[] = ['GENERATED', 'DERIVED', 'IMPORTED', 'RESERVED', 'SECURELY_IMPORTED'];
