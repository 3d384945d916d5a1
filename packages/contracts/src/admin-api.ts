/**
 * Wire types of the admin API (docs/ADMIN_API.md) that its clients (the CLI, verifiers fetching
 * wrapped secrets) and the service share, and the KMS encryption context of wrapped secrets, which
 * the service, verifiers and IAM policies must spell alike.
 */
import type { TokenFormat } from './protocol';

/** A key's status at a given time. deleted: retired, and destroyed by a later rotation. */
export type KeyLifecycleStatus = 'pending' | 'active' | 'retiring' | 'retired' | 'deleted';

/** Encryption-context keys of a wrapped hs256 secret (IAM and key policies condition on the tenant's). */
export const SECRET_CONTEXT_TENANT = 'attestor:tenant';
export const SECRET_CONTEXT_SECRET = 'attestor:secret';

/**
 * The KMS encryption context an hs256 secret is wrapped with. It names the tenant, so a role may be
 * allowed to unwrap one tenant's secrets and no other's, and the secret, so a wrapped secret copied
 * onto another key record does not unwrap there.
 */
export function secretEncryptionContext(tenantId: string, kid: string): Record<string, string> {
  return { [SECRET_CONTEXT_TENANT]: tenantId, [SECRET_CONTEXT_SECRET]: kid };
}

/** A public signing key as published in a JWKS. */
export interface PublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: 'ES256';
  readonly use: 'sig';
  /** Attestor's: when a retiring key stops verifying (unix seconds), so verifiers drop it then even if they cannot refetch. */
  readonly retiresAt?: number;
}

/**
 * An hs256 secret as the admin API hands it to verifiers: still encrypted. Whoever may call KMS
 * Decrypt on `keyId` with exactly `encryptionContext` (an authorizer's role, an operator) unwraps
 * it; the admin functions themselves never can.
 */
export interface WrappedTokenSecret {
  readonly kid: string;
  readonly status: KeyLifecycleStatus;
  readonly activatesAt: number;
  readonly retiresAt?: number;
  /** base64 of the KMS CiphertextBlob. */
  readonly ciphertext: string;
  /** ARN of the tenant's KMS key that wraps it. */
  readonly keyId: string;
  readonly encryptionContext: Readonly<Record<string, string>>;
}

export interface TenantKeyDescription {
  readonly kid: string;
  readonly format: TokenFormat;
  readonly status: KeyLifecycleStatus;
  readonly createdAt: number;
  readonly activatesAt: number;
  readonly retiresAt?: number;
  readonly deletionScheduledAt?: number;
}

export interface KeyRotation {
  readonly kid: string;
  readonly format: TokenFormat;
  readonly activatesAt: number;
  /** Retired keys this rotation destroyed. */
  readonly keysDeleted: readonly string[];
  /** Retired keys whose destruction failed this time, with the reason. */
  readonly keysNotDeleted: ReadonlyArray<{ readonly kid: string; readonly reason: string }>;
}

// ---------- Apps and policies (§6) ----------

export type SignalName = 'rooted' | 'emulator' | 'debugger' | 'hooked';
export const SIGNAL_NAMES: readonly SignalName[] = ['rooted', 'emulator', 'debugger', 'hooked'];

/**
 * What an app's attestations must satisfy beyond being a genuine registered build. Nothing in it
 * shows in a token: the token lifetime is the deployment's (PROTOCOL.md §9 says why).
 */
export interface Policy {
  /** Signals that make an attestation fail when the device reports them. */
  readonly reject: Readonly<Record<SignalName, boolean>>;
  /** Lowest SDK version accepted (dotted numeric, e.g. "1.2.0"); absent accepts any. */
  readonly minSdkVersion?: string;
  /** Hardware evidence (PROTOCOL.md §5.5); absent: DEFAULT_HARDWARE_POLICY (off on both platforms). */
  readonly hardware?: HardwarePolicy;
  /**
   * `require` (default): the build must be registered and its measurement match. `off`: for apps
   * registered by store identity only, whose store builds are not the uploaded bytes; then
   * version_unknown and measurement_mismatch are not failures.
   */
  readonly measurement?: 'require' | 'off';
}

/** Per platform: ignore evidence, verify it when sent, or fail without it. */
export type HardwareMode = 'off' | 'prefer' | 'require';
export const HARDWARE_MODES: readonly HardwareMode[] = ['off', 'prefer', 'require'];
/** Android attestation security levels, weakest first. */
export type AndroidSecurityLevel = 'software' | 'tee' | 'strongbox';
export const ANDROID_SECURITY_LEVELS: readonly AndroidSecurityLevel[] = ['software', 'tee', 'strongbox'];
export type AppAttestEnvironment = 'production' | 'development';

