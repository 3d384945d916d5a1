/**
 * Admin API (docs/ADMIN_API.md): AWS_IAM (SigV4) in AWS, SigV4 against the local credentials on
 * the local cloud. It is served by one function per area (./admin-catalog.ts, ./admin-keys.ts,
 * ./admin-uploads.ts), so that each bundles and loads only the adapters its routes call; they share
 * the caller-to-tenant resolution (./admin/router.ts) and the routes (./admin/, one file per
 * resource). Lambdas import their own area's module; this one gathers every area, for the local
 * cloud (one process serving all of them) and for checks against src/routes.ts.
 */
import type { AdminLambdaName } from '@attestor/contracts/routes';
import { adminCatalogHandler, CATALOG_ROUTES } from './admin-catalog';
import { adminKeysHandler, KEYS_ROUTES } from './admin-keys';
import { adminUploadsHandler, UPLOADS_ROUTES } from './admin-uploads';
import type { AdminDeps } from './admin/context';
import type { ApiHandler } from './http';
import type { Logger } from './log';

export type { AdminCatalogDeps, AdminDeps, AdminKeysDeps, AdminUploadsDeps } from './admin/context';
export { adminCatalogHandler, adminKeysHandler, adminUploadsHandler };
export type { AdminLambdaName };


/** The routes each admin function serves, keyed like src/routes.ts. */
export const ADMIN_ROUTE_KEYS: Readonly<Record<AdminLambdaName, readonly string[]>> = {
  adminCatalog: Object.keys(CATALOG_ROUTES),
  adminKeys: Object.keys(KEYS_ROUTES),
  adminUploads: Object.keys(UPLOADS_ROUTES),
};

/** Every admin function over the same dependencies, as the local cloud runs them. */
export function adminHandlers(deps: AdminDeps, log: Logger): Record<AdminLambdaName, ApiHandler> {
  return {
    adminCatalog: adminCatalogHandler(deps, log),
    adminKeys: adminKeysHandler(deps, log),
    adminUploads: adminUploadsHandler(deps, log),
  };
}
