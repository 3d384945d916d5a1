/**
 * Registering builds: an upload lands in S3 under a key that names app, version and upload, the
 * register function hashes it as a stream and records the digest attestations are checked against.
 */
import { createHash } from 'node:crypto';
import { ServiceError } from './errors';
import type { AppStore, AttestationLog, BuildStore, Clock, RegistrationRecord, RegistrationStore, UploadRecord, UploadStore } from './ports';
import { BUILD_KEY_PREFIX, DEFAULT_MAX_BUILD_BYTES, MAX_UPLOAD_PARTS } from '@attestor/contracts/admin-api';
import { APP_ID_PATTERN, VERSION_PATTERN } from '@attestor/contracts/protocol';

// Constants of the upload contract, shared with the CLI and the CDK stack.
export { BUILD_KEY_PREFIX, DEFAULT_MAX_BUILD_BYTES, MAX_UPLOAD_PARTS };

export const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

export interface BuildKey {
  readonly appId: string;
  readonly version: string;
  readonly uploadId: string;
}

/** builds/<appId>/<version>/<uploadId>: every part is restricted to characters S3 keys need not escape. */
export function buildObjectKey(key: BuildKey): string {
  return `${BUILD_KEY_PREFIX}${key.appId}/${key.version}/${key.uploadId}`;
}

export function parseBuildObjectKey(objectKey: string): BuildKey | undefined {
  if (!objectKey.startsWith(BUILD_KEY_PREFIX)) return undefined;
  const parts = objectKey.slice(BUILD_KEY_PREFIX.length).split('/');
  if (parts.length !== 3) return undefined;
  const [appId, version, uploadId] = parts as [string, string, string];
  if (appId.length > 255 || !APP_ID_PATTERN.test(appId)) return undefined;
  if (version.length > 64 || !VERSION_PATTERN.test(version)) return undefined;
  if (!UPLOAD_ID_PATTERN.test(uploadId)) return undefined;
  return { appId, version, uploadId };
}

export interface RegistrationDeps {
  readonly uploads: Pick<UploadStore, 'getUpload' | 'settleUpload'>;
  /** Only to check that the app is still the uploading tenant's. */
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly registrations: Pick<RegistrationStore, 'putRegistrationIfAbsent'>;
  readonly builds: BuildStore;
  readonly clock: Clock;
  readonly maxBuildBytes: number;
  /** Where refusals are recorded for operators (docs/ADMIN_API.md §9.2); absent records none. */
  readonly log?: AttestationLog;
  /** Tenant whose build log receives refusals of objects that belong to no upload. */
  readonly operatorTenantId?: string;
}

/** The S3 event that announced an object; identifies a delivery so that a redelivery changes nothing. */
export interface BuildEvent {
  /** Stable across redeliveries of one object creation (S3's sequencer, with the key). */
  readonly eventId: string;
  /** When S3 says the object was created, unix seconds. */
  readonly time: number;
}

/** The build store has no object under the key (deleted since, or the event is stale). */
export class BuildObjectMissingError extends ServiceError {
  override readonly name: string = 'BuildObjectMissingError';
  override readonly code = 'build_object_missing';
  constructor(readonly objectKey: string) {
    super(`no build object at ${objectKey}`);
  }
}

/**
 * Whose build it was: the tenant and app of the upload the object belongs to (an app the admin API
 * created, so counting by it cannot be grown by whoever names an object). Absent for a stray object.
 */
export interface BuildOwner {
  readonly tenantId: string;
  readonly appId: string;
}

export type RegisterOutcome = (
  | { readonly status: 'registered'; readonly registration: RegistrationRecord }
  | { readonly status: 'rejected'; readonly reason: string }
  | { readonly status: 'unchanged'; readonly reason: string }
) & { readonly owner?: BuildOwner };

