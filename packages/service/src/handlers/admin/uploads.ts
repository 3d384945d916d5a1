/**
 * Uploads of builds: POST /v1/admin/apps/{appId}/uploads, POST /v1/admin/uploads/{uploadId}/complete,
 * GET /v1/admin/uploads/{uploadId}. The bytes go straight to S3 through presigned URLs; the register
 * function settles the upload when S3 announces the object.
 */
import { completeUploadSchema, uploadRequestSchema } from '@attestor/contracts/admin-validation';
import { encodeB64u } from '@attestor/contracts/base64url';
import { MultipartRejectedError, type UploadRecord } from '../../core/ports';
import { buildObjectKey, MULTIPART_THRESHOLD_BYTES, partCountFor, partSizeFor, UPLOAD_ID_PATTERN } from '../../core/registration';
import { InvalidRequestError, parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import { conflict, notFound, pathAppId, type AdminDepsWith, type AdminRequest, type AdminUploadsDeps } from './context';
import { publicRegistration } from './registrations';

export async function createUpload(request: AdminRequest<AdminUploadsDeps>) {
  const { deps, caller } = request;
  const appId = pathAppId(request);
  const body = parseRequest(uploadRequestSchema(deps.maxBuildBytes), parseJsonBody(request.event));
  const app = await deps.registry.ensureApp({ appId, tenantId: caller.tenantId, createdAt: deps.clock.nowSeconds() });
  if (app.tenantId !== caller.tenantId) throw conflict(`app ${appId} belongs to another tenant`);
  await deps.keys.ensureSigningKey(caller.tenantId);
  const uploadId = encodeB64u(deps.random.bytes(16));
  const objectKey = buildObjectKey({ appId, version: body.version, uploadId });
  const record: UploadRecord = {
    uploadId,
    appId,
    version: body.version,
    objectKey,
    status: 'pending',
    createdAt: deps.clock.nowSeconds(),
    tenantId: caller.tenantId,
    expectedSize: body.size,
    ...(body.expireAfterSeconds !== undefined ? { expireAfterSeconds: body.expireAfterSeconds } : {}),
    ...(body.note !== undefined ? { note: body.note } : {}),
  };
  const fields = { tenantId: caller.tenantId, appId, version: body.version, uploadId, size: body.size };
  if (body.size <= MULTIPART_THRESHOLD_BYTES) {
    // Recorded before the URL exists, so the register function always finds the upload it is told about.
    await deps.registry.putUpload(record);
    const { url, expiresAt } = await deps.uploads.issue(objectKey, body.size);
    request.log.info('upload_issued', fields);
    return json(201, { uploadId, objectKey, uploadUrl: url, urlExpiresAt: expiresAt });
  }
  const partSize = partSizeFor(body.size);
  const ticket = await deps.uploads.issueMultipart(objectKey, body.size, partSize);
  await deps.registry.putUpload({ ...record, multipartUploadId: ticket.multipartUploadId });
  request.log.info('upload_issued', { ...fields, parts: ticket.parts.length });
  return json(201, { uploadId, objectKey, urlExpiresAt: ticket.expiresAt, multipart: { partSize, parts: ticket.parts } });
}

/** An upload of the caller's tenant, or 404 (another tenant's uploads do not exist for this caller). */
async function ownedUpload(request: AdminRequest): Promise<UploadRecord> {
  const uploadId = request.params['uploadId'] ?? '';
  const upload = UPLOAD_ID_PATTERN.test(uploadId) ? await request.deps.registry.getUpload(uploadId) : undefined;
  // Uploads from before tenancy was recorded on them belong to their app's tenant.
  const owner = upload && (upload.tenantId ?? (await request.deps.registry.getApp(upload.appId))?.tenantId);
  if (!upload || owner !== request.caller.tenantId) throw notFound(`no upload ${uploadId} in tenant ${request.caller.tenantId}`);
  return upload;
}

/** The upload as the admin API shows it: internal bookkeeping (S3 ids, tenant) stays inside. */
function publicUpload(upload: UploadRecord): Record<string, unknown> {
  const size = upload.size ?? upload.expectedSize;
  return {
    uploadId: upload.uploadId,
    appId: upload.appId,
    version: upload.version,
    objectKey: upload.objectKey,
    status: upload.status,
    createdAt: upload.createdAt,
    ...(size !== undefined ? { size } : {}),
    ...(upload.sha256 !== undefined ? { sha256: upload.sha256 } : {}),
    ...(upload.reason !== undefined ? { reason: upload.reason } : {}),
    ...(upload.expireAfterSeconds !== undefined ? { expireAfterSeconds: upload.expireAfterSeconds } : {}),
    ...(upload.note !== undefined ? { note: upload.note } : {}),
  };
}

export async function getUpload(request: AdminRequest) {
  const upload = await ownedUpload(request);
  // App ids outlive their owners (an app can be removed and its id taken by another tenant), so the
  // registration shown must still be this tenant's and of this upload's build, not merely stored
  // under the same (appId, version).
  const app = upload.status === 'registered' ? await request.deps.registry.getApp(upload.appId) : undefined;
  const stored = app?.tenantId === request.caller.tenantId ? await request.deps.registry.getRegistration(upload.appId, upload.version) : undefined;
  const registration = stored?.sha256 === upload.sha256 ? stored : undefined;
  return json(200, { ...publicUpload(upload), ...(registration ? { registration: publicRegistration(registration) } : {}) });
}

export async function completeUpload(request: AdminRequest<AdminDepsWith<'uploads'>>) {
  const { deps } = request;
  const upload = await ownedUpload(request);
  const { parts } = parseRequest(completeUploadSchema, parseJsonBody(request.event));
  if (upload.multipartUploadId === undefined || upload.expectedSize === undefined) throw conflict(`upload ${upload.uploadId} is a single PUT, not a multipart upload`);
  // A retry of a complete that succeeded (the response was lost) gets the same answer.
  if (upload.completedAt !== undefined) return json(200, publicUpload(upload));
  if (upload.status !== 'pending') throw conflict(`upload ${upload.uploadId} is already ${upload.status}`);
  const expected = partCountFor(upload.expectedSize);
  if (parts.length !== expected || parts.some((p, i) => p.partNumber !== i + 1)) {
    throw new InvalidRequestError('parts', `must list parts 1 to ${expected} in order, each with the ETag S3 returned`);
  }
  try {
    await deps.uploads.completeMultipart(upload.objectKey, upload.multipartUploadId, parts);
  } catch (error) {
    if (error instanceof MultipartRejectedError) {
      if (error.gone) throw conflict(`upload ${upload.uploadId} can no longer be completed: ${error.message}`);
      throw new InvalidRequestError('parts', `were refused by S3 (${error.message}); upload the parts again with a new upload`);
    }
    throw error;
  }
  const completedAt = deps.clock.nowSeconds();
  await deps.registry.markUploadCompleted(upload.uploadId, completedAt);
  request.log.info('upload_completed', { tenantId: request.caller.tenantId, uploadId: upload.uploadId, parts: parts.length });
  return json(200, publicUpload({ ...upload, completedAt }));
}
