/**
 * The protocol core's view of the outside world. Adapters in src/adapters implement these over
 * DynamoDB, S3 and KMS; unit tests implement them in memory. Nothing here may import an AWS SDK.
 */
import type { KeyObject } from 'node:crypto';
import type {
  AppIdentity,
  AttestationLogEntry,
  AttestationOutcome,
  BuildRefusal,
  KeyRotation,
  PublicJwk,
  TenantKeyDescription,
  WrappedTokenSecret,
} from '@attestor/contracts/admin-api';
import type { TokenFormat } from '@attestor/contracts/protocol';
import type { PrincipalRole } from '@attestor/contracts/routes';
import type { AuthorizerVerdictName } from '@attestor/contracts/metrics';
import type { Policy } from './policy';
import { ServiceError } from '@attestor/contracts/errors';

// The verifier's ports (clock, keys) are the verify package's; the service's components share them.
export {
  NO_VERIFICATION_KEYS,
  systemClock,
  type Clock,
  type TokenSecret,
  type VerificationKeys,
  type VerificationKeySource,
} from '@attestor/verify/core/ports';
export type {
  AttestationLogEntry,
  AttestationOutcome,
  BuildRefusal,
  KeyRotation,
  PublicBuildRefusal,
  PublicJwk,
  PublicLogEntry,
  TenantKeyDescription,
  WrappedTokenSecret,
} from '@attestor/contracts/admin-api';

export interface NonceRecord {
  /** b64u(SHA-256(nonce)): the store never holds the nonce itself. */
  readonly nonceId: string;
  readonly appId: string;
  readonly expiresAt: number;
}

export interface NonceStore {
  put(record: NonceRecord): Promise<void>;
  /**
   * Atomically removes the nonce if it exists, belongs to `appId` and has not expired at `nowSeconds`,
   * and returns what it removed. Of any number of concurrent calls for one nonce, at most one returns
   * a record; the others get undefined.
   */
  consume(nonceId: string, appId: string, nowSeconds: number): Promise<NonceRecord | undefined>;
  /**
   * Puts back a nonce that `consume` removed, unless one with its id exists: an attest that failed
   * after consuming it (a dependency refused) must not cost the client its challenge (PROTOCOL.md §5.1).
   */
  restore(record: NonceRecord): Promise<void>;
}

export interface AppRecord {
  readonly appId: string;
  readonly tenantId: string;
  readonly createdAt: number;
}

export interface RegistrationRecord {
  readonly appId: string;
  readonly version: string;
  /** Lower-case hex SHA-256 of the build, as `sha256sum` prints it. */
  readonly sha256: string;
  readonly size: number;
  readonly objectKey: string;
  readonly registeredAt: number;
  /** Unix seconds after which attestations of this build fail; absent means no expiry. */
  readonly expiresAt?: number;
  readonly note?: string;
}

export type UploadStatus = 'pending' | 'registered' | 'rejected';

/** One upload of a build: created when the upload URL is issued, settled by the register function. */
export interface UploadRecord {
  readonly uploadId: string;
  readonly appId: string;
  readonly version: string;
  readonly objectKey: string;
  readonly status: UploadStatus;
  readonly createdAt: number;
  readonly reason?: string;
  readonly sha256?: string;
  readonly size?: number;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
  /** Tenant that issued the upload: the register function refuses it if the app changed hands since. */
  readonly tenantId?: string;
  /** Size declared when the upload was issued; the stored object must have exactly this size. */
  readonly expectedSize?: number;
  /** S3 UploadId of a multipart upload. Internal: not shown by the admin API. */
  readonly multipartUploadId?: string;
  readonly completedAt?: number;
}

/*
 * The registry is one DynamoDB table (adapters/dynamodb-registry/), seen through one port per kind
 * of record, each as small as its callers need: attest reads an AttestationCatalog and nothing
 * else, the authorizer only tenant key records, the register function uploads, apps and
 * registrations. A function's composition then bundles only the adapters of its ports, and a test
 * fakes only what the code under test calls.
 *
 * Admin reads are strongly consistent: an admin change must be seen by the next attestation that
 * reads the registry (docs/ADMIN_API.md §10).
 */

