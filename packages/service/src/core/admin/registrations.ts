/** Registrations of the caller's apps (docs/ADMIN_API.md §5): list, remove, expire. */
import { NotFoundError } from '../errors';
import type { AppStore, Clock, RegistrationRecord, RegistrationStore } from '../ports';
import type { AdminCaller } from '../tenancy';
import { ownedApp } from './ownership';

export interface RegistrationAdminDeps {
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly registrations: Pick<RegistrationStore, 'listRegistrations' | 'deleteRegistration' | 'setRegistrationExpiry'>;
}

/** Newest first. */
export async function listRegistrations(deps: RegistrationAdminDeps, caller: AdminCaller, appId: string): Promise<RegistrationRecord[]> {
  const app = await ownedApp(deps.apps, caller, appId);
  return deps.registrations.listRegistrations(app.appId);
}

/** Removes the registration and returns it; attestations of that build fail from then on. */
export async function removeRegistration(deps: RegistrationAdminDeps, caller: AdminCaller, appId: string, version: string): Promise<RegistrationRecord> {
  const app = await ownedApp(deps.apps, caller, appId);
  const removed = await deps.registrations.deleteRegistration(app.appId, version);
  if (!removed) throw new NotFoundError(`no registration of ${app.appId} ${version}`);
  return removed;
}

/** Sets the registration to expire `afterSeconds` from now (0: now), and returns it as stored. */
export async function expireRegistration(
  deps: RegistrationAdminDeps & { readonly clock: Clock },
  caller: AdminCaller,
  appId: string,
  version: string,
  afterSeconds: number,
): Promise<RegistrationRecord> {
  const app = await ownedApp(deps.apps, caller, appId);
  const updated = await deps.registrations.setRegistrationExpiry(app.appId, version, deps.clock.nowSeconds() + afterSeconds);
  if (!updated) throw new NotFoundError(`no registration of ${app.appId} ${version}`);
  return updated;
}
