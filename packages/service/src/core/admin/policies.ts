/** Policies of the caller's apps (docs/ADMIN_API.md §6). */
import { DEFAULT_POLICY, type Policy } from '../policy';
import type { AppStore, PolicyStore } from '../ports';
import type { AdminCaller } from '../tenancy';
import { ownedApp } from './ownership';

export interface PolicyAdminDeps {
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly policies: PolicyStore;
}

/** The app's policy: DEFAULT_POLICY until one is set, as attest judges it. */
export async function appPolicy(deps: PolicyAdminDeps, caller: AdminCaller, appId: string): Promise<Policy> {
  const app = await ownedApp(deps.apps, caller, appId);
  return (await deps.policies.getPolicy(app.appId)) ?? DEFAULT_POLICY;
}

/** A replacement, not a patch: every field is stated, so what is stored is exactly what was sent. */
export async function setAppPolicy(deps: PolicyAdminDeps, caller: AdminCaller, appId: string, policy: Policy): Promise<Policy> {
  const app = await ownedApp(deps.apps, caller, appId);
  const stored: Policy = { reject: { ...policy.reject }, ...(policy.minSdkVersion !== undefined ? { minSdkVersion: policy.minSdkVersion } : {}) };
  await deps.policies.putPolicy(app.appId, stored);
  return stored;
}
