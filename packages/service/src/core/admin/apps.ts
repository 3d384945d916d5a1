/** Apps of the caller's tenant (docs/ADMIN_API.md §3): list, create, remove. */
import { ConflictError, NotFoundError } from '../errors';
import type { AppRecord, AppRemoval, AppStore, Clock, TenantApps, TenantKeyManager } from '../ports';
import type { AdminCaller } from '../tenancy';
import { ownedApp } from './ownership';

export function listApps(deps: { readonly apps: Pick<TenantApps, 'listApps'> }, caller: AdminCaller): Promise<AppRecord[]> {
  return deps.apps.listApps(caller.tenantId);
}

export interface AppCreationDeps {
  readonly apps: Pick<AppStore, 'getApp' | 'ensureApp'>;
  /** Tokens of the app are signed with the tenant's key, so the tenant needs one before the first attestation. */
  readonly keys: Pick<TenantKeyManager, 'ensureSigningKey'>;
  readonly clock: Clock;
}

/**
 * Idempotent for the owner (`created` false, the existing app); ConflictError when another tenant
 * has the id, since app ids are global (the one place where another tenant's app is not a 404).
 * Of concurrent creations only the one whose conditional write made the app says `created`.
 */
export async function createApp(deps: AppCreationDeps, caller: AdminCaller, appId: string): Promise<{ readonly app: AppRecord; readonly created: boolean }> {
  const existing = await deps.apps.getApp(appId);
  if (existing && existing.tenantId !== caller.tenantId) throw new ConflictError(`app ${appId} belongs to another tenant`);
  // For an existing app this repairs the tenant's app index if an earlier creation was interrupted.
  const { app, created } = await deps.apps.ensureApp(existing ?? { appId, tenantId: caller.tenantId, createdAt: deps.clock.nowSeconds() });
  // Another tenant created it between the read and the write.
  if (app.tenantId !== caller.tenantId) throw new ConflictError(`app ${appId} belongs to another tenant`);
  await deps.keys.ensureSigningKey(caller.tenantId);
  return { app, created };
}

/** Removes the caller's app and everything under it: its attestations fail (app_unknown) from then on. */
export async function removeApp(deps: { readonly apps: Pick<TenantApps, 'getApp' | 'deleteApp'> }, caller: AdminCaller, appId: string): Promise<AppRemoval> {
  const app = await ownedApp(deps.apps, caller, appId);
  const removal = await deps.apps.deleteApp(app.appId);
  // Removed by a concurrent request since the ownership check.
  if (!removal) throw new NotFoundError(`no app ${app.appId} in tenant ${caller.tenantId}`);
  return removal;
}
