/**
 * Tenancy of what admin requests name: an app, upload or registration is the caller's only if it
 * belongs to the caller's tenant. Anything else is reported exactly like something missing
 * (NotFoundError), so that a tenant cannot probe which app ids or uploads others have
 * (docs/ADMIN_API.md §1.2). Every admin use case goes through these checks before it reads or
 * writes anything under an app or upload.
 */
import { ForbiddenError, NotFoundError } from '../errors';
import type { AppRecord, AppStore, UploadRecord, UploadStore } from '../ports';
import { UPLOAD_ID_PATTERN } from '../registration';
import type { AdminCaller } from '../tenancy';

/** The app, if the caller's tenant owns it; NotFoundError otherwise. */
export async function ownedApp(apps: Pick<AppStore, 'getApp'>, caller: AdminCaller, appId: string): Promise<AppRecord> {
  const app = await apps.getApp(appId);
  if (!app || app.tenantId !== caller.tenantId) throw new NotFoundError(`no app ${appId} in tenant ${caller.tenantId}`);
  return app;
}

/**
 * The upload, if the caller's tenant issued it; NotFoundError otherwise. Uploads from before
 * tenancy was recorded on them belong to their app's tenant.
 */
export async function ownedUpload(
  deps: { readonly uploads: Pick<UploadStore, 'getUpload'>; readonly apps: Pick<AppStore, 'getApp'> },
  caller: AdminCaller,
  uploadId: string,
): Promise<UploadRecord> {
  // An id this service could not have issued is looked up nowhere.
  const upload = UPLOAD_ID_PATTERN.test(uploadId) ? await deps.uploads.getUpload(uploadId) : undefined;
  const owner = upload && (upload.tenantId ?? (await deps.apps.getApp(upload.appId))?.tenantId);
  if (!upload || owner !== caller.tenantId) throw new NotFoundError(`no upload ${uploadId} in tenant ${caller.tenantId}`);
  return upload;
}

/**
 * Tenants and register failures are managed by operators only. `what` completes the refusal, so a
 * tenant is told which operation was refused: "only an operator credential may manage tenants".
 */
export function requireOperator(caller: AdminCaller, what: 'manage tenants' | 'manage register failures' = 'manage tenants'): void {
  if (!caller.operator) throw new ForbiddenError(`only an operator credential may ${what}`);
}
