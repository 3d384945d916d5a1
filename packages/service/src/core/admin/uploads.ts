/**
 * Uploads of builds (docs/ADMIN_API.md §4): issue one (a presigned PUT, or a multipart upload above
 * MULTIPART_THRESHOLD_BYTES), complete a multipart one, report one's state. The bytes go straight
 * to the build store; the register function settles the upload when the store announces the object.
 */
import { encodeB64u } from '@attestor/contracts/base64url';
import { ConflictError, InvalidRequestError } from '../errors';
import {
  MultipartRejectedError,
  type AppStore,
  type Clock,
  type CompletedPart,
  type RandomSource,
  type RegistrationRecord,
  type RegistrationStore,
  type TenantKeyManager,
  type UploadRecord,
  type UploadStore,
  type UploadUrlIssuer,
} from '../ports';
import { buildObjectKey, MULTIPART_THRESHOLD_BYTES, partCountFor, partSizeFor } from '../registration';
import type { AdminCaller } from '../tenancy';
import { ownedUpload } from './ownership';

export interface UploadIssueDeps {
  readonly apps: Pick<AppStore, 'ensureApp'>;
  readonly uploads: Pick<UploadStore, 'putUpload'>;
  readonly uploadUrls: Pick<UploadUrlIssuer, 'issue' | 'issueMultipart'>;
  /** An upload may create its app, whose tenant then needs a signing key before the first attestation. */
  readonly keys: Pick<TenantKeyManager, 'ensureSigningKey'>;
  readonly clock: Clock;
  readonly random: RandomSource;
}

/** What the caller asks to upload; the size is checked against the deployment's limit when the request is parsed. */
export interface UploadRequest {
  readonly appId: string;
  readonly version: string;
  readonly size: number;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
}

/** Where to put the bytes: one URL, or one URL per part of `partSize` bytes. */
export type IssuedUpload = {
  readonly upload: UploadRecord;
  readonly urlExpiresAt: number;
} & (
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'multipart'; readonly partSize: number; readonly parts: ReadonlyArray<{ readonly partNumber: number; readonly url: string }> }
);

/**
 * Creates the app in the caller's tenant if it is new (ConflictError if another tenant has the
 * id), records a pending upload and issues where to put the bytes.
 */
export async function issueUpload(deps: UploadIssueDeps, caller: AdminCaller, request: UploadRequest): Promise<IssuedUpload> {
  const { appId, version, size } = request;
  const { app } = await deps.apps.ensureApp({ appId, tenantId: caller.tenantId, createdAt: deps.clock.nowSeconds() });
  if (app.tenantId !== caller.tenantId) throw new ConflictError(`app ${appId} belongs to another tenant`);
  await deps.keys.ensureSigningKey(caller.tenantId);
  const uploadId = encodeB64u(deps.random.bytes(16));
  const objectKey = buildObjectKey({ appId, version, uploadId });
  const record: UploadRecord = {
    uploadId,
    appId,
    version,
    objectKey,
    status: 'pending',
    createdAt: deps.clock.nowSeconds(),
    // The register function refuses the upload if the app changed hands since.
    tenantId: caller.tenantId,
    expectedSize: size,
    ...(request.expireAfterSeconds !== undefined ? { expireAfterSeconds: request.expireAfterSeconds } : {}),
    ...(request.note !== undefined ? { note: request.note } : {}),
  };
  if (size <= MULTIPART_THRESHOLD_BYTES) {
    // Recorded before the URL exists, so the register function always finds the upload it is told about.
    await deps.uploads.putUpload(record);
    const { url, expiresAt } = await deps.uploadUrls.issue(objectKey, size);
    return { kind: 'single', upload: record, url, urlExpiresAt: expiresAt };
  }
  const partSize = partSizeFor(size);
  const ticket = await deps.uploadUrls.issueMultipart(objectKey, size, partSize);
  const multipart = { ...record, multipartUploadId: ticket.multipartUploadId };
  await deps.uploads.putUpload(multipart);
  return { kind: 'multipart', upload: multipart, partSize, parts: ticket.parts, urlExpiresAt: ticket.expiresAt };
}

export interface UploadStatusDeps {
  readonly uploads: Pick<UploadStore, 'getUpload'>;
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly registrations: Pick<RegistrationStore, 'getRegistration'>;
}

/**
 * The caller's upload and, once registered, its registration. App ids outlive their owners (an app
 * can be removed and its id taken by another tenant), so the registration must still be this
 * tenant's and of this upload's build, not merely stored under the same (appId, version).
 */
export async function uploadStatus(
  deps: UploadStatusDeps,
  caller: AdminCaller,
  uploadId: string,
): Promise<{ readonly upload: UploadRecord; readonly registration?: RegistrationRecord }> {
  const upload = await ownedUpload(deps, caller, uploadId);
  const app = upload.status === 'registered' ? await deps.apps.getApp(upload.appId) : undefined;
  const stored = app?.tenantId === caller.tenantId ? await deps.registrations.getRegistration(upload.appId, upload.version) : undefined;
  return stored?.sha256 === upload.sha256 && stored ? { upload, registration: stored } : { upload };
}

export interface UploadCompletionDeps {
  readonly uploads: Pick<UploadStore, 'getUpload' | 'markUploadCompleted'>;
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly uploadUrls: Pick<UploadUrlIssuer, 'completeMultipart'>;
  readonly clock: Clock;
}

/**
 * Completes the caller's multipart upload from its parts' ETags. A retry of a completion that
 * succeeded (its response lost) gets the same answer; the parts must be 1..n in order, n being what
 * the upload's size was split into.
 */
export async function completeUpload(
  deps: UploadCompletionDeps,
  caller: AdminCaller,
  uploadId: string,
  parts: readonly CompletedPart[],
): Promise<{ readonly upload: UploadRecord; readonly completedNow: boolean }> {
  const upload = await ownedUpload(deps, caller, uploadId);
  if (upload.multipartUploadId === undefined || upload.expectedSize === undefined) {
    throw new ConflictError(`upload ${upload.uploadId} is a single PUT, not a multipart upload`);
  }
  if (upload.completedAt !== undefined) return { upload, completedNow: false };
  if (upload.status !== 'pending') throw new ConflictError(`upload ${upload.uploadId} is already ${upload.status}`);
  const expected = partCountFor(upload.expectedSize);
  if (parts.length !== expected || parts.some((p, i) => p.partNumber !== i + 1)) {
    throw new InvalidRequestError('parts', `must list parts 1 to ${expected} in order, each with the ETag S3 returned`);
  }
  try {
    await deps.uploadUrls.completeMultipart(upload.objectKey, upload.multipartUploadId, parts);
  } catch (error) {
    if (error instanceof MultipartRejectedError) {
      if (error.gone) throw new ConflictError(`upload ${upload.uploadId} can no longer be completed: ${error.message}`);
      throw new InvalidRequestError('parts', `were refused by S3 (${error.message}); upload the parts again with a new upload`);
    }
    throw error;
  }
  const completedAt = deps.clock.nowSeconds();
  await deps.uploads.markUploadCompleted(upload.uploadId, completedAt);
  return { upload: { ...upload, completedAt }, completedNow: true };
}
