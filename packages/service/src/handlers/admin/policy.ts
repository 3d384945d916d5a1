/** An app's policy: GET/PUT /v1/admin/apps/{appId}/policy (docs/ADMIN_API.md §6). */
import { policySchema } from '@attestor/contracts/admin-validation';
import { DEFAULT_POLICY, type Policy } from '../../core/policy';
import { parseRequest } from '@attestor/contracts/validation';
import { json, parseJsonBody } from '../http';
import { ownedApp, type AdminRequest } from './context';

function shown(policy: Policy): Record<string, unknown> {
  return {
    reject: { ...policy.reject },
    ...(policy.minSdkVersion !== undefined ? { minSdkVersion: policy.minSdkVersion } : {}),
  };
}

export async function getPolicy(request: AdminRequest) {
  const app = await ownedApp(request);
  return json(200, shown((await request.deps.registry.getPolicy(app.appId)) ?? DEFAULT_POLICY));
}

/** A replacement, not a patch: every field is stated, so what is stored is exactly what was sent. */
export async function putPolicy(request: AdminRequest) {
  const app = await ownedApp(request);
  const body = parseRequest(policySchema, parseJsonBody(request.event));
  const policy: Policy = {
    reject: body.reject,
    ...(body.minSdkVersion !== undefined ? { minSdkVersion: body.minSdkVersion } : {}),
  };
  await request.deps.registry.putPolicy(app.appId, policy);
  request.log.info('policy_set', { tenantId: request.caller.tenantId, appId: app.appId });
  return json(200, shown(policy));
}