/** Apps and the tenant each belongs to: what every function that checks or creates an app reads. */
export interface AppStore {
  getApp(appId: string): Promise<AppRecord | undefined>;
  /**
   * Creates the app if absent; returns the stored record either way (never moves an app between
   * tenants), and `created` true for exactly one of any number of concurrent calls: the one whose
   * conditional write made it.
   */
  ensureApp(app: AppRecord): Promise<EnsuredApp>;
}

/** What ensureApp found or made. */
export interface EnsuredApp {
  readonly app: AppRecord;
  /** This call wrote the app; false when it existed already (made earlier, or by a concurrent call). */
  readonly created: boolean;
}

/** A tenant's apps as a whole: listing and removal (the adminCatalog function's). */
export interface TenantApps extends AppStore {
  /** Apps of one tenant, sorted by appId. */
  listApps(tenantId: string): Promise<AppRecord[]>;
  /** Removes the app and everything under it (registrations, policy, devices); reports what went. */
  deleteApp(appId: string): Promise<AppRemoval | undefined>;
}

/** Registered builds of apps, by (appId, version). */
export interface RegistrationStore {
  getRegistration(appId: string, version: string): Promise<RegistrationRecord | undefined>;
  /**
   * Writes the registration unless one exists for (appId, version). Returns what is stored afterwards,
   * so a redelivered event or a repeated upload of the same build is a no-op.
   */
  putRegistrationIfAbsent(record: RegistrationRecord): Promise<RegistrationRecord>;
  /** Registrations of an app, newest first. */
  listRegistrations(appId: string): Promise<RegistrationRecord[]>;
  /** Removes and returns the registration, or undefined if there was none. */
  deleteRegistration(appId: string, version: string): Promise<RegistrationRecord | undefined>;
  /** Sets expiresAt of an existing registration; undefined if there is none. */
  setRegistrationExpiry(appId: string, version: string, expiresAt: number): Promise<RegistrationRecord | undefined>;
}

/** Each app's policy; an app without one is judged by DEFAULT_POLICY. */
export interface PolicyStore {
  getPolicy(appId: string): Promise<Policy | undefined>;
  putPolicy(appId: string, policy: Policy): Promise<void>;
}

/** Allow-listed devices of apps. */
export interface DeviceStore {
  /** Newest first. */
  listDevices(appId: string): Promise<DeviceRecord[]>;
  getDevice(appId: string, deviceId: string): Promise<DeviceRecord | undefined>;
  /** False if a device with the same id exists. */
  putDeviceIfAbsent(record: DeviceRecord): Promise<boolean>;
  deleteDevice(appId: string, deviceId: string): Promise<DeviceRecord | undefined>;
}

/** Uploads of builds, from issue (admin API) to settlement (register function). */
export interface UploadStore {
  putUpload(record: UploadRecord): Promise<void>;
  getUpload(uploadId: string): Promise<UploadRecord | undefined>;
  /** Moves a pending upload to its final status; a settled upload is left as it is. */
  settleUpload(uploadId: string, update: Pick<UploadRecord, 'status' | 'reason' | 'sha256' | 'size'>): Promise<void>;
  /** Records that the multipart upload was completed in S3, so a repeated complete is answered from here. */
  markUploadCompleted(uploadId: string, completedAt: number): Promise<void>;
}

/**
 * An S3 event the register function gave up on after Lambda's retries (its on-failure destination,
 * the RegisterFailures queue; the local cloud keeps its own). The upload stays pending until the
 * event is retried and registers, or the failure is cleared and the build uploaded again.
 */
export interface RegisterFailure {
  /** Stable while the failure is queued (the SQS message id). */
  readonly id: string;
  /** Unix seconds of the last failed attempt. */
  readonly failedAt: number;
  /** The keys of the builds the event announced, decoded. */
  readonly objectKeys: readonly string[];
  /** The register function's error: its type and message, nothing a client sent. */
  readonly error: string;
  /** Invocations the event got before it was given up on. */
  readonly attempts: number;
}

