/**
 * The configuration records of @attestor/contracts/config: each reads back what it writes (property
 * tests over the typed settings), reads and writes only its own variables, keeps the names and
 * defaults deployments have, and refuses every missing or malformed variable with a
 * ConfigurationError naming it. The authorizer's one check is tested here rule by rule; that the
 * construct and the function use it alike is test/infra/attestation-authorizer.test.ts's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  ADMIN_CATALOG_CONFIG,
  ADMIN_KEYS_CONFIG,
  ADMIN_UPLOADS_CONFIG,
  ATTEST_CONFIG,
  AUTHORIZER_CONFIG,
  checkAuthorizerConfig,
  CHALLENGE_CONFIG,
  ConfigurationError,
  CONFIG_DEFAULTS,
  DEMO_HELLO_CONFIG,
  FUNCTION_CONFIGS,
  HARDWARE_TEST_ROOTS_VARIABLE,
  REGION_VARIABLES,
  regionFromEnv,
  REGISTER_CONFIG,
  REVOCATION_LIST_CONFIG,
  type AdminCommonConfig,
  type AuthorizerConfig,
  type Environment,
  type FunctionConfigContract,
  type TenantKeysConfig,
} from '../../../packages/contracts/src/config';
import { LAMBDAS, type LambdaName } from '../../../packages/contracts/src/routes';

const ROOT = path.resolve(__dirname, '../../..');
const NAMES = Object.keys(LAMBDAS) as LambdaName[];

/** The settings object without its undefined members: the form fromEnv returns. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The same value with ordinary objects throughout (fast-check's records have no prototype). */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

/** The error `act` throws, which must be a ConfigurationError. */
function refusal(act: () => unknown): ConfigurationError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).code).toBe('configuration_invalid');
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError, and nothing was thrown');
}

// ---------- arbitraries: settings as the writers make them ----------

const resourceName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/);
const text = fc.string({ minLength: 1, maxLength: 40 });
const account = fc.stringMatching(/^\d{12}$/);
const roleIn = (acct: string) => fc.stringMatching(/^[A-Za-z0-9+=.@_-]{1,30}$/).map((n) => `arn:aws:iam::${acct}:role/${n}`);
const principal = fc
  .tuple(account, fc.constantFrom('user', 'role'), fc.stringMatching(/^[A-Za-z0-9+=.@_/-]{1,30}$/))
  .map(([acct, kind, n]) => `arn:aws:iam::${acct}:${kind}/${n}`);
const orDefault = <T>(arbitrary: fc.Arbitrary<T>, fallback: T) => fc.oneof(fc.constant(fallback), arbitrary);

const tenantKeys: fc.Arbitrary<TenantKeysConfig> = fc.record({
  decoyKeyId: orDefault(text, CONFIG_DEFAULTS.decoyKeyId),
  tenantKeyAliasPrefix: orDefault(fc.stringMatching(/^alias\/[a-z0-9/_-]{0,30}$/), CONFIG_DEFAULTS.tenantKeyAliasPrefix),
});
const keyPolicyRoles = account.chain((acct) =>
  fc.option(
    fc.record({
      signerRoleArn: roleIn(acct),
      verifierRoleArns: fc.array(roleIn(acct), { maxLength: 3 }),
      adminRoleArn: fc.option(roleIn(acct), { nil: undefined }),
    }),
    { nil: undefined },
  ),
);
const admin: fc.Arbitrary<AdminCommonConfig> = fc.record({
  registryTable: resourceName,
  defaultTenantId: orDefault(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), CONFIG_DEFAULTS.defaultTenantId),
  operatorPrincipals: fc.option(fc.array(principal, { minLength: 1, maxLength: 3 }), { nil: undefined }),
});
const maxBuildBytes = orDefault(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), CONFIG_DEFAULTS.maxBuildBytes);
const httpsUrl = fc.stringMatching(/^[a-z0-9]{1,12}$/).map((host) => `https://${host}.example.com`);

