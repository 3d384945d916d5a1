/**
 * What hardware evidence (PROTOCOL.md §5.5, §5.6) needs from outside the core: the device records
 * kept for installs whose evidence verified, and the stored copy of Google's attestation status
 * list. Adapters: adapters/dynamodb-hardware-devices.ts, adapters/revocation-list-sources.ts; tests
 * use the memory fakes in test/support/memory.ts. No AWS imports here.
 */
import type { AndroidSecurityLevel, AppAttestEnvironment } from '@attestor/contracts/admin-api';
import type { HardwarePlatform, InstallPublicJwk } from '@attestor/contracts/protocol';

/** Which record: the App Attest key id (base64url) on iOS, the install key's thumbprint (did) on Android. */
export interface HardwareRecordRef {
  readonly platform: HardwarePlatform;
  readonly appId: string;
  readonly id: string;
}

/** An App Attest key whose attestation verified: what its later assertions are checked against. */
export interface AppAttestKeyRecord {
  readonly platform: 'ios';
  readonly appId: string;
  /** The key id, base64url of its 32 bytes. */
  readonly keyId: string;
  /** The install key this App Attest key vouches for: assertions with another install key fail. */
  readonly did: string;
  /** The attested P-256 key, which signs the assertions. */
  readonly publicKey: InstallPublicJwk;
  /** The highest assertion counter accepted so far (0 after the attestation). */
  readonly counter: number;
  readonly environment: AppAttestEnvironment;
  /** Apple's receipt, base64url, kept for the fraud-metric exchange with Apple; attest never reads it. */
  readonly receipt: string;
  readonly createdAt: number;
  /** createdAt + the policy's rememberDays when it was written; DynamoDB's TTL deletes it after that. */
  readonly expiresAt: number;
}

/**
 * An Android install key whose certificate chain verified: the facts the chain attested when the key
 * was made, which later attestations of the same install key are judged by (PROTOCOL.md §5.5).
 */
export interface AndroidKeyRecord {
  readonly platform: 'android';
  readonly appId: string;
  readonly did: string;
  /** The lower of the attestation and KeyMint security levels. */
  readonly securityLevel: AndroidSecurityLevel;
  readonly verifiedBootState: string;
  readonly deviceLocked: boolean;
  /** YYYYMM; 0 when the secure hardware reported none. */
  readonly osPatchLevel: number;
  readonly osVersion: number;
  readonly packageName: string;
  /** SHA-256 of the signing certificates, lower-case hex, as the identity registers them. */
  readonly signatureDigests: readonly string[];
  readonly versionCode?: number;
  /** Serials of the chain's certificates (lower-case hex, no leading zeros), checked against later revocations. */
  readonly serials: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
}

export type HardwareDeviceRecord = AppAttestKeyRecord | AndroidKeyRecord;

export function recordRef(record: HardwareDeviceRecord): HardwareRecordRef {
  return { platform: record.platform, appId: record.appId, id: record.platform === 'ios' ? record.keyId : record.did };
}

/** Device records, one per App Attest key or Android install key. */
export interface HardwareDeviceRecords {
  /** The record, strongly consistent (a record written by the previous attestation must be seen), or undefined. */
  get(ref: HardwareRecordRef): Promise<HardwareDeviceRecord | undefined>;
  /** Writes the record unless one with its ref exists; false if one does (the key attested before). */
  create(record: HardwareDeviceRecord): Promise<boolean>;
  /**
   * Sets an App Attest record's counter to `to` if it is still `from`, atomically: of concurrent
   * calls with one `from`, exactly one returns true. False when the counter moved (or the record is gone).
   */
  advanceCounter(ref: HardwareRecordRef, from: number, to: number): Promise<boolean>;
}

/** The stored copy of Google's attestation status list (never the internet per request). */
export interface RevocationList {
  /** Serials of revoked and suspended attestation certificates, lower-case hex without leading zeros. */
  revokedSerials(): Promise<ReadonlySet<string>>;
}

/**
 * Trust anchors other than the pinned Apple and Google roots: the local cloud's explicit test-roots
 * option (so end-to-end tests can issue evidence with @attestor/hardware/testing). Never set in AWS:
 * the CDK stack refuses it at synth.
 */
export interface HardwareTestRoots {
  /** PEM certificates trusted besides Apple's App Attestation Root CA. */
  readonly appAttest: readonly string[];
  /** PEM certificates trusted besides Google's key attestation roots. */
  readonly android: readonly string[];
}

/** What attest needs for hardware evidence; a deployment without it fails every request that carries evidence. */
export interface HardwareDeps {
  readonly devices: HardwareDeviceRecords;
  readonly revocations: RevocationList;
  readonly testRoots?: HardwareTestRoots;
}
