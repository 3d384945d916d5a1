/**
 * Store identities of the caller's apps (docs/ADMIN_API.md §3): what hardware evidence is checked
 * against (PROTOCOL.md §5.5). Same ownership rules as every app route: another tenant's app does not exist.
 */
import type { AppIdentity } from '@attestor/contracts/admin-api';
import type { AppIdentityStore, AppStore } from '../ports';
import type { AdminCaller } from '../tenancy';
import { ownedApp } from './ownership';

export interface IdentityAdminDeps {
  readonly apps: Pick<AppStore, 'getApp'>;
  readonly identities: AppIdentityStore;
}

/** The app's identity; `{}` (neither platform) until one is set. */
export async function appIdentity(deps: IdentityAdminDeps, caller: AdminCaller, appId: string): Promise<AppIdentity> {
  const app = await ownedApp(deps.apps, caller, appId);
  return (await deps.identities.getAppIdentity(app.appId)) ?? {};
}

/**
 * Replaces the app's identity: a platform left out is no longer registered, and `{}` removes the
 * identity (the item goes, so the app's partition holds nothing that says nothing). Certificate
 * digests arrive normalised (lower-case hex) from the request schema.
 */
export async function setAppIdentity(deps: IdentityAdminDeps, caller: AdminCaller, appId: string, identity: AppIdentity): Promise<AppIdentity> {
  const app = await ownedApp(deps.apps, caller, appId);
  const stored = canonicalIdentity(identity);
  if (stored.ios === undefined && stored.android === undefined) await deps.identities.deleteAppIdentity(app.appId);
  else await deps.identities.putAppIdentity(app.appId, stored);
  return stored;
}

/** Exactly the identity's own members, in a fixed order, so that what is stored, returned and compared is one shape. */
export function canonicalIdentity(identity: AppIdentity): AppIdentity {
  const { ios, android } = identity;
  return {
    ...(ios ? { ios: { teamId: ios.teamId, bundleId: ios.bundleId } } : {}),
    ...(android
      ? {
          android: {
            packageName: android.packageName,
            signingCertificates: [...android.signingCertificates],
            ...(android.minVersionCode !== undefined ? { minVersionCode: android.minVersionCode } : {}),
          },
        }
      : {}),
  };
}
