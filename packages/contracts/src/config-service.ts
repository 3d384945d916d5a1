/**
 * The configuration records of the service's own functions (challenge, attest, register, the admin
 * functions, demoHello, revocationList); the authorizer's is ./config-authorizer.ts. Read through
 * ./config.ts.
 */
import { ConfigurationError, CONFIG_DEFAULTS, defineConfig, unlessDefault, type FunctionConfigContract, type Reader } from './config-contract';
import { MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS } from './protocol';

// ---------- Settings several functions share ----------

/** Where attest reads Google's attestation status list (PROTOCOL.md §5.6): an object of the builds bucket, or (locally) a file. */
export type RevocationListLocation = { readonly bucket: string } | { readonly file: string };

/**
 * The roles a tenant key's policy names (@attestor/service's adapters/kms-key-policy.ts): attest
 * signs, the authorizers verify, the creating function discards. All IAM roles of one account.
 */
export interface TenantKeyPolicyRoles {
  readonly signerRoleArn: string;
  readonly verifierRoleArns: readonly string[];
  readonly adminRoleArn?: string;
}

/** What KMS tenant keys are configured by, wherever they are used. */
export interface TenantKeysConfig {
  /** KMS key id, ARN or alias of the decoy signing key. */
  readonly decoyKeyId: string;
  /** Alias prefix of tenant signing keys, e.g. `alias/attestor/tenant/`. */
  readonly tenantKeyAliasPrefix: string;
  /** Absent: the keys get KMS's default policy, so IAM alone decides. Only the key-creating admin functions have it. */
  readonly tenantKeyPolicyRoles?: TenantKeyPolicyRoles;
}

/** What every admin function resolves callers with (core/tenancy.ts). */
export interface AdminCommonConfig {
  readonly registryTable: string;
  readonly defaultTenantId: string;
  /** IAM principals (ARNs, as given) that operate the default tenant. Absent: only principals mapped in the registry. */
  readonly operatorPrincipals?: readonly string[];
}

const IAM_ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$/;

type TenantKeysVariable = 'DECOY_KEY_ID' | 'TENANT_KEY_ALIAS_PREFIX';
type KeyPolicyVariable = 'TENANT_KEY_SIGNER_ROLE_ARN' | 'TENANT_KEY_VERIFIER_ROLE_ARNS' | 'TENANT_KEY_ADMIN_ROLE_ARN';
type AdminVariable = 'REGISTRY_TABLE' | 'ATTESTOR_DEFAULT_TENANT' | 'ATTESTOR_OPERATOR_PRINCIPALS';

function tenantKeysFromEnv(read: Reader<TenantKeysVariable>): Omit<TenantKeysConfig, 'tenantKeyPolicyRoles'> {
  return {
    decoyKeyId: read.text('DECOY_KEY_ID') ?? CONFIG_DEFAULTS.decoyKeyId,
    tenantKeyAliasPrefix: read.text('TENANT_KEY_ALIAS_PREFIX') ?? CONFIG_DEFAULTS.tenantKeyAliasPrefix,
  };
}

/**
 * The key policy's roles: no signer, no policy; verifiers or an admin without a signer, or anything
 * that is not a role of the signer's account, fails the cold start (KMS would refuse the policy on
 * the first key created, mid-request).
 */
function keyPolicyFromEnv(read: Reader<KeyPolicyVariable>): TenantKeyPolicyRoles | undefined {
  const signerRoleArn = read.text('TENANT_KEY_SIGNER_ROLE_ARN');
  const verifierRoleArns = read.list('TENANT_KEY_VERIFIER_ROLE_ARNS');
  const adminRoleArn = read.text('TENANT_KEY_ADMIN_ROLE_ARN');
  if (signerRoleArn === undefined) {
    if (verifierRoleArns.length > 0 || adminRoleArn !== undefined) {
      throw new ConfigurationError('TENANT_KEY_SIGNER_ROLE_ARN is required when TENANT_KEY_VERIFIER_ROLE_ARNS or TENANT_KEY_ADMIN_ROLE_ARN is set');
    }
    return undefined;
  }
  const role = (name: KeyPolicyVariable, arn: string) => IAM_ROLE_ARN.exec(arn) ?? read.fail(name, 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)', arn);
  const signer = role('TENANT_KEY_SIGNER_ROLE_ARN', signerRoleArn);
  const others: [KeyPolicyVariable, string][] = [
    ...verifierRoleArns.map((arn): [KeyPolicyVariable, string] => ['TENANT_KEY_VERIFIER_ROLE_ARNS', arn]),
    ...(adminRoleArn !== undefined ? [['TENANT_KEY_ADMIN_ROLE_ARN', adminRoleArn] as [KeyPolicyVariable, string]] : []),
  ];
  for (const [name, arn] of others) {
    const other = role(name, arn);
    if (other[1] !== signer[1] || other[2] !== signer[2]) read.fail(name, `a role of the signer's account ${signer[2]}`, arn);
  }
  return { signerRoleArn, verifierRoleArns, ...(adminRoleArn !== undefined ? { adminRoleArn } : {}) };
}

