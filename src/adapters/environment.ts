/**
 * Composition root: configuration in, wired services out. Lambda entries call it with
 * `configFromEnv(process.env)` at cold start, so a missing variable fails there and not mid-request;
 * the local cloud calls it with its own endpoints (and, in tests, an injected clock). Same code,
 * different endpoints.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { cryptoRandom, type AttestationDeps } from '../core/attestation';
import { systemClock, type Clock, type RandomSource } from '../core/ports';
import { DEFAULT_MAX_BUILD_BYTES, type RegistrationDeps } from '../core/registration';
import type { AdminDeps } from '../handlers/admin';
import { DynamoDbNonceStore } from './dynamodb-nonce-store';
import { DynamoDbRegistry } from './dynamodb-registry';
import { KmsTenantKeys } from './kms-tenant-keys';
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
  readonly maxBuildBytes: number;
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
    maxBuildBytes: env['MAX_BUILD_BYTES'] ? Number(env['MAX_BUILD_BYTES']) : DEFAULT_MAX_BUILD_BYTES,
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
  const tenantKeys = lazy(
    () => new KmsTenantKeys(kms(), registry(), { decoyKeyId: config.decoyKeyId, aliasPrefix: config.tenantKeyAliasPrefix, clock }),
  );

  return {
    config,
    clock,
    clients: { dynamodb, s3, kms },
    registry,
    tenantKeys,
    attestation: (): AttestationDeps => ({
      nonces: new DynamoDbNonceStore(dynamodb(), config.noncesTable),
      registry: registry(),
      signer: tenantKeys(),
      clock,
      random,
      issuer: config.issuer,
      defaultTenantId: config.defaultTenantId,
    }),
    registration: (): RegistrationDeps => ({
      registry: registry(),
      builds: new S3BuildStore(s3(), config.buildsBucket),
      clock,
      maxBuildBytes: config.maxBuildBytes,
    }),
    admin: (tenantOf: AdminDeps['tenantOf']): AdminDeps => ({
      registry: registry(),
      keys: tenantKeys(),
      uploads: new S3UploadUrls(s3(), config.buildsBucket, clock),
      clock,
      random,
      maxBuildBytes: config.maxBuildBytes,
      tenantOf,
    }),
  };
}

export type Services = ReturnType<typeof createServices>;

/**
 * Skeleton tenancy: every caller that API Gateway (or the local gateway) authenticated with SigV4
 * administers the default tenant. Per-principal tenants come with the admin API (issue 3).
 * No identity at all means the request was not authenticated: no tenant, so 403.
 */
export function defaultTenantOf(defaultTenantId: string): AdminDeps['tenantOf'] {
  return (event: APIGatewayProxyEvent) => {
    const identity = event.requestContext?.identity;
    return identity?.userArn || identity?.accessKey ? defaultTenantId : undefined;
  };
}