/** What an app asks of hardware evidence (PROTOCOL.md §5.5). */
export interface HardwarePolicy {
  readonly ios: HardwareMode;
  readonly android: HardwareMode;
  /**
   * When either platform requires hardware: whether a device.platform other than ios and android
   * may attest at all (a client chooses what it claims to be).
   */
  readonly otherPlatforms: 'allow' | 'refuse';
  readonly minAndroidSecurityLevel: AndroidSecurityLevel;
  /** Verified boot state Verified and a locked bootloader. */
  readonly requireVerifiedBoot: boolean;
  /** Lowest Android OS patch level accepted, YYYYMM; absent accepts any. */
  readonly minAndroidPatchLevel?: number;
  readonly appAttestEnvironments: readonly AppAttestEnvironment[];
  /** How long a verified install is remembered (its device record), 1 to 365 days. */
  readonly rememberDays: number;
}

/**
 * The longest window of a per-minute series (GET /v1/admin/stats with series=minute, docs/ADMIN_API.md
 * §9.3): the console's longest chart range, and `attestor stats --authorizer`'s longest window.
 */
export const MAX_SERIES_WINDOW_SECONDS = 24 * 3600;

export const DEFAULT_HARDWARE_POLICY: HardwarePolicy = {
  ios: 'off',
  android: 'off',
  otherPlatforms: 'allow',
  minAndroidSecurityLevel: 'tee',
  requireVerifiedBoot: true,
  appAttestEnvironments: ['production'],
  rememberDays: 30,
};
export const MIN_REMEMBER_DAYS = 1;
export const MAX_REMEMBER_DAYS = 365;

// ---------- App identity (§5) ----------

/**
 * How the stores identify an app: what hardware evidence is checked against (PROTOCOL.md §5.5).
 * An app may have either, both or neither; builds registered by bytes work without one.
 */
export interface AppIdentity {
  /** App Attest: the rpId is teamId "." bundleId. */
  readonly ios?: { readonly teamId: string; readonly bundleId: string };
  /** Key attestation: the attested package and its signing certificates (SHA-256, lower-case hex). */
  readonly android?: { readonly packageName: string; readonly signingCertificates: readonly string[]; readonly minVersionCode?: number };
}


// ---------- Build uploads (§4) ----------

/** Where builds land in the builds bucket: builds/<appId>/<version>/<uploadId>. */
export const BUILD_KEY_PREFIX = 'builds/';
/** The default largest build a deployment registers (MAX_BUILD_BYTES overrides). */
export const DEFAULT_MAX_BUILD_BYTES = 2 * 1024 ** 3;
/** S3's limit on the parts of one multipart upload. */
export const MAX_UPLOAD_PARTS = 10_000;

// ---------- Attestation and build log (§9) ----------

export type AttestationOutcome = 'pass' | 'fail' | 'debug' | 'allowlisted';

/** One judged attestation, as the log keeps it: never tokens, nonces, measurements, proofs or secrets. */
export interface AttestationLogEntry {
  readonly tenantId: string;
  readonly appId: string;
  /** True when the app is registered to tenantId; unregistered app ids share one bucket of the default tenant. */
  readonly appKnown: boolean;
  readonly appVersion: string;
  readonly did: string;
  readonly platform: string;
  readonly osVersion: string;
  readonly model: string;
  readonly sdkVersion: string;
  readonly outcome: AttestationOutcome;
  readonly reasons: readonly string[];
  readonly time: number;
  /** The token's jti: identifies the token without being one. */
  readonly jti: string;
}

/** An attestation log entry as the admin API shows it: tenant bookkeeping stays inside. */
export type PublicLogEntry = Omit<AttestationLogEntry, 'tenantId' | 'appKnown'>;

/** A build the register function refused. */
export interface BuildRefusal {
  readonly tenantId: string;
  readonly objectKey: string;
  readonly reason: string;
  readonly time: number;
  /** Makes a redelivered event's refusal the same entry (S3's sequencer of the object creation). */
  readonly eventId: string;
  readonly size?: number;
  readonly appId?: string;
  readonly version?: string;
  readonly uploadId?: string;
}

/** A refused build as the admin API shows it. */
export type PublicBuildRefusal = Omit<BuildRefusal, 'tenantId' | 'eventId'>;


// ---------- Token keys (§8) ----------

/**
 * Pending window of a retired es256 key's deletion: KMS's longest, so that an account administrator
 * has a month to cancel it (CancelKeyDeletion). The stack's IAM policy lets the rotating role
 * schedule deletions with exactly this window and no shorter one.
 */
export const RETIRED_KEY_DELETION_WINDOW_DAYS = 30;