/** The queue of register failures (docs/ADMIN_API.md §5.4): operators see, retry or clear them. */
export interface RegisterFailureQueue {
  /** Up to `limit` queued failures; they stay queued. */
  list(limit: number): Promise<RegisterFailure[]>;
  /**
   * Hands each failure's event to the register function again (as S3 would) and takes it off the
   * queue; one that fails again comes back after the function's retries. `ids` undefined: every
   * one, up to `limit`. Returns the ids retried.
   */
  retry(ids: readonly string[] | undefined, limit: number): Promise<string[]>;
  /** Takes failures off the queue for good (their uploads stay pending). Returns the ids cleared. */
  clear(ids: readonly string[] | undefined, limit: number): Promise<string[]>;
}

/** Records of tenants' token keys; the keys themselves are in KMS (adapters/kms-tenant-keys.ts). */
export interface TenantKeyStore {
  /** Signing keys of a tenant, newest first. */
  listTenantKeys(tenantId: string): Promise<TenantKeyRecord[]>;
  /** Records a key; fails with KeyConflictError (core/errors.ts) if a record for (tenantId, kid) exists. */
  putTenantKey(record: TenantKeyRecord): Promise<void>;
  /**
   * Sets a key's retirement time unless it already has one (a concurrent rotation may have set an
   * earlier one, which stands). Unknown keys are ignored.
   */
  retireTenantKey(tenantId: string, kid: string, retiresAt: number): Promise<void>;
  /** Records that KMS deletion of a retired key was scheduled at `at`, unless already recorded. Unknown keys are ignored. */
  markTenantKeyDeletionScheduled(tenantId: string, kid: string, at: number): Promise<void>;
  /**
   * Claims the tenant's next key rotation for `now`, unless a claim made after `now − intervalSeconds`
   * stands: one conditional write, so of concurrent claims at most one wins. Resolves undefined when
   * claimed, else with the time of the claim that stands.
   */
  claimRotation(tenantId: string, now: number, intervalSeconds: number): Promise<number | undefined>;
  /** Withdraws the claim made at `claimedAt` (its rotation failed), so the tenant may try again at once; another claim stays. */
  releaseRotation(tenantId: string, claimedAt: number): Promise<void>;
}

/**
 * Everything attest needs to know about one app, read in one go: a registered app's items all live
 * in its partition, so one Query reads them, and a version, did or debug secret a client makes up
 * is then looked up in memory instead of costing a read each.
 */
export interface AppSnapshot {
  /** Absent for an unregistered app id. */
  readonly app?: AppRecord;
  readonly policy?: Policy;
  /** By version. */
  readonly registrations: ReadonlyMap<string, RegistrationRecord>;
  /** Allow-listed devices, by deviceId. */
  readonly devices: ReadonlyMap<string, DeviceRecord>;
  /** How the stores identify the app, for hardware evidence (PROTOCOL.md §5.5); absent until registered. */
  readonly identity?: AppIdentity;
}

export interface AttestationCatalog {
  appSnapshot(appId: string): Promise<AppSnapshot>;
}

/** What deleteApp removed. */
export interface AppRemoval {
  readonly app: AppRecord;
  readonly registrations: number;
  readonly devices: number;
  readonly policy: boolean;
}

export type DeviceKind = 'install' | 'debug';

/**
 * An allow-listed device of an app. `install`: an install key (by thumbprint) whose attestations
 * pass; `debug`: a debug secret, stored only as its SHA-256, whose attestations pass.
 */
export interface DeviceRecord {
  readonly appId: string;
  /** install: the did itself; debug: `debug.` + the first 22 characters of b64u(SHA-256(secret)). */
  readonly deviceId: string;
  readonly kind: DeviceKind;
  readonly did?: string;
  /** debug only: b64u(SHA-256(secret)). Never leaves the service. */
  readonly secretSha256?: string;
  readonly note?: string;
  readonly createdAt: number;
}

export interface TenantRecord {
  readonly tenantId: string;
  readonly createdAt: number;
  /**
   * Set once its creation has mapped its principals: from then on a tenant without principals
   * (every one revoked) is a tenant, not an unfinished creation to resume. Absent on tenants created
   * before the flag, which count as finished while they have principals.
   */
  readonly finished?: boolean;
}

/** Maps an authenticated IAM principal (normalised, see core/tenancy.ts) to the tenant it administers. */
export interface PrincipalRecord {
  readonly principal: string;
  readonly tenantId: string;
  /** Operators may create and list tenants. */
  readonly operator: boolean;
  /** What the principal may do in its tenant; absent in records from before roles, which are admins (DEFAULT_PRINCIPAL_ROLE). */
  readonly role?: PrincipalRole;
}

