/**
 * What every admin function shares: the caller-to-tenant resolution through the principal mappings
 * of the tenant directory and the configured operator principals (core/tenancy.ts). No SDK client:
 * each area's module (./admin-*.ts) adds only the adapters its routes call.
 */
import { cryptoRandom } from '../core/attestation';
import type { PrincipalDirectory } from '../core/ports';
import { normalisePrincipal, resolveAdminCaller } from '../core/tenancy';
import type { AdminCommonDeps } from '../handlers/admin/context';
import type { AdminCommonConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { clockOf } from './shared';

export function adminCommonDeps(config: AdminCommonConfig & FunctionRuntime, directory: PrincipalDirectory): AdminCommonDeps {
  // Normalised once, at cold start, as callers are on every request: a role named with its path matches its sessions.
  const operatorPrincipals: ReadonlySet<string> = new Set((config.operatorPrincipals ?? []).map(normalisePrincipal));
  return {
    clock: clockOf(config),
    random: config.random ?? cryptoRandom,
    defaultTenantId: config.defaultTenantId,
    callerOf: (event) =>
      resolveAdminCaller({ directory, operatorPrincipals, defaultTenantId: config.defaultTenantId }, event.requestContext?.identity?.userArn),
  };
}
