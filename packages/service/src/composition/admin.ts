/**
 * What every admin function shares: the registry as tenant directory and the caller-to-tenant
 * resolution through its principal mappings and the configured operator principals
 * (core/tenancy.ts). No SDK client: each area's module (./admin-*.ts) adds only the adapters its
 * routes call.
 */
import { cryptoRandom } from '../core/attestation';
import { resolveAdminCaller } from '../core/tenancy';
import type { AdminCommonDeps } from '../handlers/admin/context';
import type { DynamoDbRegistry } from '../adapters/dynamodb-registry';
import type { ServiceConfig } from './environment';
import { clockOf } from './shared';

export function adminCommonDeps(config: ServiceConfig, registry: DynamoDbRegistry): AdminCommonDeps {
  // Parsed and normalised once, by configFromEnv.
  const operatorPrincipals: ReadonlySet<string> = new Set(config.operatorPrincipals ?? []);
  return {
    registry,
    tenants: registry,
    clock: clockOf(config),
    random: config.random ?? cryptoRandom,
    defaultTenantId: config.defaultTenantId,
    callerOf: (event) => resolveAdminCaller({ directory: registry, operatorPrincipals, defaultTenantId: config.defaultTenantId }, event.requestContext?.identity?.userArn),
  };
}
