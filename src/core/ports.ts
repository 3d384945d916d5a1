/**
 * The protocol core's view of the outside world. Adapters in src/adapters implement these over
 * DynamoDB, S3 and KMS; unit tests implement them in memory. Nothing here may import an AWS SDK.
 */
import type { KeyObject } from 'node:crypto';
import type { Policy } from './policy';

export interface Clock {
  /** Current time in whole unix seconds. Injected so expiry can be tested without waiting. */
  nowSeconds(): number;
}

export const systemClock: Clock = { nowSeconds: () => Math.floor(Date.now() / 1000) };

export interface NonceRecord {
  /** b64u(SHA-256(nonce)): the store never holds the nonce itself. */
  readonly nonceId: string;
  readonly appId: string;
  readonly expiresAt: number;
}

export interface NonceStore {
  put(record: NonceRecord): Promise<void>;
  /**
   * Atomically removes the nonce if it exists, belongs to `appId` and has not expired at `nowSeconds`.
   * Of any number of concurrent calls for one nonce, at most one returns true.
   */
  consume(nonceId: string, appId: string, nowSeconds: number): Promise<boolean>;
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
}

export interface Registry {
  getApp(appId: string): Promise<AppRecord | undefined>;
  /** Creates the app if absent; returns the stored record either way (never moves an app between tenants). */
  ensureApp(app: AppRecord): Promise<AppRecord>;
  getRegistration(appId: string, version: string): Promise<RegistrationRecord | undefined>;
  /**
   * Writes the registration unless one exists for (appId, version). Returns what is stored afterwards,
   * so a redelivered event or a repeated upload of the same build is a no-op.
   */
  putRegistrationIfAbsent(record: RegistrationRecord): Promise<RegistrationRecord>;
  getPolicy(appId: string): Promise<Policy | undefined>;
  putUpload(record: UploadRecord): Promise<void>;
  getUpload(uploadId: string): Promise<UploadRecord | undefined>;
  /** Moves a pending upload to its final status; a settled upload is left as it is. */
  settleUpload(uploadId: string, update: Pick<UploadRecord, 'status' | 'reason' | 'sha256' | 'size'>): Promise<void>;
  /** Signing keys of a tenant, newest first. */
  listTenantKeys(tenantId: string): Promise<TenantKeyRecord[]>;
  /** Records a key; fails with KeyConflictError if a record for (tenantId, kid) exists. */
  putTenantKey(record: TenantKeyRecord): Promise<void>;
}

export type TenantKeyStatus = 'active' | 'retired';

/** A tenant's KMS signing key. The newest active one signs; every active one verifies. */
export interface TenantKeyRecord {
  readonly tenantId: string;
  /** RFC 7638 thumbprint of the public key: the JWS `kid`. */
  readonly kid: string;
  /** KMS key ARN (or id locally). */
  readonly keyId: string;
  readonly createdAt: number;
  readonly status: TenantKeyStatus;
}

export type SigningKeyChoice = 'tenant' | 'decoy';

export interface TokenSigner {
  /** kid of the tenant's current signing key. Decoy tokens carry it too, so headers do not differ. */
  signingKid(tenantId: string): Promise<string>;
  /** ES256 over `signingInput`, returned as IEEE P1363 r||s (64 bytes). Both choices go through KMS. */
  sign(tenantId: string, signingInput: Uint8Array, key: SigningKeyChoice): Promise<Uint8Array>;
}

/** The public keys a verifier trusts for one tenant, by kid. */
export interface VerificationKeySource {
  keys(tenantId: string): Promise<ReadonlyMap<string, KeyObject>>;
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
}

/** Creates and publishes tenant signing keys. */
export interface TenantKeyManager {
  /** Creates the tenant's first signing key if it has none; safe to call concurrently. */
  ensureSigningKey(tenantId: string): Promise<void>;
  /** Public keys of every active key of the tenant: exactly the set verifiers trust. */
  jwks(tenantId: string): Promise<{ readonly keys: readonly PublicJwk[] }>;
}
