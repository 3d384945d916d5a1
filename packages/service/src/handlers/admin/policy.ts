/** An app's policy: GET/PUT /v1/admin/apps/{appId}/policy (docs/ADMIN_API.md §6). */
import { policySchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { appPolicy, setAppPolicy } from '../../core/admin/policies';
import type { Policy } from '../../core/policy';
import { json, parseJsonBody } from '../http';
import { pathAppId, type AdminRequestWith, type UseCaseDeps } from './context';

function shown(policy: Policy): Record<string, unknown> {
  return {
    reject: { ...policy.reject },
    ...(policy.minSdkVersion !== undefined ? { minSdkVersion: policy.minSdkVersion } : {}),
  };
}

type PolicyRequest = AdminRequestWith<UseCaseDeps<typeof setAppPolicy>>;

export async function getPolicy(request: PolicyRequest) {
  return json(200, shown(await appPolicy(request.deps, request.caller, pathAppId(request))));
}

export async function putPolicy(request: PolicyRequest) {
  const appId = pathAppId(request);
  const body = parseRequest(policySchema, parseJsonBody(request.event));
  const policy = await setAppPolicy(request.deps, request.caller, appId, {
    reject: body.reject,
    ...(body.minSdkVersion !== undefined ? { minSdkVersion: body.minSdkVersion } : {}),
  });
  request.log.info('policy_set', { tenantId: request.caller.tenantId, appId });
  return json(200, shown(policy));
}