/** A SigV4 credential for a new tenant's administrators. */
export interface IssuedAdminCredential {
  /** The principal the gateway reports for requests signed with it (API Gateway's identity.userArn). */
  readonly principal: string;
  readonly credential: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly region: string };
}

/**
 * Local cloud only: mints credentials the local gateway accepts from then on. In AWS, IAM does
 * this, and tenants name existing principals instead.
 */
export interface AdminCredentialIssuer {
  /**
   * `role`: the credential is minted for a grant of that role (recorded with it, so that a restored
   * data directory saves it apart); absent: the tenant's own credential, made with the tenant.
   */
  issue(tenantId: string, role?: PrincipalRole): Promise<IssuedAdminCredential>;
}

/** Which tenant a principal administers: what every admin function reads to know its caller (core/tenancy.ts). */
export interface PrincipalDirectory {
  getPrincipal(principal: string): Promise<PrincipalRecord | undefined>;
}

/** Tenants and who administers them: what tenant management (operators only) reads and writes. */
export interface TenantDirectory extends PrincipalDirectory {
  getTenant(tenantId: string): Promise<TenantRecord | undefined>;
  /** False if the tenant exists. */
  putTenantIfAbsent(record: TenantRecord): Promise<boolean>;
  /** Sets the tenant's `finished` flag (an existing tenant's; nothing for an unknown one). */
  markTenantFinished(tenantId: string): Promise<void>;
  /** Removes the tenant's record (a creation that failed before any principal was mapped); absent is fine. */
  deleteTenant(tenantId: string): Promise<void>;
  /** Sorted by tenantId. */
  listTenants(): Promise<TenantRecord[]>;
  /** False if the principal is mapped already (to any tenant). */
  putPrincipalIfAbsent(record: PrincipalRecord): Promise<boolean>;
  /**
   * Maps the principal as `record` says if it is unmapped or already the same tenant's (a change of
   * role); false, and nothing written, if another tenant has it or it is an operator.
   */
  putPrincipalOfTenant(record: PrincipalRecord): Promise<boolean>;
  /**
   * Removes a principal's mapping to `tenantId` (never an operator's, never another tenant's), then
   * its entry in the tenant's index. Returns the record removed, or undefined when the principal does
   * not administer that tenant (any more). A retry after a failure finishes the index entry.
   */
  removePrincipalOfTenant(principal: string, tenantId: string): Promise<PrincipalRecord | undefined>;
  listPrincipals(tenantId: string): Promise<PrincipalRecord[]>;
}

/**
 * Stored key status. `retiresAt` (set when a newer key is rotated in) and `activatesAt` make the
 * lifecycle status a function of time: see core/tenant-keys.ts.
 */
export type TenantKeyStatus = 'active' | 'retired';

/**
 * A tenant's token key: an hs256 secret wrapped by the tenant's KMS key, or an es256 KMS signing
 * key. See core/tenant-keys.ts for which key signs and which verify.
 */
export interface TenantKeyRecord {
  readonly tenantId: string;
  /** es256: RFC 7638 thumbprint of the public key, the JWS `kid`. hs256: a random id that names the secret in listings only. */
  readonly kid: string;
  /** KMS key ARN (or id locally): es256, the signing key; hs256, the tenant's key that wraps the secret. */
  readonly keyId: string;
  /** Absent on records written before hs256 existed, which are all es256. */
  readonly format?: TokenFormat;
  /**
   * hs256: the secret as KMS encrypted it (base64 CiphertextBlob) under keyId, with the encryption
   * context of core/tenant-keys.ts secretEncryptionContext. Removed when the secret is destroyed.
   */
  readonly wrappedSecret?: string;
  readonly createdAt: number;
  readonly status: TenantKeyStatus;
  /** When the key starts signing; absent means createdAt (a tenant's first key signs at once). */
  readonly activatesAt?: number;
  /** When the key leaves the JWKS; set when a newer key is rotated in. */
  readonly retiresAt?: number;
  /**
   * When the retired key was destroyed by a later rotation: es256, its KMS key scheduled for
   * deletion; hs256, its wrapped secret erased. The record stays, as history and so that
   * first-key alias generations keep counting.
   */
  readonly deletionScheduledAt?: number;
}