function adminFromEnv(read: Reader<AdminVariable>): AdminCommonConfig {
  const principals = read.list('ATTESTOR_OPERATOR_PRINCIPALS');
  for (const principal of principals) {
    if (!IAM_PRINCIPAL_ARN.test(principal)) read.fail('ATTESTOR_OPERATOR_PRINCIPALS', 'IAM principal ARNs separated by commas', principal);
  }
  return {
    registryTable: read.required('REGISTRY_TABLE'),
    defaultTenantId: read.text('ATTESTOR_DEFAULT_TENANT') ?? CONFIG_DEFAULTS.defaultTenantId,
    ...(principals.length > 0 ? { operatorPrincipals: principals } : {}),
  };
}

const tenantKeysToEnv = (c: TenantKeysConfig) => ({
  DECOY_KEY_ID: c.decoyKeyId,
  TENANT_KEY_ALIAS_PREFIX: c.tenantKeyAliasPrefix,
  TENANT_KEY_SIGNER_ROLE_ARN: c.tenantKeyPolicyRoles?.signerRoleArn,
  TENANT_KEY_VERIFIER_ROLE_ARNS: c.tenantKeyPolicyRoles?.verifierRoleArns.length ? c.tenantKeyPolicyRoles.verifierRoleArns.join(',') : undefined,
  TENANT_KEY_ADMIN_ROLE_ARN: c.tenantKeyPolicyRoles?.adminRoleArn,
});

const adminToEnv = (c: AdminCommonConfig) => ({
  REGISTRY_TABLE: c.registryTable,
  ATTESTOR_DEFAULT_TENANT: unlessDefault(c.defaultTenantId, CONFIG_DEFAULTS.defaultTenantId),
  ATTESTOR_OPERATOR_PRINCIPALS: c.operatorPrincipals?.length ? c.operatorPrincipals.join(',') : undefined,
});

const maxBuildBytesFromEnv = (read: Reader<'MAX_BUILD_BYTES'>): number =>
  read.wholeNumber('MAX_BUILD_BYTES', CONFIG_DEFAULTS.maxBuildBytes, { min: 1, max: Number.MAX_SAFE_INTEGER, unit: 'bytes' });

// ---------- challenge ----------

export interface ChallengeConfig {
  readonly noncesTable: string;
}

export const CHALLENGE_CONFIG: FunctionConfigContract<ChallengeConfig> = /* @__PURE__ */ defineConfig({
  variables: ['NONCES_TABLE'],
  toEnv: (c: ChallengeConfig) => ({ NONCES_TABLE: c.noncesTable }),
  fromEnv: (read): ChallengeConfig => ({ noncesTable: read.required('NONCES_TABLE') }),
});

// ---------- attest ----------

export interface AttestConfig extends Omit<TenantKeysConfig, 'tenantKeyPolicyRoles'> {
  readonly noncesTable: string;
  readonly registryTable: string;
  /** Attestation log; absent in deployments that keep none. */
  readonly attestationLogTable?: string;
  /** `iss` of minted tokens. */
  readonly issuer: string;
  /** Lifetime of every token minted, MIN_TOKEN_TTL_SECONDS to MAX_TOKEN_TTL_SECONDS. */
  readonly tokenTtlSeconds: number;
  /** The tenant of apps registered without one. */
  readonly defaultTenantId: string;
  /** Hardware device records; absent, attest verifies no hardware evidence (PROTOCOL.md §5.5). */
  readonly hardwareDevicesTable?: string;
  /** Absent: no serial is revoked, and attest logs that once per hour. */
  readonly revocationList?: RevocationListLocation;
}

