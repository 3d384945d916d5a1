/**
 * The machinery of the configuration records (./config.ts): what a record is, the error it throws, the
 * defaults, and the reader each fromEnv reads with. No imports beyond this package's own small modules.
 */
import { DEFAULT_MAX_BUILD_BYTES } from './admin-api';
import { ServiceError } from './errors';
import { DEFAULT_TOKEN_TTL_SECONDS, TOKEN_HEADER_NAME } from './protocol';
import { GOOGLE_ATTESTATION_STATUS_URL } from './tables';

/** A function's environment as it reads it (process.env), or as a writer builds it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** One function's configuration: its variables, and the two directions between them and the typed record. */
export interface FunctionConfigContract<C> {
  /** Every variable fromEnv reads and toEnv may write, in the order docs/ENFORCEMENT.md lists the authorizer's. */
  readonly variables: readonly string[];
  /**
   * The environment from which fromEnv reads `config` back. Settings the writers have never set
   * while at their default (ATTESTOR_DEFAULT_TENANT, MAX_BUILD_BYTES, ...) are left out when at it,
   * so that deployments keep the environments they had.
   */
  toEnv(config: C): Record<string, string>;
  /** The typed configuration; throws a ConfigurationError naming the variable at fault. */
  fromEnv(env: Environment): C;
}

/**
 * A function's environment is missing a variable or holds one it cannot use (or, at synth, the
 * AttestationAuthorizer's props would make one). Thrown at cold start, so the function serves no request.
 */
export class ConfigurationError extends ServiceError {
  override readonly name = 'ConfigurationError';
  override readonly code = 'configuration_invalid';
}

/** What a setting is when its variable is absent (or empty). */
export const CONFIG_DEFAULTS = {
  issuer: 'attestor',
  defaultTenantId: 'default',
  decoyKeyId: 'alias/attestor/decoy',
  tenantKeyAliasPrefix: 'alias/attestor/tenant/',
  tokenTtlSeconds: DEFAULT_TOKEN_TTL_SECONDS,
  maxBuildBytes: DEFAULT_MAX_BUILD_BYTES,
  attestationStatusUrl: GOOGLE_ATTESTATION_STATUS_URL,
  authorizerMode: 'enforce',
  tokenHeader: TOKEN_HEADER_NAME,
  bindingHeader: 'Authorization',
  keySource: 'kms',
  cacheSeconds: 0,
} as const;

/**
 * The local cloud's test roots (packages/local/src/start.ts). Whoever holds a trusted test root can
 * mint any hardware evidence, so every function refuses the variable at cold start, and the CDK stack
 * at synth.
 */
export const HARDWARE_TEST_ROOTS_VARIABLE = 'ATTESTOR_HARDWARE_TEST_ROOTS';

/** Set by Lambda in every function, never by a writer, so no record holds them. */
export const REGION_VARIABLES = ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const;

/** The Region of the function's AWS clients and of its SigV4 signatures. */
export function regionFromEnv(env: Environment): string {
  return env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || 'us-east-1';
}

/** What fromEnv reads with: only the function's own variables (`N`), each absent when empty. */
export interface Reader<N extends string> {
  text(name: N): string | undefined;
  required(name: N, when?: string): string;
  flag(name: N): boolean;
  oneOf<T extends string>(name: N, allowed: readonly T[], fallback: T): T;
  /** A decimal number; whether it is whole and in range is the caller's (or the authorizer check's) to say. */
  number(name: N, fallback: number): number;
  wholeNumber(name: N, fallback: number, range: { readonly min: number; readonly max?: number; readonly unit: string }): number;
  /** Values separated by commas, trimmed, blanks dropped. */
  list(name: N): string[];
  /** Throws `<name> must be <expected>, got "<value>"`. */
  fail(name: N, expected: string, value?: string): never;
}

export function reader<N extends string>(env: Environment, variables: readonly N[]): Reader<N> {
  const text = (name: N): string | undefined => {
    // The types already hold fromEnv to its own variables; this catches a cast.
    if (!variables.includes(name)) throw new Error(`${name} is not one of this function's variables`);
    const value = env[name];
    // Lambda keeps a variable set to '', and no setting here has an empty value that means something.
    return value === undefined || value === '' ? undefined : value;
  };
  const fail = (name: N, expected: string, value = env[name]): never => {
    throw new ConfigurationError(`${name} must be ${expected}, got "${value}"`);
  };
  return {
    text,
    required: (name, when) => {
      const value = text(name);
      if (value === undefined) throw new ConfigurationError(`environment variable ${name} is required${when ? ` ${when}` : ''}`);
      return value;
    },
    flag: (name) => {
      const value = text(name) ?? 'false';
      if (value !== 'true' && value !== 'false') fail(name, 'true or false');
      return value === 'true';
    },
    oneOf: (name, allowed, fallback) => {
      const value = text(name) ?? fallback;
      if (!(allowed as readonly string[]).includes(value)) fail(name, allowed.join(' or '), value);
      return value as (typeof allowed)[number];
    },
    number: (name, fallback) => {
      const value = text(name);
      if (value === undefined) return fallback;
      return /^\d{1,15}(\.\d{1,15})?$/.test(value) ? Number(value) : fail(name, 'a number');
    },
    wholeNumber: (name, fallback, { min, max, unit }) => {
      const value = text(name);
      if (value === undefined) return fallback;
      const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
      if (!(n >= min && (max === undefined || n <= max))) fail(name, `a whole number of ${unit} from ${min}${max === undefined ? '' : ` to ${max}`}`);
      return n;
    },
    list: (name) =>
      (text(name) ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    fail,
  };
}

/**
 * A record from its variables and its two directions (used by ./config-service.ts and ./config-authorizer.ts). `N` comes from `variables` alone (NoInfer), so
 * toEnv and fromEnv cannot name a variable the list does not have.
 */
export function defineConfig<N extends string, C extends object>(spec: {
  readonly variables: readonly N[];
  toEnv(config: C): { readonly [K in NoInfer<N>]?: string | undefined };
  fromEnv(read: Reader<NoInfer<N>>): C;
}): FunctionConfigContract<C> {
  return {
    variables: spec.variables,
    toEnv(config) {
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(spec.toEnv(config) as Record<string, string | undefined>)) {
        if (!(spec.variables as readonly string[]).includes(name)) throw new Error(`${name} is not one of this function's variables`);
        if (value !== undefined) env[name] = value;
      }
      return env;
    },
    fromEnv(env) {
      if (env[HARDWARE_TEST_ROOTS_VARIABLE] !== undefined) {
        throw new ConfigurationError(`${HARDWARE_TEST_ROOTS_VARIABLE} is for the local cloud only: a deployed function never trusts test roots`);
      }
      // Optional settings are absent, not undefined, so that a record read back equals the one written.
      const config: Record<string, unknown> = { ...(spec.fromEnv(reader(env, spec.variables)) as Record<string, unknown>) };
      for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
      return config as C;
    },
  };
}

/** `value`, unless it is the default: for settings the writers leave out when at their default. */
export const unlessDefault = <T>(value: T, fallback: T): T | undefined => (value === fallback ? undefined : value);