const serviceSettings = {
  challenge: fc.record({ noncesTable: resourceName }),
  attest: fc
    .record({
      noncesTable: resourceName,
      registryTable: resourceName,
      attestationLogTable: fc.option(resourceName, { nil: undefined }),
      issuer: text,
      tokenTtlSeconds: fc.integer({ min: 60, max: 3600 }),
      defaultTenantId: orDefault(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), CONFIG_DEFAULTS.defaultTenantId),
      keys: tenantKeys,
      hardwareDevicesTable: fc.option(resourceName, { nil: undefined }),
      revocationList: fc.oneof(fc.constant(undefined), resourceName.map((bucket) => ({ bucket })), text.map((file) => ({ file }))),
    })
    .map(({ keys, ...rest }) => compact({ ...rest, ...keys })),
  register: fc
    .record({
      registryTable: resourceName,
      attestationLogTable: fc.option(resourceName, { nil: undefined }),
      buildsBucket: resourceName,
      maxBuildBytes,
      defaultTenantId: orDefault(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), CONFIG_DEFAULTS.defaultTenantId),
    })
    .map(compact),
  adminCatalog: fc
    .record({ admin, attestationLogTable: fc.option(resourceName, { nil: undefined }) })
    .map(({ admin: a, ...rest }) => compact({ ...a, ...rest })),
  adminKeys: fc
    .record({
      admin,
      keys: tenantKeys,
      tenantKeyPolicyRoles: keyPolicyRoles,
      attestationLogTable: fc.option(resourceName, { nil: undefined }),
      issuer: orDefault(text, CONFIG_DEFAULTS.issuer),
    })
    .map(({ admin: a, keys, tenantKeyPolicyRoles, ...rest }) =>
      compact({ ...a, ...keys, ...rest, tenantKeyPolicyRoles: tenantKeyPolicyRoles && compact(tenantKeyPolicyRoles) }),
    ),
  adminUploads: fc
    .record({
      admin,
      keys: tenantKeys,
      tenantKeyPolicyRoles: keyPolicyRoles,
      buildsBucket: resourceName,
      maxBuildBytes,
      registerFailures: fc.option(fc.record({ queueUrl: httpsUrl, registerFunction: resourceName }), { nil: undefined }),
    })
    .map(({ admin: a, keys, tenantKeyPolicyRoles, ...rest }) =>
      compact({ ...a, ...keys, tenantKeyPolicyRoles: tenantKeyPolicyRoles && compact(tenantKeyPolicyRoles), ...rest }),
    ),
  demoHello: fc.constant({}),
  revocationList: fc.record({ bucket: resourceName, url: orDefault(httpsUrl.map((u) => `${u}/status`), CONFIG_DEFAULTS.attestationStatusUrl) }),
};

const header = fc.constantFrom('Attestor-Token', 'X-Attestation', 'Authorization', 'X-Session', 'Attestor-Proof');
/** Valid authorizer settings in their canonical form (URLs as fromEnv spells them): every combination the check lets through. */
const authorizerSettings: fc.Arbitrary<AuthorizerConfig> = fc
  .record({
    issuer: text,
    tenantId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
    mode: fc.constantFrom('enforce', 'monitor') as fc.Arbitrary<'enforce' | 'monitor'>,
    tokenHeader: header,
    requireBinding: fc.boolean(),
    bindingHeader: fc.option(header, { nil: undefined }),
    limitedUse: fc.boolean(),
    requireProof: fc.boolean(),
    requireHardware: fc.option(fc.shuffledSubarray(['app-attest', 'android-key'] as const, { minLength: 1 }), { nil: undefined }),
    ledger: resourceName,
    keySource: fc.oneof(
      fc.record({
        kind: fc.constant('kms' as const),
        registryTable: resourceName,
        tenantKeyAliasPrefix: tenantKeys.map((k) => k.tenantKeyAliasPrefix),
        decoyKeyId: orDefault(text, CONFIG_DEFAULTS.decoyKeyId),
      }),
      fc.record({ kind: fc.constant('remote' as const), apiUrl: fc.oneof(httpsUrl.map((u) => `${u}/prod/`), fc.constant('http://127.0.0.1:3000/')) }),
    ),
    publicBaseUrl: fc.option(fc.oneof(httpsUrl, httpsUrl.map((u) => `${u}/v1`)), { nil: undefined }),
    cacheSeconds: fc.integer({ min: 0, max: 60 }),
    acceptTestTokens: fc.option(fc.constant(true as const), { nil: undefined }),
  })
  .map(({ ledger, ...s }) =>
    compact({
      ...s,
      bindingHeader: s.requireBinding ? s.bindingHeader : undefined,
      tokenLedgerTable: s.limitedUse || s.requireProof ? ledger : undefined,
      publicBaseUrl: s.requireProof ? s.publicBaseUrl : undefined,
      cacheSeconds: s.limitedUse || s.requireProof || s.mode === 'monitor' ? 0 : s.cacheSeconds,
    }),
  )
  // Two settings naming the same header are refused: those are the check's tests, below.
  .filter((config) => {
    try {
      checkAuthorizerConfig(config);
      return true;
    } catch {
      return false;
    }
  });

const settingsOf: { readonly [K in LambdaName]: fc.Arbitrary<unknown> } = { ...serviceSettings, authorizer: authorizerSettings };

// ---------- every record ----------

