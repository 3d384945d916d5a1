/**
 * The adminUploads function (docs/ADMIN_API.md): presigned uploads of builds and their state, and
 * (operators) the uploads the register function gave up on.
 * DynamoDB, S3 and KMS (an upload may create its app, whose tenant then needs a signing key).
 */
import type { AdminUploadsDeps } from './admin/context';
import { adminRouter, type AdminRoutes } from './admin/router';
import { clearFailures, listFailures, retryFailures } from './admin/register-failures';
import { completeUpload, createUpload, getUpload } from './admin/uploads';
import { ADMIN_UPLOADS_ROUTES } from '@attestor/contracts/routes';
import type { ApiHandler } from './http';
import type { Logger } from './log';
import { noMetrics, type ServiceMetrics } from './metrics';

export const UPLOADS_ROUTES: AdminRoutes<AdminUploadsDeps> = {
  'POST /v1/admin/apps/{appId}/uploads': createUpload,
  'GET /v1/admin/uploads/{uploadId}': getUpload,
  'POST /v1/admin/uploads/{uploadId}/complete': completeUpload,
  'GET /v1/admin/registrations/failures': listFailures,
  'POST /v1/admin/registrations/failures/retry': retryFailures,
  'POST /v1/admin/registrations/failures/clear': clearFailures,
};

export function adminUploadsHandler(deps: AdminUploadsDeps, log: Logger, metrics: ServiceMetrics = noMetrics): ApiHandler {
  return adminRouter('adminUploads', ADMIN_UPLOADS_ROUTES, UPLOADS_ROUTES, deps, log, metrics);
}
