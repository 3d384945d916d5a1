/**
 * Uploads of builds: POST /v1/admin/apps/{appId}/uploads, POST /v1/admin/uploads/{uploadId}/complete,
 * GET /v1/admin/uploads/{uploadId}. The use cases are core/admin/uploads.ts.
 */
import { completeUploadSchema, uploadRequestSchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { completeUpload as complete, issueUpload, uploadStatus } from '../../core/admin/uploads';
import type { UploadRecord } from '../../core/ports';
import { json, parseJsonBody } from '../http';
import { pathAppId, type AdminRequest, type AdminRequestWith, type UseCaseDeps } from './context';
import { publicRegistration } from './registrations';

export async function createUpload(request: AdminRequestWith<UseCaseDeps<typeof issueUpload> & { readonly maxBuildBytes: number }>) {
  const { deps, caller } = request;
  const appId = pathAppId(request);
  const body = parseRequest(uploadRequestSchema(deps.maxBuildBytes), parseJsonBody(request.event));
  const issued = await issueUpload(deps, caller, { appId, ...body });
  const { uploadId, objectKey } = issued.upload;
  const fields = { tenantId: caller.tenantId, appId, version: body.version, uploadId, size: body.size };
  if (issued.kind === 'single') {
    request.log.info('upload_issued', fields);
    return json(201, { uploadId, objectKey, uploadUrl: issued.url, urlExpiresAt: issued.urlExpiresAt });
  }
  request.log.info('upload_issued', { ...fields, parts: issued.parts.length });
  return json(201, { uploadId, objectKey, urlExpiresAt: issued.urlExpiresAt, multipart: { partSize: issued.partSize, parts: issued.parts } });
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

const pathUploadId = (request: AdminRequest): string => request.params['uploadId'] ?? '';

export async function getUpload(request: AdminRequestWith<UseCaseDeps<typeof uploadStatus>>) {
  const { upload, registration } = await uploadStatus(request.deps, request.caller, pathUploadId(request));
  return json(200, { ...publicUpload(upload), ...(registration ? { registration: publicRegistration(registration) } : {}) });
}

export async function completeUpload(request: AdminRequestWith<UseCaseDeps<typeof complete>>) {
  const uploadId = pathUploadId(request);
  const { parts } = parseRequest(completeUploadSchema, parseJsonBody(request.event));
  const { upload, completedNow } = await complete(request.deps, request.caller, uploadId, parts);
  if (completedNow) request.log.info('upload_completed', { tenantId: request.caller.tenantId, uploadId: upload.uploadId, parts: parts.length });
  return json(200, publicUpload(upload));
}