describe('the table', () => {
  test('one record per LAMBDAS entry, each with its own variables listed once', () => {
    expect(Object.keys(FUNCTION_CONFIGS).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(new Set(FUNCTION_CONFIGS[name].variables).size).toBe(FUNCTION_CONFIGS[name].variables.length);
  });

  test('the Region is the runtime\'s: no record reads or writes it', () => {
    for (const name of NAMES) for (const variable of REGION_VARIABLES) expect(FUNCTION_CONFIGS[name].variables).not.toContain(variable);
    expect(regionFromEnv({ AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2' })).toBe('eu-west-1');
    expect(regionFromEnv({ AWS_DEFAULT_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(regionFromEnv({})).toBe('us-east-1');
  });
});

describe.each(NAMES)('%s', (name) => {
  const record = FUNCTION_CONFIGS[name] as FunctionConfigContract<unknown>;

  test('fromEnv reads back what toEnv writes, for any settings the writers can make', () => {
    fc.assert(
      fc.property(settingsOf[name], (settings) => {
        const env = record.toEnv(settings);
        expect(Object.values(env).every((value) => typeof value === 'string')).toBe(true);
        expect(record.fromEnv(env)).toStrictEqual(plain(settings));
      }),
      { numRuns: 200 },
    );
  });

  test('toEnv writes and fromEnv reads only the variables the record lists', () => {
    fc.assert(
      fc.property(settingsOf[name], (settings) => {
        const env = record.toEnv(settings);
        for (const variable of Object.keys(env)) expect(record.variables).toContain(variable);
        const read = new Set<string>();
        const watched = new Proxy(env as Environment, { get: (target, key) => (read.add(String(key)), target[String(key)]) });
        record.fromEnv(watched);
        for (const variable of read) expect([...record.variables, HARDWARE_TEST_ROOTS_VARIABLE]).toContain(variable);
      }),
      { numRuns: 50 },
    );
  });

  test(`refuses ${HARDWARE_TEST_ROOTS_VARIABLE} at cold start: a deployed function never trusts test roots`, () => {
    fc.assert(
      fc.property(settingsOf[name], (settings) => {
        const error = refusal(() => record.fromEnv({ ...record.toEnv(settings), [HARDWARE_TEST_ROOTS_VARIABLE]: '/tmp/roots.json' }));
        expect(error.message).toBe(`${HARDWARE_TEST_ROOTS_VARIABLE} is for the local cloud only: a deployed function never trusts test roots`);
      }),
      { numRuns: 5 },
    );
  });
});

// ---------- names and defaults, as deployments have them ----------

describe('defaults: what an absent (or empty) variable means', () => {
  test.each<[LambdaName, Environment, unknown]>([
    ['challenge', { NONCES_TABLE: 'n' }, { noncesTable: 'n' }],
    [
      'attest',
      { NONCES_TABLE: 'n', REGISTRY_TABLE: 'r', ATTESTOR_ISSUER: '', ATTESTATION_LOG_TABLE: '' },
      {
        noncesTable: 'n',
        registryTable: 'r',
        issuer: 'attestor',
        tokenTtlSeconds: 300,
        defaultTenantId: 'default',
        decoyKeyId: 'alias/attestor/decoy',
        tenantKeyAliasPrefix: 'alias/attestor/tenant/',
      },
    ],
    [
      'register',
      { REGISTRY_TABLE: 'r', BUILDS_BUCKET: 'b' },
      { registryTable: 'r', buildsBucket: 'b', maxBuildBytes: 2 * 1024 ** 3, defaultTenantId: 'default' },
    ],
    ['adminCatalog', { REGISTRY_TABLE: 'r' }, { registryTable: 'r', defaultTenantId: 'default' }],
    [
      'adminKeys',
      { REGISTRY_TABLE: 'r' },
      {
        registryTable: 'r',
        defaultTenantId: 'default',
        decoyKeyId: 'alias/attestor/decoy',
        tenantKeyAliasPrefix: 'alias/attestor/tenant/',
        issuer: 'attestor',
      },
    ],
    [
      'adminUploads',
      { REGISTRY_TABLE: 'r', BUILDS_BUCKET: 'b' },
      {
        registryTable: 'r',
        defaultTenantId: 'default',
        decoyKeyId: 'alias/attestor/decoy',
        tenantKeyAliasPrefix: 'alias/attestor/tenant/',
        buildsBucket: 'b',
        maxBuildBytes: 2 * 1024 ** 3,
      },
    ],
    ['demoHello', {}, {}],
    ['revocationList', { REVOCATION_LIST_BUCKET: 'b' }, { bucket: 'b', url: 'https://android.googleapis.com/attestation/status' }],
    [
      'authorizer',
      { REGISTRY_TABLE: 'r' },
      {
        issuer: 'attestor',
        tenantId: 'default',
        mode: 'enforce',
        tokenHeader: 'Attestor-Token',
        requireBinding: false,
        limitedUse: false,
        requireProof: false,
        keySource: { kind: 'kms', registryTable: 'r', tenantKeyAliasPrefix: 'alias/attestor/tenant/', decoyKeyId: 'alias/attestor/decoy' },
        cacheSeconds: 0,
      },
    ],
  ])('%s', (name, env, settings) => {
    expect(FUNCTION_CONFIGS[name].fromEnv(env)).toStrictEqual(settings);
  });

  test('settings the writers never set at their default are left out at it, so that environments stay as deployed', () => {
    const attest = ATTEST_CONFIG.fromEnv({ NONCES_TABLE: 'n', REGISTRY_TABLE: 'r' });
    expect(Object.keys(ATTEST_CONFIG.toEnv(attest)).sort()).toEqual(
      ['ATTESTOR_ISSUER', 'ATTESTOR_TOKEN_TTL_SECONDS', 'DECOY_KEY_ID', 'NONCES_TABLE', 'REGISTRY_TABLE', 'TENANT_KEY_ALIAS_PREFIX'].sort(),
    );
    expect(REGISTER_CONFIG.toEnv({ registryTable: 'r', buildsBucket: 'b', maxBuildBytes: CONFIG_DEFAULTS.maxBuildBytes, defaultTenantId: 'default' })).toEqual({
      REGISTRY_TABLE: 'r',
      BUILDS_BUCKET: 'b',
    });
    expect(REGISTER_CONFIG.toEnv({ registryTable: 'r', buildsBucket: 'b', maxBuildBytes: 1024, defaultTenantId: 'acme' })).toMatchObject({
      MAX_BUILD_BYTES: '1024',
      ATTESTOR_DEFAULT_TENANT: 'acme',
    });
    expect(REVOCATION_LIST_CONFIG.toEnv({ bucket: 'b', url: CONFIG_DEFAULTS.attestationStatusUrl })).toEqual({ REVOCATION_LIST_BUCKET: 'b' });
    // The authorizer: every enforcement setting spelled out, the kms source's aliases only when not the service's.
    const authorizer = AUTHORIZER_CONFIG.fromEnv({ REGISTRY_TABLE: 'r' });
    expect(AUTHORIZER_CONFIG.toEnv(authorizer)).toEqual({
      ATTESTOR_ISSUER: 'attestor',
      AUTHORIZER_TENANT: 'default',
      AUTHORIZER_MODE: 'enforce',
      TOKEN_HEADER: 'Attestor-Token',
      REQUIRE_BINDING: 'false',
      LIMITED_USE: 'false',
      REQUIRE_PROOF: 'false',
      REQUIRE_HARDWARE: 'false',
      KEY_SOURCE: 'kms',
      REGISTRY_TABLE: 'r',
      AUTHORIZER_CACHE_TTL_SECONDS: '0',
    });
  });

  test('the authorizer reads ATTESTOR_DEFAULT_TENANT when AUTHORIZER_TENANT is absent, and writes AUTHORIZER_TENANT', () => {
    const config = AUTHORIZER_CONFIG.fromEnv({ REGISTRY_TABLE: 'r', ATTESTOR_DEFAULT_TENANT: 'acme' });
    expect(config.tenantId).toBe('acme');
    expect(AUTHORIZER_CONFIG.toEnv(config)).toMatchObject({ AUTHORIZER_TENANT: 'acme' });
    expect(AUTHORIZER_CONFIG.toEnv(config)).not.toHaveProperty('ATTESTOR_DEFAULT_TENANT');
  });

  test('values are read as the stack writes them: lists trimmed, URLs in one spelling, REQUIRE_HARDWARE true as every kind', () => {
    const roles = ADMIN_KEYS_CONFIG.fromEnv({
      REGISTRY_TABLE: 'r',
      TENANT_KEY_SIGNER_ROLE_ARN: 'arn:aws:iam::123456789012:role/A',
      TENANT_KEY_VERIFIER_ROLE_ARNS: ' arn:aws:iam::123456789012:role/V , ,',
      ATTESTOR_OPERATOR_PRINCIPALS: ' arn:aws:iam::123456789012:user/alice ,',
    });
    expect(roles.tenantKeyPolicyRoles).toEqual({ signerRoleArn: 'arn:aws:iam::123456789012:role/A', verifierRoleArns: ['arn:aws:iam::123456789012:role/V'] });
    expect(roles.operatorPrincipals).toEqual(['arn:aws:iam::123456789012:user/alice']);
    const remote = AUTHORIZER_CONFIG.fromEnv({
      KEY_SOURCE: 'remote',
      ATTESTOR_API_URL: 'http://127.0.0.1:3000',
      REQUIRE_PROOF: 'true',
      TOKEN_LEDGER_TABLE: 'l',
      PUBLIC_BASE_URL: 'https://api.example.com/v1//',
    });
    expect(remote.keySource).toEqual({ kind: 'remote', apiUrl: 'http://127.0.0.1:3000/' });
    expect(remote.publicBaseUrl).toBe('https://api.example.com/v1');
    expect(AUTHORIZER_CONFIG.fromEnv({ REGISTRY_TABLE: 'r', REQUIRE_HARDWARE: 'true' }).requireHardware).toEqual(['app-attest', 'android-key']);
    const spaced = AUTHORIZER_CONFIG.fromEnv({ REGISTRY_TABLE: 'r', REQUIRE_HARDWARE: 'android-key, app-attest' });
    expect(spaced.requireHardware).toEqual(['android-key', 'app-attest']);
    expect(AUTHORIZER_CONFIG.fromEnv({ REGISTRY_TABLE: 'r', REQUIRE_HARDWARE: 'false' })).not.toHaveProperty('requireHardware');
  });
});

// ---------- refusals ----------

const ROLE = 'arn:aws:iam::123456789012:role/Attest';
const KMS = { REGISTRY_TABLE: 'r' };
const ADMIN_UPLOADS = { REGISTRY_TABLE: 'r', BUILDS_BUCKET: 'b' };

describe('every missing or malformed variable fails at cold start, naming it and what it must be', () => {
  test.each<[string, LambdaName, Environment, string]>([
    ['challenge without its table', 'challenge', {}, 'environment variable NONCES_TABLE is required'],
    ['attest without the nonce table', 'attest', { REGISTRY_TABLE: 'r' }, 'environment variable NONCES_TABLE is required'],
    ['attest without the registry', 'attest', { NONCES_TABLE: 'n' }, 'environment variable REGISTRY_TABLE is required'],
    [
      'a token lifetime out of range',
      'attest',
      { NONCES_TABLE: 'n', REGISTRY_TABLE: 'r', ATTESTOR_TOKEN_TTL_SECONDS: '59' },
      'ATTESTOR_TOKEN_TTL_SECONDS must be a whole number of seconds from 60 to 3600, got "59"',
    ],
    [
      'a token lifetime that is not whole seconds',
      'attest',
      { NONCES_TABLE: 'n', REGISTRY_TABLE: 'r', ATTESTOR_TOKEN_TTL_SECONDS: '5m' },
      'ATTESTOR_TOKEN_TTL_SECONDS must be a whole number of seconds from 60 to 3600, got "5m"',
    ],
    [
      'a revocation list in a bucket and a file',
      'attest',
      { NONCES_TABLE: 'n', REGISTRY_TABLE: 'r', REVOCATION_LIST_BUCKET: 'b', REVOCATION_LIST_FILE: '/s.json' },
      'REVOCATION_LIST_BUCKET and REVOCATION_LIST_FILE exclude each other',
    ],
    ['register without the builds bucket', 'register', { REGISTRY_TABLE: 'r' }, 'environment variable BUILDS_BUCKET is required'],
    [
      'a build limit that is not a number',
      'register',
      { REGISTRY_TABLE: 'r', BUILDS_BUCKET: 'b', MAX_BUILD_BYTES: '2GB' },
      `MAX_BUILD_BYTES must be a whole number of bytes from 1 to ${Number.MAX_SAFE_INTEGER}, got "2GB"`,
    ],
    [
      'a build limit of nothing',
      'adminUploads',
      { ...ADMIN_UPLOADS, MAX_BUILD_BYTES: '0' },
      `MAX_BUILD_BYTES must be a whole number of bytes from 1 to ${Number.MAX_SAFE_INTEGER}, got "0"`,
    ],
    ['an admin function without the registry', 'adminCatalog', {}, 'environment variable REGISTRY_TABLE is required'],
    [
      'an operator that is not an IAM principal',
      'adminCatalog',
      { REGISTRY_TABLE: 'r', ATTESTOR_OPERATOR_PRINCIPALS: 'arn:aws:iam::123456789012:user/alice,bob' },
      'ATTESTOR_OPERATOR_PRINCIPALS must be IAM principal ARNs separated by commas, got "bob"',
    ],
    [
      'verifiers without a signer',
      'adminKeys',
      { REGISTRY_TABLE: 'r', TENANT_KEY_VERIFIER_ROLE_ARNS: ROLE },
      'TENANT_KEY_SIGNER_ROLE_ARN is required when TENANT_KEY_VERIFIER_ROLE_ARNS or TENANT_KEY_ADMIN_ROLE_ARN is set',
    ],
    [
      'an admin role without a signer',
      'adminUploads',
      { ...ADMIN_UPLOADS, TENANT_KEY_ADMIN_ROLE_ARN: ROLE },
      'TENANT_KEY_SIGNER_ROLE_ARN is required when TENANT_KEY_VERIFIER_ROLE_ARNS or TENANT_KEY_ADMIN_ROLE_ARN is set',
    ],
    [
      'a signer that is a user',
      'adminKeys',
      { REGISTRY_TABLE: 'r', TENANT_KEY_SIGNER_ROLE_ARN: 'arn:aws:iam::123456789012:user/alice' },
      'TENANT_KEY_SIGNER_ROLE_ARN must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), got "arn:aws:iam::123456789012:user/alice"',
    ],
    [
      'an admin role of another account',
      'adminKeys',
      { REGISTRY_TABLE: 'r', TENANT_KEY_SIGNER_ROLE_ARN: ROLE, TENANT_KEY_ADMIN_ROLE_ARN: 'arn:aws:iam::999999999999:role/Admin' },
      'TENANT_KEY_ADMIN_ROLE_ARN must be a role of the signer\'s account 123456789012, got "arn:aws:iam::999999999999:role/Admin"',
    ],
    [
      'a verifier of another partition',
      'adminUploads',
      { ...ADMIN_UPLOADS, TENANT_KEY_SIGNER_ROLE_ARN: ROLE, TENANT_KEY_VERIFIER_ROLE_ARNS: 'arn:aws-cn:iam::123456789012:role/V' },
      'TENANT_KEY_VERIFIER_ROLE_ARNS must be a role of the signer\'s account 123456789012, got "arn:aws-cn:iam::123456789012:role/V"',
    ],
    [
      'the failure queue without the register function',
      'adminUploads',
      { ...ADMIN_UPLOADS, REGISTER_FAILURES_QUEUE_URL: 'https://sqs.example/q' },
      'REGISTER_FAILURES_QUEUE_URL and REGISTER_FUNCTION_NAME go together: set both or neither',
    ],
    ['the revocation function without its bucket', 'revocationList', {}, 'environment variable REVOCATION_LIST_BUCKET is required'],
    [
      'a status list over plain http',
      'revocationList',
      { REVOCATION_LIST_BUCKET: 'b', ATTESTATION_STATUS_URL: 'http://mirror.example/status' },
      'ATTESTATION_STATUS_URL must be an https URL, got "http://mirror.example/status"',
    ],
    // The authorizer: what only its environment can get wrong (the rest is checkAuthorizerConfig's, below).
    ['a flag that is not true or false', 'authorizer', { ...KMS, REQUIRE_BINDING: 'yes' }, 'REQUIRE_BINDING must be true or false, got "yes"'],
    ['an unknown key source', 'authorizer', { ...KMS, KEY_SOURCE: 'file' }, 'KEY_SOURCE must be kms or remote, got "file"'],
    [
      'a cache TTL that is not a number',
      'authorizer',
      { ...KMS, AUTHORIZER_CACHE_TTL_SECONDS: '1m' },
      'AUTHORIZER_CACHE_TTL_SECONDS must be a number, got "1m"',
    ],
    ['kms without the registry table', 'authorizer', {}, 'REGISTRY_TABLE (AttestationKeySource.kms registryTable) is required when KEY_SOURCE is kms'],
    [
      'remote without a URL',
      'authorizer',
      { KEY_SOURCE: 'remote' },
      'ATTESTOR_API_URL (AttestationKeySource.remote apiUrl) is required when KEY_SOURCE is remote',
    ],
    [
      'LIMITED_USE without a ledger',
      'authorizer',
      { ...KMS, LIMITED_USE: 'true' },
      'TOKEN_LEDGER_TABLE (tokenLedger) is required when LIMITED_USE (limitedUse) is true',
    ],
    [
      'both without a ledger',
      'authorizer',
      { ...KMS, LIMITED_USE: 'true', REQUIRE_PROOF: 'true' },
      'TOKEN_LEDGER_TABLE (tokenLedger) is required when LIMITED_USE (limitedUse) and REQUIRE_PROOF (requireProof) are true',
    ],
    [
      'a kind of hardware twice',
      'authorizer',
      { ...KMS, REQUIRE_HARDWARE: 'app-attest,app-attest' },
      'REQUIRE_HARDWARE (requireHardware) names app-attest twice',
    ],
    [
      'true mixed with a kind',
      'authorizer',
      { ...KMS, REQUIRE_HARDWARE: 'true,app-attest' },
      'REQUIRE_HARDWARE (requireHardware) names "true", which is not a kind of hardware evidence: use app-attest or android-key',
    ],
    [
      'only commas',
      'authorizer',
      { ...KMS, REQUIRE_HARDWARE: ',' },
      'REQUIRE_HARDWARE (requireHardware) names "", which is not a kind of hardware evidence: use app-attest or android-key',
    ],
  ])('%s', (_what, name, env, message) => {
    expect(refusal(() => FUNCTION_CONFIGS[name].fromEnv(env)).message).toBe(message);
  });
});

describe('checkAuthorizerConfig: the authorizer\'s rules, in words for both the variable and the construct prop', () => {
  const valid: AuthorizerConfig = AUTHORIZER_CONFIG.fromEnv({ REGISTRY_TABLE: 'r' });
  const proof = { requireProof: true, tokenLedgerTable: 'l' };

  test('the defaults pass', () => {
    expect(() => checkAuthorizerConfig(valid)).not.toThrow();
  });

  test.each<[string, Partial<AuthorizerConfig>, string]>([
    ['an empty issuer', { issuer: '' }, 'ATTESTOR_ISSUER (issuer) must not be empty'],
    ['a tenant id outside the pattern', { tenantId: 'a/b' }, 'AUTHORIZER_TENANT (tenantId) must match ^[A-Za-z0-9_-]{1,64}$, got "a/b"'],
    ['an unknown mode', { mode: 'audit' as never }, 'AUTHORIZER_MODE (mode) must be enforce or monitor, got "audit"'],
    ['a token header that is no header name', { tokenHeader: 'Attestor Token' }, 'TOKEN_HEADER (headerName) must be an HTTP header name, got "Attestor Token"'],
    [
      'a binding header that is no header name',
      { requireBinding: true, bindingHeader: 'a:b' },
      'BINDING_HEADER (bindingHeader) must be an HTTP header name, got "a:b"',
    ],
    [
      'a binding header without binding',
      { bindingHeader: 'X-Session' },
      'BINDING_HEADER (bindingHeader) is set but REQUIRE_BINDING (requireBinding) is not: the binding header is read only when binding is required',
    ],
    [
      'binding to the token header',
      { requireBinding: true, bindingHeader: 'attestor-token' },
      'TOKEN_HEADER (headerName) and BINDING_HEADER (bindingHeader) name the same header (attestor-token): a token cannot be bound to itself',
    ],
    [
      'the token in Authorization, bound to the default binding header',
      { requireBinding: true, tokenHeader: 'Authorization' },
      'TOKEN_HEADER (headerName) and BINDING_HEADER (bindingHeader) name the same header (Authorization): a token cannot be bound to itself',
    ],
    [
      'the token in the proof header',
      { ...proof, tokenHeader: 'attestor-proof' },
      'TOKEN_HEADER (headerName) and REQUIRE_PROOF (requireProof) conflict: Attestor-Proof is the proof header',
    ],
    [
      'binding to the proof header',
      { ...proof, requireBinding: true, bindingHeader: 'Attestor-Proof' },
      'BINDING_HEADER (bindingHeader) and REQUIRE_PROOF (requireProof) conflict: Attestor-Proof is the proof header',
    ],
    [
      'an empty list of hardware kinds',
      { requireHardware: [] },
      'REQUIRE_HARDWARE (requireHardware) must not be an empty list: it would deny every token (false, the default, requires no hardware)',
    ],
    [
      'an unknown kind of hardware',
      { requireHardware: ['play-integrity' as never] },
      'REQUIRE_HARDWARE (requireHardware) names "play-integrity", which is not a kind of hardware evidence: use app-attest or android-key',
    ],
    ['proofs without a ledger', { requireProof: true }, 'TOKEN_LEDGER_TABLE (tokenLedger) is required when REQUIRE_PROOF (requireProof) is true'],
    [
      'a ledger nothing writes to',
      { tokenLedgerTable: 'l' },
      'TOKEN_LEDGER_TABLE (tokenLedger) is set but neither LIMITED_USE (limitedUse) nor REQUIRE_PROOF (requireProof) is: nothing would be written to it',
    ],
    [
      'a tenant key prefix that is no alias',
      { keySource: { kind: 'kms', registryTable: 'r', tenantKeyAliasPrefix: 'attestor/tenant/', decoyKeyId: 'd' } },
      'TENANT_KEY_ALIAS_PREFIX (AttestationKeySource.kms tenantKeyAliasPrefix) must begin with alias/, got "attestor/tenant/"',
    ],
    [
      'an API URL over plain http',
      { keySource: { kind: 'remote', apiUrl: 'http://keys.example.com/prod' } },
      'ATTESTOR_API_URL (AttestationKeySource.remote apiUrl) must be an https URL (plain http only on this machine) without credentials, query or fragment, ' +
        'got "http://keys.example.com/prod"',
    ],
    [
      'an API URL that is no URL',
      { keySource: { kind: 'remote', apiUrl: 'keys' } },
      'ATTESTOR_API_URL (AttestationKeySource.remote apiUrl) must be an https URL (plain http only on this machine) without credentials, query or fragment, ' +
        'got "keys"',
    ],
    [
      'a public base URL without proofs',
      { publicBaseUrl: 'https://api.example.com' },
      'PUBLIC_BASE_URL (publicBaseUrl) is set but REQUIRE_PROOF (requireProof) is not: the base URL is used only to check proofs',
    ],
    [
      'a public base URL with a query',
      { ...proof, publicBaseUrl: 'https://api.example.com/?a=1' },
      'PUBLIC_BASE_URL (publicBaseUrl) must be an https URL (plain http only on this machine) without credentials, query or fragment, ' +
        'got "https://api.example.com/?a=1"',
    ],
    [
      'a public base URL with credentials',
      { ...proof, publicBaseUrl: 'https://user:pw@api.example.com' },
      'PUBLIC_BASE_URL (publicBaseUrl) must be an https URL (plain http only on this machine) without credentials, query or fragment, ' +
        'got "https://user:pw@api.example.com"',
    ],
    [
      'a cache longer than the shortest token',
      { cacheSeconds: 61 },
      'AUTHORIZER_CACHE_TTL_SECONDS (resultsCacheTtl) must be a whole number of seconds from 0 to 60, got 61',
    ],
    [
      'a cache of part of a second',
      { cacheSeconds: 1.5 },
      'AUTHORIZER_CACHE_TTL_SECONDS (resultsCacheTtl) must be a whole number of seconds from 0 to 60, got 1.5',
    ],
    [
      'caching single-use tokens',
      { limitedUse: true, tokenLedgerTable: 'l', cacheSeconds: 60 },
      'AUTHORIZER_CACHE_TTL_SECONDS (resultsCacheTtl) must be 0 with LIMITED_USE (limitedUse): a cached Allow would let a single-use token in again',
    ],
    [
      'caching per-request proofs',
      { ...proof, cacheSeconds: 60 },
      'AUTHORIZER_CACHE_TTL_SECONDS (resultsCacheTtl) must be 0 with REQUIRE_PROOF (requireProof): each request carries a new proof that must be checked',
    ],
    [
      'caching in monitor mode',
      { mode: 'monitor', cacheSeconds: 60 },
      'AUTHORIZER_CACHE_TTL_SECONDS (resultsCacheTtl) must be 0 with AUTHORIZER_MODE (mode) monitor: caching needs identity sources, ' +
        'and API Gateway answers 401 itself to requests without them, which monitor mode must let through',
    ],
  ])('refuses %s', (_what, change, message) => {
    expect(refusal(() => checkAuthorizerConfig({ ...valid, ...change })).message).toBe(message);
  });

  test('lets plain http through for this machine only (the local cloud), and any https API', () => {
    const apiUrls = ['http://127.0.0.1:3000/', 'http://localhost:3000/prod/', 'http://[::1]:3000/', 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/'];
    for (const apiUrl of apiUrls) {
      expect(() => checkAuthorizerConfig({ ...valid, keySource: { kind: 'remote', apiUrl } })).not.toThrow();
    }
  });

  test('leaves values known only at deployment (CDK tokens) to the function, and still checks what it can', () => {
    const token = '${Token[TOKEN.42]}';
    const isUnresolved = (value: string) => value.startsWith('${Token[');
    expect(() => checkAuthorizerConfig({ ...valid, tenantId: token })).toThrow(ConfigurationError);
    expect(() => checkAuthorizerConfig({ ...valid, tenantId: token, keySource: { kind: 'remote', apiUrl: token } }, { isUnresolved })).not.toThrow();
    expect(() => checkAuthorizerConfig({ ...valid, tenantId: token, limitedUse: true, tokenLedgerTable: token, cacheSeconds: 60 }, { isUnresolved })).toThrow(
      'must be 0 with LIMITED_USE',
    );
  });
});

// ---------- the docs ----------

test('docs/ENFORCEMENT.md lists exactly the authorizer\'s variables (and the Region Lambda sets)', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/ENFORCEMENT.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## The authorizer Lambda: environment contract'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| Variable |')));
  const documented = [...table.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
  expect(documented.length).toBeGreaterThan(0);
  expect([...documented].sort()).toEqual([...AUTHORIZER_CONFIG.variables, 'AWS_REGION'].sort());
});

test('docs/DEPLOY.md lists exactly the variables each function reads', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/DEPLOY.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Function environments'));
  const table = section.slice(section.indexOf('| Function |'), section.indexOf('\n\n', section.indexOf('| Function |')));
  const documented = new Map<string, string[]>();
  for (const [, fn, cell] of table.matchAll(/^\| ([a-z]\w*) \| (.*) \|$/gm)) {
    const like = /^as (\w+), and /.exec(cell!);
    documented.set(fn!, [...(like ? documented.get(like[1]!)! : []), ...[...cell!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)]);
  }
  const services = NAMES.filter((name) => name !== 'authorizer');
  expect([...documented.keys()].sort()).toEqual([...NAMES].sort());
  for (const name of services) expect([name, [...documented.get(name)!].sort()]).toEqual([name, [...FUNCTION_CONFIGS[name].variables].sort()]);
});

test('demoHello reads nothing, and the records of the other functions are not the catch-all of before', () => {
  expect(DEMO_HELLO_CONFIG.variables).toEqual([]);
  // challenge never used the registry, and the admin functions never used the nonce table.
  expect(CHALLENGE_CONFIG.variables).toEqual(['NONCES_TABLE']);
  for (const record of [ADMIN_CATALOG_CONFIG, ADMIN_KEYS_CONFIG, ADMIN_UPLOADS_CONFIG, REGISTER_CONFIG]) expect(record.variables).not.toContain('NONCES_TABLE');
  // Only the key creators name the roles of the key policy.
  for (const record of [ATTEST_CONFIG, ADMIN_CATALOG_CONFIG, REGISTER_CONFIG]) expect(record.variables).not.toContain('TENANT_KEY_SIGNER_ROLE_ARN');
});