export const ATTEST_CONFIG: FunctionConfigContract<AttestConfig> = /* @__PURE__ */ defineConfig({
  variables: [
    'NONCES_TABLE',
    'REGISTRY_TABLE',
    'ATTESTATION_LOG_TABLE',
    'ATTESTOR_ISSUER',
    'ATTESTOR_TOKEN_TTL_SECONDS',
    'ATTESTOR_DEFAULT_TENANT',
    'DECOY_KEY_ID',
    'TENANT_KEY_ALIAS_PREFIX',
    'HARDWARE_DEVICES_TABLE',
    'REVOCATION_LIST_BUCKET',
    'REVOCATION_LIST_FILE',
  ],
  toEnv: (c: AttestConfig) => ({
    NONCES_TABLE: c.noncesTable,
    REGISTRY_TABLE: c.registryTable,
    ATTESTATION_LOG_TABLE: c.attestationLogTable,
    ATTESTOR_ISSUER: c.issuer,
    ATTESTOR_TOKEN_TTL_SECONDS: String(c.tokenTtlSeconds),
    ATTESTOR_DEFAULT_TENANT: unlessDefault(c.defaultTenantId, CONFIG_DEFAULTS.defaultTenantId),
    DECOY_KEY_ID: c.decoyKeyId,
    TENANT_KEY_ALIAS_PREFIX: c.tenantKeyAliasPrefix,
    HARDWARE_DEVICES_TABLE: c.hardwareDevicesTable,
    REVOCATION_LIST_BUCKET: c.revocationList && 'bucket' in c.revocationList ? c.revocationList.bucket : undefined,
    REVOCATION_LIST_FILE: c.revocationList && 'file' in c.revocationList ? c.revocationList.file : undefined,
  }),
  fromEnv: (read): AttestConfig => {
    const bucket = read.text('REVOCATION_LIST_BUCKET');
    const file = read.text('REVOCATION_LIST_FILE');
    if (bucket !== undefined && file !== undefined) throw new ConfigurationError('REVOCATION_LIST_BUCKET and REVOCATION_LIST_FILE exclude each other');
    const ttl = { min: MIN_TOKEN_TTL_SECONDS, max: MAX_TOKEN_TTL_SECONDS, unit: 'seconds' };
    return {
      noncesTable: read.required('NONCES_TABLE'),
      registryTable: read.required('REGISTRY_TABLE'),
      attestationLogTable: read.text('ATTESTATION_LOG_TABLE'),
      issuer: read.text('ATTESTOR_ISSUER') ?? CONFIG_DEFAULTS.issuer,
      tokenTtlSeconds: read.wholeNumber('ATTESTOR_TOKEN_TTL_SECONDS', CONFIG_DEFAULTS.tokenTtlSeconds, ttl),
      defaultTenantId: read.text('ATTESTOR_DEFAULT_TENANT') ?? CONFIG_DEFAULTS.defaultTenantId,
      ...tenantKeysFromEnv(read),
      hardwareDevicesTable: read.text('HARDWARE_DEVICES_TABLE'),
      revocationList: bucket !== undefined ? { bucket } : file !== undefined ? { file } : undefined,
    };
  },
});

// ---------- register ----------

export interface RegisterConfig {
  readonly registryTable: string;
  readonly attestationLogTable?: string;
  readonly buildsBucket: string;
  /** The largest build registered (MAX_BUILD_BYTES). */
  readonly maxBuildBytes: number;
  /** The tenant whose log records builds of no known app. */
  readonly defaultTenantId: string;
}

