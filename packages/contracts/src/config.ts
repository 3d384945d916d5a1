/**
 * Each function's configuration, in one place, as routes.ts is for routes: for every entry of LAMBDAS
 * one typed record with `toEnv` (what the CDK stack, the AttestationAuthorizer construct and the local
 * cloud write into the function's environment) and `fromEnv` (what the function reads at cold start).
 * A missing or malformed variable throws a ConfigurationError naming it and what it must be, so a
 * bad environment fails the cold start and never a request. The authorizer's settings also pass one
 * pure check, checkAuthorizerConfig, run by the construct at synth and by the function at cold start,
 * so both refuse the same settings in the same words.
 *
 * The records live in ./config-service.ts and ./config-authorizer.ts, their machinery in
 * ./config-contract.ts; everything is imported from here. No AWS imports and no validator: each function
 * bundles only its own record (they are built by pure calls, so esbuild drops the others), and
 * register, the authorizer and the revocation function, which validate no request body, must stay
 * small (bench/bundles.bench.ts).
 *
 * @example
 * ```ts
 * // The CDK stack:
 * new ServiceFunction(this, 'Challenge', { name: 'challenge', environment: CHALLENGE_CONFIG.toEnv({ noncesTable: table.tableName }) });
 * // The function, at cold start:
 * const config = CHALLENGE_CONFIG.fromEnv(process.env); // { noncesTable: '...' }, or a ConfigurationError
 * ```
 */
import { AUTHORIZER_CONFIG, type AuthorizerConfig } from './config-authorizer';
import type { FunctionConfigContract } from './config-contract';
import {
  ADMIN_CATALOG_CONFIG,
  ADMIN_KEYS_CONFIG,
  ADMIN_UPLOADS_CONFIG,
  ATTEST_CONFIG,
  CHALLENGE_CONFIG,
  DEMO_HELLO_CONFIG,
  REGISTER_CONFIG,
  REVOCATION_LIST_CONFIG,
  type AdminCatalogConfig,
  type AdminKeysConfig,
  type AdminUploadsConfig,
  type AttestConfig,
  type ChallengeConfig,
  type DemoHelloConfig,
  type RegisterConfig,
  type RevocationListConfig,
} from './config-service';
import type { LambdaName } from './routes';

export {
  ConfigurationError,
  CONFIG_DEFAULTS,
  HARDWARE_TEST_ROOTS_VARIABLE,
  REGION_VARIABLES,
  regionFromEnv,
  type Environment,
  type FunctionConfigContract,
} from './config-contract';
export * from './config-service';
export * from './config-authorizer';

// ---------- The table ----------

/** Each function's typed configuration. */
export interface FunctionConfigs {
  readonly challenge: ChallengeConfig;
  readonly attest: AttestConfig;
  readonly register: RegisterConfig;
  readonly authorizer: AuthorizerConfig;
  readonly demoHello: DemoHelloConfig;
  readonly adminCatalog: AdminCatalogConfig;
  readonly adminKeys: AdminKeysConfig;
  readonly adminUploads: AdminUploadsConfig;
  readonly revocationList: RevocationListConfig;
}

/**
 * Every function's record, by LAMBDAS name: for what iterates over all of them (tests, benches,
 * docs). A function's entry imports its own record instead, so that it bundles that one alone.
 */
export const FUNCTION_CONFIGS: { readonly [K in LambdaName]: FunctionConfigContract<FunctionConfigs[K]> } = {
  challenge: CHALLENGE_CONFIG,
  attest: ATTEST_CONFIG,
  register: REGISTER_CONFIG,
  authorizer: AUTHORIZER_CONFIG,
  demoHello: DEMO_HELLO_CONFIG,
  adminCatalog: ADMIN_CATALOG_CONFIG,
  adminKeys: ADMIN_KEYS_CONFIG,
  adminUploads: ADMIN_UPLOADS_CONFIG,
  revocationList: REVOCATION_LIST_CONFIG,
};
