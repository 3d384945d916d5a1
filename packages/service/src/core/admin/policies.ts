/** Policies of the caller's apps (docs/ADMIN_API.md §6). */
import { completePolicy, DEFAULT_POLICY, type CompletePolicy, type PolicySettings } from '../policy';
import type { AppStore, PolicyStore } from '../ports';
import type { AdminCaller } from '../tenancy';
import { ownedApp } from './ownership';

export interface PolicyAdminDeps {
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly policies: PolicyStore;
}

/**
 * The app's policy as attest judges it: DEFAULT_POLICY until one is set, and every setting a stored
 * policy leaves out (hardware, measurement: policies from before they existed) at its default.
 */
export async function appPolicy(deps: PolicyAdminDeps, caller: AdminCaller, appId: string): Promise<CompletePolicy> {
  const app = await ownedApp(deps.apps, caller, appId);
  return completePolicy((await deps.policies.getPolicy(app.appId)) ?? DEFAULT_POLICY);
}

/**
 * A replacement, not a patch: what is stored is the policy sent with whatever it leaves out at its
 * default (hardware member by member), so that the stored item says everything attest applies.
 */
export async function setAppPolicy(deps: PolicyAdminDeps, caller: AdminCaller, appId: string, policy: PolicySettings): Promise<CompletePolicy> {
  const app = await ownedApp(deps.apps, caller, appId);
  const stored = completePolicy(policy);
  await deps.policies.putPolicy(app.appId, stored);
  return stored;
}
