/**
 * The service's configuration: what each Lambda reads from its environment (`configFromEnv`, at
 * cold start, so a missing variable fails there and not mid-request) and what the local cloud
 * passes with its own endpoints (and, in tests, an injected clock). Same code, different endpoints.
 *
 * Configuration only: no SDK client and no adapter is imported here, so every function can parse
 * its environment without bundling the others' code. The wiring is in this folder's other modules
 * (one per function) and ./services.ts (everything, for the local cloud).
 */
import { ServiceError } from '../core/errors';
import type { Clock, RandomSource } from '../core/ports';
import type { HardwareTestRoots } from '../core/hardware/ports';
import type { Logger } from '../handlers/log';
import { DEFAULT_MAX_BUILD_BYTES } from '../core/registration';
import { parseOperatorPrincipals } from '../core/tenancy';
import { DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS } from '@attestor/contracts/protocol';
import { InvalidKeyPolicyRoleError, tenantKeyPolicy, type TenantKeyPolicyRoles } from '../adapters/kms-key-policy';

export interface ServiceConfig {
  readonly region: string;
  readonly noncesTable: string;
  readonly registryTable: string;
  /** Attestation log (issue 3); absent in deployments that do not keep one. */
  readonly attestationLogTable?: string;
  /** Consumed single-use token ids and proof jtis (issue 4); needed only where the authorizer enforces them. */
  readonly tokenLedgerTable?: string;
  readonly buildsBucket: string;
  /** `iss` of minted tokens and the only issuer verifiers accept. */
  readonly issuer: string;
  readonly defaultTenantId: string;
  /** The tenant whose tokens this deployment's authorizer accepts. */
  readonly authorizerTenantId: string;
  /** KMS key id, ARN or alias of the decoy signing key. */
  readonly decoyKeyId: string;
  /** Alias prefix of tenant signing keys, e.g. `alias/attestor/tenant/`. */
  readonly tenantKeyAliasPrefix: string;
  /**
   * Roles named in the key policies of the tenant keys this deployment creates (kms-key-policy.ts).
   * Absent: KMS's default policy, so IAM alone decides.
   */
  readonly tenantKeyPolicyRoles?: TenantKeyPolicyRoles;
  /** Lifetime of every token minted (ATTESTOR_TOKEN_TTL_SECONDS, 60 to 3600). */
  readonly tokenTtlSeconds: number;
  readonly maxBuildBytes: number;
  /**
   * IAM principals (ARNs) that operate the default tenant: they may create tenants and map other
   * principals to them (ATTESTOR_OPERATOR_PRINCIPALS, comma-separated), normalised as callers are
   * (core/tenancy.ts). Empty: only principals recorded in the registry have access.
   */
  readonly operatorPrincipals?: readonly string[];
  /** Hardware device records (HARDWARE_DEVICES_TABLE); absent, attest verifies no hardware evidence (PROTOCOL.md §5.5). */
  readonly hardwareDevicesTable?: string;
  /**
   * Where the stored copy of Google's attestation status list is (PROTOCOL.md §5.6): the builds
   * bucket's object REVOCATION_LIST_OBJECT_KEY (REVOCATION_LIST_BUCKET), or a file (REVOCATION_LIST_FILE,
   * the local cloud's). Absent: no serial is revoked, and attest logs that once per hour.
   */
  readonly revocationList?: { readonly bucket: string } | { readonly file: string };
  /** Where the revocation function fetches the list (ATTESTATION_STATUS_URL, https only); default Google's. */
  readonly attestationStatusUrl?: string;
  /**
   * Local cloud only, and never read from the environment: certificates trusted besides the pinned
   * Apple and Google roots, so end-to-end tests can issue evidence with @attestor/hardware/testing.
   */
  readonly hardwareTestRoots?: HardwareTestRoots;
  /** Where adapters report what an operator must see (a revocation list that cannot be read); default: JSON on stdout. */
  readonly logger?: Logger;
  /** Local cloud only: endpoints and static credentials of the stand-ins (clients/settings.ts). */
  readonly endpoints?: { readonly dynamodb: string; readonly s3: string; readonly kms: string };
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

/** Thrown at cold start, naming the variable at fault; a function that throws it never serves a request. */
export class ConfigurationError extends ServiceError {
  override readonly name = 'ConfigurationError';
  override readonly code = 'configuration_invalid';
}

export const DEFAULTS = {
  issuer: 'attestor',
  defaultTenantId: 'default',
  decoyKeyId: 'alias/attestor/decoy',
  tenantKeyAliasPrefix: 'alias/attestor/tenant/',
} as const;

export function configFromEnv(env: NodeJS.ProcessEnv): ServiceConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new ConfigurationError(`environment variable ${name} is required`);
    return value;
  };
  const defaultTenantId = env['ATTESTOR_DEFAULT_TENANT'] ?? DEFAULTS.defaultTenantId;
  // Test roots let whoever holds the test authority mint any evidence: a function never takes them.
  if (env['ATTESTOR_HARDWARE_TEST_ROOTS'] !== undefined) {
    throw new ConfigurationError('ATTESTOR_HARDWARE_TEST_ROOTS is for the local cloud only: a deployed function never trusts test roots');
  }
  return {
    region: env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    noncesTable: required('NONCES_TABLE'),
    registryTable: required('REGISTRY_TABLE'),
    ...(env['ATTESTATION_LOG_TABLE'] ? { attestationLogTable: env['ATTESTATION_LOG_TABLE'] } : {}),
    ...(env['TOKEN_LEDGER_TABLE'] ? { tokenLedgerTable: env['TOKEN_LEDGER_TABLE'] } : {}),
    ...(env['HARDWARE_DEVICES_TABLE'] ? { hardwareDevicesTable: env['HARDWARE_DEVICES_TABLE'] } : {}),
    ...revocationListFromEnv(env),
    buildsBucket: env['BUILDS_BUCKET'] ?? '',
    issuer: env['ATTESTOR_ISSUER'] ?? DEFAULTS.issuer,
    defaultTenantId,
    authorizerTenantId: env['AUTHORIZER_TENANT'] ?? defaultTenantId,
    decoyKeyId: env['DECOY_KEY_ID'] ?? DEFAULTS.decoyKeyId,
    tenantKeyAliasPrefix: env['TENANT_KEY_ALIAS_PREFIX'] ?? DEFAULTS.tenantKeyAliasPrefix,
    ...tenantKeyPolicyFromEnv(env),
    maxBuildBytes: env['MAX_BUILD_BYTES'] ? Number(env['MAX_BUILD_BYTES']) : DEFAULT_MAX_BUILD_BYTES,
    tokenTtlSeconds: tokenTtlFromEnv(env['ATTESTOR_TOKEN_TTL_SECONDS']),
    ...(env['ATTESTOR_OPERATOR_PRINCIPALS'] ? { operatorPrincipals: [...parseOperatorPrincipals(env['ATTESTOR_OPERATOR_PRINCIPALS'])] } : {}),
  };
}