export interface LogQuery {
  readonly tenantId: string;
  /** Partitions to read: app ids (and, for the default tenant, the unregistered bucket). */
  readonly appIds: readonly string[];
  readonly includeUnregistered: boolean;
  readonly since?: number;
  readonly limit: number;
  readonly cursor?: string;
}

export interface LogPage<T> {
  readonly entries: T[];
  readonly cursor?: string;
}

export interface AttestationLog {
  record(entry: AttestationLogEntry): Promise<void>;
  /** Newest first. */
  query(query: LogQuery): Promise<LogPage<AttestationLogEntry>>;
  /** Counts a replayed, used or expired nonce of a registered app (aggregated, like the verdicts `record` counts). */
  countNonceInvalid?(replay: { readonly tenantId: string; readonly appId: string; readonly time: number }): Promise<void>;
  /** Idempotent per (tenantId, eventId). */
  recordBuildRefusal(refusal: BuildRefusal): Promise<void>;
  queryBuildRefusals(query: Omit<LogQuery, 'appIds' | 'includeUnregistered'>): Promise<LogPage<BuildRefusal>>;
  /**
   * Counts of the entries with time >= since. `until` (now) lets an adapter split the window for
   * parallel reads; entries after it (clock skew) are counted too.
   */
  summarize(query: Omit<LogQuery, 'limit' | 'cursor' | 'since'> & { readonly since: number; readonly until: number }): Promise<LogCounts>;
  /** Per minute and app, from the minute `since` falls in on: the console's charts. Absent where there are no counters. */
  seriesByMinute?(query: Omit<LogQuery, 'limit' | 'cursor' | 'since'> & { readonly since: number }): Promise<LogSeriesPoint[]>;
}

/**
 * The authorizer's verdicts, counted per minute, app and verdict (AuthorizerVerdictName): what the
 * console weighs the would-deny share of a monitor-mode authorizer with. In AWS the TokenVerdicts
 * metric (CloudWatch), locally counter items; either way only the tenant's own Tenant dimension is read.
 */
export interface AuthorizerVerdictCounts {
  /**
   * The minutes from the one `since` falls in on, up to `until`, of the given apps (`~unregistered`
   * stands for requests whose token named no verified app: every denial). Minutes without verdicts are left out.
   */
  verdictsByMinute(query: {
    readonly tenantId: string;
    readonly appIds: readonly string[];
    readonly since: number;
    readonly until: number;
  }): Promise<AuthorizerVerdictPoint[]>;
}

/** One minute of one app's authorizer verdicts: counts by AuthorizerVerdictName, only the non-zero ones. */
export interface AuthorizerVerdictPoint {
  /** Start of the minute, unix seconds. */
  readonly time: number;
  readonly appId: string;
  readonly counts: Readonly<Partial<Record<AuthorizerVerdictName, number>>>;
}

/** One minute of one app's verdicts by category (@attestor/contracts/metrics VerdictCategory), as counters keep them. */
export interface LogSeriesPoint {
  /** Start of the minute, unix seconds. */
  readonly time: number;
  /** The app id, or `~unregistered` for the default tenant's bucket of unregistered ones. */
  readonly appId: string;
  readonly counts: Readonly<Record<string, number>>;
}

/** What `stats` reports over a window: entries, by outcome and by reason (an entry may have several reasons). */
export interface LogCounts {
  readonly total: number;
  readonly byOutcome: Readonly<Record<AttestationOutcome, number>>;
  readonly byReason: Readonly<Record<string, number>>;
  /** Attest requests whose nonce was unknown, used or expired (replays, stale challenges), registered apps only; not in `total`. */
  readonly nonceInvalid: number;
}

/**
 * A tenant's key for passing tokens, as attest sees it. hs256: the secret itself (decrypted once
 * per container and cached, so minting costs no network call); es256: the kid of a KMS key that
 * signs through TokenKeys.signEs256.
 */
export type TokenSigningKey =
  | { readonly format: 'hs256'; readonly kid: string; readonly secret: KeyObject }
  | { readonly format: 'es256'; readonly kid: string };

