/**
 * The adminKeys function (docs/ADMIN_API.md): tenants, app creation and the tenant's signing keys,
 * everything that may create a tenant key. DynamoDB and KMS; no S3.
 */
import { createApp } from './admin/apps';
import type { AdminKeysDeps } from './admin/context';
import { jwks, listKeys, rotateKey, wrappedSecrets } from './admin/keys';
import { adminRouter, type AdminRoutes } from './admin/router';
import { createTenant, grantRole, listTenants, revokeRole } from './admin/tenants';
import { mintTestTokenRoute, rotateTestSecretRoute, wrappedTestSecrets } from './admin/test-tokens';
import { ADMIN_KEYS_ROUTES } from '@attestor/contracts/routes';
import type { ApiHandler } from './http';
import type { Logger } from './log';
import { noMetrics, type ServiceMetrics } from './metrics';

export const KEYS_ROUTES: AdminRoutes<AdminKeysDeps> = {
  'GET /v1/admin/tenants': listTenants,
  'POST /v1/admin/tenants': createTenant,
  'POST /v1/admin/tenants/{tenantId}/principals': grantRole,
  'POST /v1/admin/tenants/{tenantId}/principals/revoke': revokeRole,
  // Creating an app provisions its tenant's signing key (KMS), so it lives here, not in adminCatalog.
  'POST /v1/admin/apps': createApp,
  'GET /v1/admin/keys': listKeys,
  'POST /v1/admin/keys/rotate': rotateKey,
  'GET /v1/admin/keys/jwks': jwks,
  'GET /v1/admin/keys/secrets': wrappedSecrets,
  'POST /v1/admin/tokens/test': mintTestTokenRoute,
  'GET /v1/admin/tokens/test/secrets': wrappedTestSecrets,
  'POST /v1/admin/tokens/test/rotate': rotateTestSecretRoute,
};

export function adminKeysHandler(deps: AdminKeysDeps, log: Logger, metrics: ServiceMetrics = noMetrics): ApiHandler {
  return adminRouter('adminKeys', ADMIN_KEYS_ROUTES, KEYS_ROUTES, deps, log, metrics);
}