export const REGISTER_CONFIG: FunctionConfigContract<RegisterConfig> = /* @__PURE__ */ defineConfig({
  variables: ['REGISTRY_TABLE', 'ATTESTATION_LOG_TABLE', 'BUILDS_BUCKET', 'MAX_BUILD_BYTES', 'ATTESTOR_DEFAULT_TENANT'],
  toEnv: (c: RegisterConfig) => ({
    REGISTRY_TABLE: c.registryTable,
    ATTESTATION_LOG_TABLE: c.attestationLogTable,
    BUILDS_BUCKET: c.buildsBucket,
    MAX_BUILD_BYTES: unlessDefault(c.maxBuildBytes, CONFIG_DEFAULTS.maxBuildBytes)?.toString(),
    ATTESTOR_DEFAULT_TENANT: unlessDefault(c.defaultTenantId, CONFIG_DEFAULTS.defaultTenantId),
  }),
  fromEnv: (read): RegisterConfig => ({
    registryTable: read.required('REGISTRY_TABLE'),
    attestationLogTable: read.text('ATTESTATION_LOG_TABLE'),
    buildsBucket: read.required('BUILDS_BUCKET'),
    maxBuildBytes: maxBuildBytesFromEnv(read),
    defaultTenantId: read.text('ATTESTOR_DEFAULT_TENANT') ?? CONFIG_DEFAULTS.defaultTenantId,
  }),
});

// ---------- the admin functions ----------

/** adminCatalog: the registry and (if kept) the attestation log. */
export interface AdminCatalogConfig extends AdminCommonConfig {
  readonly attestationLogTable?: string;
}

export const ADMIN_CATALOG_CONFIG: FunctionConfigContract<AdminCatalogConfig> = /* @__PURE__ */ defineConfig({
  variables: ['REGISTRY_TABLE', 'ATTESTATION_LOG_TABLE', 'ATTESTOR_DEFAULT_TENANT', 'ATTESTOR_OPERATOR_PRINCIPALS'],
  toEnv: (c: AdminCatalogConfig) => ({ ...adminToEnv(c), ATTESTATION_LOG_TABLE: c.attestationLogTable }),
  fromEnv: (read): AdminCatalogConfig => ({ ...adminFromEnv(read), attestationLogTable: read.text('ATTESTATION_LOG_TABLE') }),
});

/**
 * adminKeys: the registry and tenant keys, which it creates (hence the key policy's roles), and test
 * tokens, which it mints (`iss` the deployment's issuer) and records in the attestation log.
 */
export interface AdminKeysConfig extends AdminCommonConfig, TenantKeysConfig {
  /** Where test-token mints are recorded; absent, no test token is minted (it could not be audited). */
  readonly attestationLogTable?: string;
  /** `iss` of test tokens: the deployment's issuer, as attest's. */
  readonly issuer: string;
}

export const ADMIN_KEYS_CONFIG: FunctionConfigContract<AdminKeysConfig> = /* @__PURE__ */ defineConfig({
  // Written out, not spread from a shared list: esbuild keeps a pure call whose arguments spread anything.
  variables: [
    'REGISTRY_TABLE',
    'DECOY_KEY_ID',
    'TENANT_KEY_ALIAS_PREFIX',
    'TENANT_KEY_SIGNER_ROLE_ARN',
    'TENANT_KEY_VERIFIER_ROLE_ARNS',
    'TENANT_KEY_ADMIN_ROLE_ARN',
    'ATTESTOR_DEFAULT_TENANT',
    'ATTESTOR_OPERATOR_PRINCIPALS',
    'ATTESTATION_LOG_TABLE',
    'ATTESTOR_ISSUER',
  ],
  toEnv: (c: AdminKeysConfig) => ({
    ...adminToEnv(c),
    ...tenantKeysToEnv(c),
    ATTESTATION_LOG_TABLE: c.attestationLogTable,
    ATTESTOR_ISSUER: unlessDefault(c.issuer, CONFIG_DEFAULTS.issuer),
  }),
  fromEnv: (read): AdminKeysConfig => ({
    ...adminFromEnv(read),
    ...tenantKeysFromEnv(read),
    tenantKeyPolicyRoles: keyPolicyFromEnv(read),
    attestationLogTable: read.text('ATTESTATION_LOG_TABLE'),
    issuer: read.text('ATTESTOR_ISSUER') ?? CONFIG_DEFAULTS.issuer,
  }),
});

/**
 * The register function's on-failure queue and the function itself: the admin routes that list,
 * retry and clear its failures read the one and re-invoke the other.
 */
export interface RegisterFailuresLocation {
  readonly queueUrl: string;
  readonly registerFunction: string;
}