/** REVOCATION_LIST_BUCKET or REVOCATION_LIST_FILE (not both), and ATTESTATION_STATUS_URL (https). */
function revocationListFromEnv(env: NodeJS.ProcessEnv): Pick<ServiceConfig, 'revocationList' | 'attestationStatusUrl'> {
  const bucket = env['REVOCATION_LIST_BUCKET'] || undefined;
  const file = env['REVOCATION_LIST_FILE'] || undefined;
  if (bucket !== undefined && file !== undefined) throw new ConfigurationError('REVOCATION_LIST_BUCKET and REVOCATION_LIST_FILE exclude each other');
  const url = env['ATTESTATION_STATUS_URL'] || undefined;
  if (url !== undefined && !/^https:\/\/[^\s]+$/.test(url)) throw new ConfigurationError(`ATTESTATION_STATUS_URL must be an https URL, got "${url}"`);
  return {
    ...(bucket !== undefined ? { revocationList: { bucket } } : file !== undefined ? { revocationList: { file } } : {}),
    ...(url !== undefined ? { attestationStatusUrl: url } : {}),
  };
}

/**
 * The tenant key policy from TENANT_KEY_SIGNER_ROLE_ARN (the attest role), TENANT_KEY_VERIFIER_ROLE_ARNS
 * (comma-separated authorizer roles) and TENANT_KEY_ADMIN_ROLE_ARN (the creating function's own role),
 * which the CDK stack sets on each key-creating admin function. No signer: no policy. Verifiers or admin without a signer, or
 * anything that is not a role ARN of one account, fails at cold start.
 */
/** The deployment's token lifetime: whole seconds from MIN_TOKEN_TTL_SECONDS to MAX_TOKEN_TTL_SECONDS. */
export function tokenTtlFromEnv(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_TOKEN_TTL_SECONDS;
  const seconds = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(seconds >= MIN_TOKEN_TTL_SECONDS && seconds <= MAX_TOKEN_TTL_SECONDS)) {
    const range = `from ${MIN_TOKEN_TTL_SECONDS} to ${MAX_TOKEN_TTL_SECONDS}`;
    throw new ConfigurationError(`ATTESTOR_TOKEN_TTL_SECONDS must be a whole number of seconds ${range}, got "${text}"`);
  }
  return seconds;
}

function tenantKeyPolicyFromEnv(env: NodeJS.ProcessEnv): { tenantKeyPolicyRoles?: TenantKeyPolicyRoles } {
  const signerRoleArn = env['TENANT_KEY_SIGNER_ROLE_ARN'] || undefined;
  const verifierRoleArns = (env['TENANT_KEY_VERIFIER_ROLE_ARNS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const adminRoleArn = env['TENANT_KEY_ADMIN_ROLE_ARN'] || undefined;
  if (signerRoleArn === undefined) {
    if (verifierRoleArns.length > 0 || adminRoleArn !== undefined) {
      throw new ConfigurationError('TENANT_KEY_SIGNER_ROLE_ARN is required when TENANT_KEY_VERIFIER_ROLE_ARNS or TENANT_KEY_ADMIN_ROLE_ARN is set');
    }
    return {};
  }
  const roles: TenantKeyPolicyRoles = { signerRoleArn, verifierRoleArns, ...(adminRoleArn ? { adminRoleArn } : {}) };
  try {
    // Built once here only to check the roles at cold start; each key's policy is built when the key is made.
    tenantKeyPolicy(roles);
    return { tenantKeyPolicyRoles: roles };
  } catch (error) {
    if (error instanceof InvalidKeyPolicyRoleError) throw new ConfigurationError(`TENANT_KEY_*_ROLE_ARN: ${error.message}`);
    throw error;
  }
}
