/**
 * The service's configuration. Each function's settings, their variables and their rules are its
 * record in @attestor/contracts/config (the CDK stack writes them with `toEnv`); here is what the
 * records leave out: the Region Lambda sets, and what only the local cloud passes (endpoints,
 * credentials, an injected clock, test roots). `lambdaConfig` reads a function's record at cold
 * start, so a missing variable fails there and not mid-request.
 *
 * Configuration only: no SDK client and no adapter is imported here, so every function can read its
 * environment without bundling the others' code. The wiring is in this folder's other modules (one
 * per function) and ./services.ts (everything, for the local cloud).
 */
import {
  regionFromEnv,
  type AdminCatalogConfig,
  type AdminKeysConfig,
  type AdminUploadsConfig,
  type AttestConfig,
  type ChallengeConfig,
  type Environment,
  type FunctionConfigContract,
  type RegisterConfig,
} from '@attestor/contracts/config';
import type { Clock, RandomSource } from '../core/ports';
import type { HardwareTestRoots } from '../core/hardware/ports';
import type { Logger } from '../handlers/log';
import type { ClientSettings } from './clients/settings';

export { ConfigurationError, CONFIG_DEFAULTS } from '@attestor/contracts/config';

/** What a function runs with besides its record: never read from the environment but the Region. */
export interface FunctionRuntime extends ClientSettings {
  /**
   * Local cloud only: certificates trusted besides the pinned Apple and Google roots, so end-to-end
   * tests can issue evidence with @attestor/hardware/testing. Every record's fromEnv refuses the
   * variable that would carry them (HARDWARE_TEST_ROOTS_VARIABLE).
   */
  readonly hardwareTestRoots?: HardwareTestRoots;
  /** Where adapters report what an operator must see (a revocation list that cannot be read); default: JSON on stdout. */
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

/**
 * Every function's settings at once: what the local cloud, which runs them all in one process over
 * one set of clients (./services.ts), passes. A Lambda reads only its own record.
 */
export type ServiceConfig = ChallengeConfig & AttestConfig & RegisterConfig & AdminCatalogConfig & AdminKeysConfig & AdminUploadsConfig & FunctionRuntime;

/**
 * A function's configuration at cold start: its record read from `env`, and the Region.
 * @example
 * ```ts
 * export const handler = challengeHandler(challengeDeps(lambdaConfig(CHALLENGE_CONFIG, process.env)), jsonLogger);
 * ```
 */
export function lambdaConfig<C>(record: FunctionConfigContract<C>, env: Environment): C & { readonly region: string } {
  return { ...record.fromEnv(env), region: regionFromEnv(env) };
}