export interface TokenKeys {
  /** The key that signs the tenant's passing tokens now; its format is the tenant's token format. */
  signingKey(tenantId: string): Promise<TokenSigningKey>;
  /**
   * es256 only: ES256 over `signingInput` as IEEE P1363 r||s (64 bytes). `tenant` signs with the
   * key `kid` names (if still trusted), so a key activating between signingKey and this call cannot
   * split header and signature; `decoy` signs with the deployment's decoy key. Both go through KMS,
   * so they cost the same.
   */
  signEs256(tenantId: string, kid: string, signingInput: Uint8Array, key: 'tenant' | 'decoy'): Promise<Uint8Array>;
}

export interface RandomSource {
  bytes(n: number): Uint8Array;
}

/** A build's bytes as a stream, never buffered whole. */
export interface BuildObject {
  readonly size: number;
  readonly body: AsyncIterable<Uint8Array>;
  /** Releases the body without reading it (an HTTP stream otherwise holds its connection open). */
  discard(): void;
}

export interface BuildStore {
  open(objectKey: string): Promise<BuildObject>;
}

/** Issues a presigned URL the CLI uploads a build to. */
export interface UploadUrlIssuer {
  issue(objectKey: string, size: number): Promise<{ readonly url: string; readonly expiresAt: number }>;
  /** Starts a multipart upload of `size` bytes in parts of `partSize` and presigns every part. */
  issueMultipart(objectKey: string, size: number, partSize: number): Promise<MultipartUploadTicket>;
  /** Completes it; throws MultipartRejectedError when the store refuses the parts. */
  completeMultipart(objectKey: string, multipartUploadId: string, parts: readonly CompletedPart[]): Promise<void>;
}

export interface MultipartUploadTicket {
  /** The store's id of the multipart upload (S3 UploadId). */
  readonly multipartUploadId: string;
  readonly parts: ReadonlyArray<{ readonly partNumber: number; readonly url: string }>;
  readonly expiresAt: number;
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
}

/** The store refused to assemble the parts (a part missing, an ETag wrong, the upload gone). */
export class MultipartRejectedError extends ServiceError {
  override readonly name = 'MultipartRejectedError';
  override readonly code = 'multipart_rejected';
  constructor(
    message: string,
    /** The multipart upload no longer exists (completed or aborted). */
    readonly gone: boolean,
  ) {
    super(message);
  }
}

/** Creates, rotates and publishes a tenant's token keys. */
export interface TenantKeyManager {
  /** Creates the tenant's first key (an hs256 secret) if it has none; safe to call concurrently. */
  ensureSigningKey(tenantId: string): Promise<void>;
  /** Public keys of every trusted es256 key of the tenant: exactly the set es256 verifiers trust. */
  jwks(tenantId: string): Promise<{ readonly keys: readonly PublicJwk[] }>;
  /** Every trusted hs256 secret of the tenant, wrapped, signing one first: what hs256 verifiers unwrap. */
  wrappedSecrets(tenantId: string): Promise<{ readonly keys: readonly WrappedTokenSecret[] }>;
  /**
   * Creates a new key in `format` (default: the format of the key signing now) that is published
   * now and signs from `activatesAt` (core/tenant-keys.ts), then destroys keys that have retired
   * (es256: KMS deletion scheduled; hs256: wrapped secret erased). A destruction that fails is
   * reported, not thrown: the rotation itself has happened, and the next one tries again.
   */
  rotateSigningKey(tenantId: string, format?: TokenFormat): Promise<KeyRotation>;
  /** Every key of the tenant with its status now, newest first. */
  describeKeys(tenantId: string): Promise<TenantKeyDescription[]>;
}


/**
 * Each app's store identity (App Attest team and bundle id, Android package and signing
 * certificates): one item per app, in its partition, so attest's snapshot reads it with the rest.
 */
export interface AppIdentityStore {
  getAppIdentity(appId: string): Promise<AppIdentity | undefined>;
  /** A replacement: what is stored is exactly the identity given. */
  putAppIdentity(appId: string, identity: AppIdentity): Promise<void>;
  /** True if there was one. */
  deleteAppIdentity(appId: string): Promise<boolean>;
}