/** SHA-256 of a stream, chunk by chunk, so memory stays flat whatever the build's size. */
export async function hashStream(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Handles one S3 ObjectCreated record. S3 delivers at least once, so everything here is idempotent:
 * a settled upload is left alone and a registration, once written, is never overwritten.
 */
export async function registerBuild(deps: RegistrationDeps, objectKey: string, event?: BuildEvent): Promise<RegisterOutcome> {
  const eventId = event?.eventId ?? objectKey;
  const time = event?.time ?? deps.clock.nowSeconds();
  const refuseStray = async (reason: string, known: Partial<Pick<UploadRecord, 'appId' | 'version' | 'uploadId'>>): Promise<RegisterOutcome> => {
    // Nobody's upload, so nobody's log but the operator's. The entry is keyed by the event, so a
    // redelivery rewrites the same entry rather than adding one.
    if (deps.log && deps.operatorTenantId !== undefined) {
      await deps.log.recordBuildRefusal({ tenantId: deps.operatorTenantId, objectKey, reason, time, eventId, ...known });
    }
    return { status: 'rejected', reason };
  };
  const key = parseBuildObjectKey(objectKey);
  if (!key) return refuseStray('unknown_key', {});
  const upload = await deps.uploads.getUpload(key.uploadId);
  if (!upload || upload.objectKey !== objectKey) return refuseStray('unknown_upload', key);
  const uploader = upload.tenantId ?? deps.operatorTenantId;
  const owner = uploader !== undefined ? { owner: { tenantId: uploader, appId: key.appId } } : {};
  if (upload.status !== 'pending') return { status: 'unchanged', reason: `upload already ${upload.status}`, ...owner };

  const reject = async (reason: string, size?: number): Promise<RegisterOutcome> => {
    await deps.uploads.settleUpload(key.uploadId, { status: 'rejected', reason });
    if (deps.log && uploader !== undefined) {
      const { appId, version, uploadId } = key;
      const refusal = { tenantId: uploader, objectKey, reason, time, eventId, appId, version, uploadId, ...(size !== undefined ? { size } : {}) };
      await deps.log.recordBuildRefusal(refusal);
    }
    return { status: 'rejected', reason, ...owner };
  };
  // The app may have been removed, or removed and created by another tenant, since the upload was
  // issued: a registration written now would attach this tenant's build to someone else's app.
  const app = await deps.apps.getApp(key.appId);
  if (!app || (upload.tenantId !== undefined && app.tenantId !== upload.tenantId)) return reject('app_removed');

  let object;
  try {
    object = await deps.builds.open(objectKey);
  } catch (error) {
    if (error instanceof BuildObjectMissingError) return reject('object_missing');
    throw error;
  }
  if (object.size === 0 || object.size > deps.maxBuildBytes || (upload.expectedSize !== undefined && object.size !== upload.expectedSize)) {
    object.discard();
    return reject(object.size === 0 ? 'empty_build' : object.size > deps.maxBuildBytes ? 'too_large' : 'size_mismatch', object.size);
  }
  const { sha256, size } = await hashStream(object.body);
  if (size !== object.size) return reject('truncated_read', object.size);

  const now = deps.clock.nowSeconds();
  const stored = await deps.registrations.putRegistrationIfAbsent({
    appId: key.appId,
    version: key.version,
    sha256,
    size,
    objectKey,
    registeredAt: now,
    ...(upload.expireAfterSeconds !== undefined ? { expiresAt: now + upload.expireAfterSeconds } : {}),
    ...(upload.note !== undefined ? { note: upload.note } : {}),
  });
  if (stored.sha256 !== sha256) return reject('version_conflict', size);
  await deps.uploads.settleUpload(key.uploadId, { status: 'registered', sha256, size });
  return { status: 'registered', registration: stored, ...owner };
}

/** Builds above this size are uploaded in parts (docs/ADMIN_API.md §4): one PUT of a large build cannot resume. */
export const MULTIPART_THRESHOLD_BYTES = 64 * 1024 ** 2;
const DEFAULT_PART_BYTES = 16 * 1024 ** 2;

/** 16 MiB, or the next whole MiB that keeps the build within S3's 10 000 parts. Deterministic, so completion can check the count. */
export function partSizeFor(size: number): number {
  const mib = 1024 ** 2;
  return Math.max(DEFAULT_PART_BYTES, Math.ceil(size / MAX_UPLOAD_PARTS / mib) * mib);
}

export function partCountFor(size: number): number {
  return Math.ceil(size / partSizeFor(size));
}
