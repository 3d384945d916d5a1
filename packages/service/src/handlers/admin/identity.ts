/** An app's store identity: GET/PUT /v1/admin/apps/{appId}/identity (docs/ADMIN_API.md §3). */
import { appIdentitySchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { appIdentity, setAppIdentity } from '../../core/admin/identities';
import { json, parseJsonBody } from '../http';
import { pathAppId, type AdminRequestWith, type UseCaseDeps } from './context';

type IdentityRequest = AdminRequestWith<UseCaseDeps<typeof setAppIdentity>>;

export async function getIdentity(request: IdentityRequest) {
  return json(200, await appIdentity(request.deps, request.caller, pathAppId(request)));
}

export async function putIdentity(request: IdentityRequest) {
  const appId = pathAppId(request);
  const body = parseRequest(appIdentitySchema, parseJsonBody(request.event));
  const identity = await setAppIdentity(request.deps, request.caller, appId, {
    ...(body.ios ? { ios: body.ios } : {}),
    ...(body.android ? { android: body.android } : {}),
  });
  request.log.info('identity_set', { tenantId: request.caller.tenantId, appId, ios: identity.ios !== undefined, android: identity.android !== undefined });
  return json(200, identity);
}
