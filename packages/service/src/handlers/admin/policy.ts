/** An app's policy: GET/PUT /v1/admin/apps/{appId}/policy (docs/ADMIN_API.md §6). */
import { policySchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { appPolicy, setAppPolicy } from '../../core/admin/policies';
import { json, parseJsonBody } from '../http';
import { pathAppId, type AdminRequestWith, type UseCaseDeps } from './context';

type PolicyRequest = AdminRequestWith<UseCaseDeps<typeof setAppPolicy>>;

// The use cases answer a complete policy (core/policy.ts completePolicy): every setting is shown, defaults included.
export async function getPolicy(request: PolicyRequest) {
  return json(200, await appPolicy(request.deps, request.caller, pathAppId(request)));
}

export async function putPolicy(request: PolicyRequest) {
  const appId = pathAppId(request);
  const body = parseRequest(policySchema, parseJsonBody(request.event));
  const policy = await setAppPolicy(request.deps, request.caller, appId, {
    reject: body.reject,
    ...(body.minSdkVersion !== undefined ? { minSdkVersion: body.minSdkVersion } : {}),
    ...(body.hardware !== undefined ? { hardware: body.hardware } : {}),
    ...(body.measurement !== undefined ? { measurement: body.measurement } : {}),
  });
  request.log.info('policy_set', { tenantId: request.caller.tenantId, appId });
  return json(200, policy);
}