/** adminUploads: upload records, presigned URLs on the builds bucket, a tenant's first key, and the register function's failures. */
export interface AdminUploadsConfig extends AdminCommonConfig, TenantKeysConfig {
  readonly buildsBucket: string;
  readonly maxBuildBytes: number;
  /** Absent: the failure routes answer 404. */
  readonly registerFailures?: RegisterFailuresLocation;
}

export const ADMIN_UPLOADS_CONFIG: FunctionConfigContract<AdminUploadsConfig> = /* @__PURE__ */ defineConfig({
  variables: [
    'REGISTRY_TABLE',
    'BUILDS_BUCKET',
    'MAX_BUILD_BYTES',
    'DECOY_KEY_ID',
    'TENANT_KEY_ALIAS_PREFIX',
    'TENANT_KEY_SIGNER_ROLE_ARN',
    'TENANT_KEY_VERIFIER_ROLE_ARNS',
    'TENANT_KEY_ADMIN_ROLE_ARN',
    'ATTESTOR_DEFAULT_TENANT',
    'ATTESTOR_OPERATOR_PRINCIPALS',
    'REGISTER_FAILURES_QUEUE_URL',
    'REGISTER_FUNCTION_NAME',
  ],
  toEnv: (c: AdminUploadsConfig) => ({
    ...adminToEnv(c),
    ...tenantKeysToEnv(c),
    BUILDS_BUCKET: c.buildsBucket,
    MAX_BUILD_BYTES: unlessDefault(c.maxBuildBytes, CONFIG_DEFAULTS.maxBuildBytes)?.toString(),
    REGISTER_FAILURES_QUEUE_URL: c.registerFailures?.queueUrl,
    REGISTER_FUNCTION_NAME: c.registerFailures?.registerFunction,
  }),
  fromEnv: (read): AdminUploadsConfig => {
    const queueUrl = read.text('REGISTER_FAILURES_QUEUE_URL');
    const registerFunction = read.text('REGISTER_FUNCTION_NAME');
    if ((queueUrl === undefined) !== (registerFunction === undefined)) {
      throw new ConfigurationError('REGISTER_FAILURES_QUEUE_URL and REGISTER_FUNCTION_NAME go together: set both or neither');
    }
    return {
      ...adminFromEnv(read),
      ...tenantKeysFromEnv(read),
      tenantKeyPolicyRoles: keyPolicyFromEnv(read),
      buildsBucket: read.required('BUILDS_BUCKET'),
      maxBuildBytes: maxBuildBytesFromEnv(read),
      registerFailures: queueUrl !== undefined && registerFunction !== undefined ? { queueUrl, registerFunction } : undefined,
    };
  },
});

// ---------- demoHello, revocationList ----------

/** demoHello reads nothing: it answers whoever the authorizer let in. */
export type DemoHelloConfig = Readonly<Record<string, never>>;

export const DEMO_HELLO_CONFIG: FunctionConfigContract<DemoHelloConfig> = /* @__PURE__ */ defineConfig({
  variables: [],
  toEnv: (_c: DemoHelloConfig) => ({}),
  fromEnv: (): DemoHelloConfig => ({}),
});

/** The revocation function (PROTOCOL.md §5.6): where it fetches Google's list, and the bucket it stores the copy in. */
export interface RevocationListConfig {
  /** The builds bucket; the object is REVOCATION_LIST_OBJECT_KEY. */
  readonly bucket: string;
  /** https; by default Google's (GOOGLE_ATTESTATION_STATUS_URL). */
  readonly url: string;
}

export const REVOCATION_LIST_CONFIG: FunctionConfigContract<RevocationListConfig> = /* @__PURE__ */ defineConfig({
  variables: ['REVOCATION_LIST_BUCKET', 'ATTESTATION_STATUS_URL'],
  toEnv: (c: RevocationListConfig) => ({
    REVOCATION_LIST_BUCKET: c.bucket,
    ATTESTATION_STATUS_URL: unlessDefault(c.url, CONFIG_DEFAULTS.attestationStatusUrl),
  }),
  fromEnv: (read): RevocationListConfig => {
    const url = read.text('ATTESTATION_STATUS_URL') ?? CONFIG_DEFAULTS.attestationStatusUrl;
    if (!/^https:\/\/\S+$/.test(url)) read.fail('ATTESTATION_STATUS_URL', 'an https URL');
    return { bucket: read.required('REVOCATION_LIST_BUCKET'), url };
  },
});
