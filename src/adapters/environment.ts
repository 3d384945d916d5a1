/**
 * Composition root: configuration in, wired services out. Lambda entries call it with
 * `configFromEnv(process.env)` at cold start, so a missing variable fails there and not mid-request;
 * the local cloud calls it with its own endpoints (and, in tests, an injected clock). Same code,
 * different endpoints.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { cryptoRandom, type AttestationDeps } from '../core/attestation';
import { systemClock, type Clock, type RandomSource } from '../core/ports';
import { DEFAULT_MAX_BUILD_BYTES, type RegistrationDeps } from '../core/registration';
import type { AdminDeps } from '../handlers/admin';
import type { AdminCredentialIssuer } from '../core/ports';
import { parseOperatorPrincipals, resolveAdminCaller } from '../core/tenancy';
import { DynamoDbAttestationLog } from './dynamodb-attestation-log';
import { DynamoDbNonceStore } from './dynamodb-nonce-store';
import { DynamoDbRegistry } from './dynamodb-registry';
import { InvalidKeyPolicyRoleError, KmsTenantKeys, tenantKeyPolicy } from './kms-tenant-keys';
import { S3BuildStore, S3UploadUrls } from './s3-builds';

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
   * Key policy (JSON) of the tenant keys this deployment creates, naming the roles that use them
   * (tenantKeyPolicy in kms-tenant-keys.ts). Absent: KMS's default policy, so IAM alone decides.
   */
  readonly tenantKeyPolicy?: string;
  readonly maxBuildBytes: number;
  /**
   * IAM principals (ARNs) that operate the default tenant: they may create tenants and map other
   * principals to them (ATTESTOR_OPERATOR_PRINCIPALS, comma-separated). Empty: only principals
   * recorded in the registry have access.
   */
  readonly operatorPrincipals?: readonly string[];
  /** Local cloud only: endpoints and static credentials of the stand-ins. */
  readonly endpoints?: { readonly dynamodb: string; readonly s3: string; readonly kms: string };
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
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
  return {
    region: env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
    noncesTable: required('NONCES_TABLE'),
    registryTable: required('REGISTRY_TABLE'),
    ...(env['ATTESTATION_LOG_TABLE'] ? { attestationLogTable: env['ATTESTATION_LOG_TABLE'] } : {}),
    ...(env['TOKEN_LEDGER_TABLE'] ? { tokenLedgerTable: env['TOKEN_LEDGER_TABLE'] } : {}),
    buildsBucket: env['BUILDS_BUCKET'] ?? '',
    issuer: env['ATTESTOR_ISSUER'] ?? DEFAULTS.issuer,
    defaultTenantId,
    authorizerTenantId: env['AUTHORIZER_TENANT'] ?? defaultTenantId,
    decoyKeyId: env['DECOY_KEY_ID'] ?? DEFAULTS.decoyKeyId,
    tenantKeyAliasPrefix: env['TENANT_KEY_ALIAS_PREFIX'] ?? DEFAULTS.tenantKeyAliasPrefix,
    ...tenantKeyPolicyFromEnv(env),
    maxBuildBytes: env['MAX_BUILD_BYTES'] ? Number(env['MAX_BUILD_BYTES']) : DEFAULT_MAX_BUILD_BYTES,
    ...(env['ATTESTOR_OPERATOR_PRINCIPALS'] ? { operatorPrincipals: [...parseOperatorPrincipals(env['ATTESTOR_OPERATOR_PRINCIPALS'])] } : {}),
  };
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** Services wired over real AWS SDK clients. Clients are created on first use and then reused. */
export function createServices(config: ServiceConfig) {
  const common = {
    region: config.region,
    ...(config.credentials ? { credentials: config.credentials } : {}),
  };
  const dynamodb = lazy(() => new DynamoDBClient({ ...common, ...(config.endpoints ? { endpoint: config.endpoints.dynamodb } : {}) }));
  const s3 = lazy(
    () =>
      new S3Client({
        ...common,
        // Presigned uploads must not carry a checksum of an empty body, which newer SDKs add by default.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        ...(config.endpoints ? { endpoint: config.endpoints.s3, forcePathStyle: true } : {}),
      }),
  );
  const kms = lazy(() => new KMSClient({ ...common, ...(config.endpoints ? { endpoint: config.endpoints.kms } : {}) }));
  const clock = config.clock ?? systemClock;
  const random = config.random ?? cryptoRandom;
  const registry = lazy(() => new DynamoDbRegistry(dynamodb(), config.registryTable));
  const attestationLogTable = config.attestationLogTable;
  const attestationLog = lazy(() => (attestationLogTable ? new DynamoDbAttestationLog(dynamodb(), attestationLogTable) : undefined));
  const operatorPrincipals = parseOperatorPrincipals((config.operatorPrincipals ?? []).join(','));
  const tenantKeys = lazy(
    () =>
      new KmsTenantKeys(kms(), registry(), {
        decoyKeyId: config.decoyKeyId,
        aliasPrefix: config.tenantKeyAliasPrefix,
        clock,
        ...(config.tenantKeyPolicy !== undefined ? { keyPolicy: config.tenantKeyPolicy } : {}),
      }),
  );

  return {
    config,
    clock,
    clients: { dynamodb, s3, kms },
    registry,
    tenantKeys,
    attestationLog,
    attestation: (): AttestationDeps => ({
      nonces: new DynamoDbNonceStore(dynamodb(), config.noncesTable),
      registry: registry(),
      signer: tenantKeys(),
      clock,
      random,
      issuer: config.issuer,
      defaultTenantId: config.defaultTenantId,
      ...(attestationLog() ? { attestationLog: attestationLog()! } : {}),
    }),
    registration: (): RegistrationDeps => ({
      registry: registry(),
      builds: new S3BuildStore(s3(), config.buildsBucket),
      clock,
      maxBuildBytes: config.maxBuildBytes,
      ...(attestationLog() ? { log: attestationLog()! } : {}),
      operatorTenantId: config.defaultTenantId,
    }),
    /**
     * Callers resolve to tenants through the registry's principal mappings and the configured
     * operator principals (core/tenancy.ts). The local cloud adds its credential issuer.
     */
    admin: (options: { readonly credentialIssuer?: AdminCredentialIssuer } = {}): AdminDeps => ({
      registry: registry(),
      tenants: registry(),
      keys: tenantKeys(),
      uploads: new S3UploadUrls(s3(), config.buildsBucket, clock),
      ...(attestationLog() ? { log: attestationLog()! } : {}),
      clock,
      random,
      maxBuildBytes: config.maxBuildBytes,
      defaultTenantId: config.defaultTenantId,
      callerOf: (event) =>
        resolveAdminCaller({ directory: registry(), operatorPrincipals, defaultTenantId: config.defaultTenantId }, event.requestContext?.identity?.userArn),
      ...(options.credentialIssuer ? { credentialIssuer: options.credentialIssuer } : {}),
    }),
  };
}

export type Services = ReturnType<typeof createServices>;


/**
 * The tenant key policy from TENANT_KEY_SIGNER_ROLE_ARN (the attest role), TENANT_KEY_VERIFIER_ROLE_ARNS
 * (comma-separated authorizer roles) and TENANT_KEY_ADMIN_ROLE_ARN (the admin role), which the CDK
 * stack sets on the admin function. No signer: no policy. Verifiers or admin without a signer, or
 * anything that is not a role ARN of one account, fails at cold start.
 */
function tenantKeyPolicyFromEnv(env: NodeJS.ProcessEnv): { tenantKeyPolicy?: string } {
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
  try {
    return { tenantKeyPolicy: tenantKeyPolicy({ signerRoleArn, verifierRoleArns, ...(adminRoleArn ? { adminRoleArn } : {}) }) };
  } catch (error) {
    if (error instanceof InvalidKeyPolicyRoleError) throw new ConfigurationError(`TENANT_KEY_*_ROLE_ARN: ${error.message}`);
    throw error;
  }
}
