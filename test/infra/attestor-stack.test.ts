/**
 * Security properties of the deployed Attestor stack, one assertion each. Most tests synthesize once
 * with bundling skipped (fast); the last describe bundles every Lambda for real.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AttestorStack,
  BUILD_LOG_PARTITION_PATTERN,
  DECOY_KEY_ALIAS,
  RATE_LIMITED_PATHS,
  TENANT_KEY_ALIAS_PREFIX,
  TENANT_KEY_TAG_KEYS,
  TENANT_TAG_KEY,
  TEST_ROOTS_VARIABLE,
} from '../../packages/cdk/src/attestor-stack';
import { MAX_BODY_BYTES } from '../../packages/cdk/src/attestor-waf';
import type { ServiceFunction } from '../../packages/cdk/src/service-function';
import { tenantSecretKeyPolicy } from '../../packages/service/src/adapters/kms-key-policy';
import { ConfigurationError, CONFIG_DEFAULTS, FUNCTION_CONFIGS, type FunctionConfigContract } from '../../packages/contracts/src/config';
import { ATTESTATION_LOG_TABLE, HARDWARE_DEVICES_TABLE, NONCES_TABLE, REGISTRY_TABLE, REVOCATION_LIST_OBJECT_KEY } from '../../packages/contracts/src/tables';
import { BUILD_KEY_PREFIX } from '../../packages/service/src/core/registration';
import { TOKEN_HEADER_NAME } from '../../packages/contracts/src/protocol';
import { ADMIN_LAMBDAS, KEY_CREATING_LAMBDAS, LAMBDAS, ROUTES, type LambdaName } from '../../packages/contracts/src/routes';
import { asList, fastApp, refers, Synth, type Json, type Statement } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const LAMBDA_NAMES = Object.keys(LAMBDAS) as LambdaName[];

let stack: AttestorStack;
let s: Synth;
/** One stack with every non-default prop that changes the template, synthesized once. */
let variant: AttestorStack;
let v: Synth;

beforeAll(() => {
  // The demo route on, so that every function and route of the table is here to check; the default
  // (no demo route) is test/infra/attestor-deploy-props.test.ts's.
  stack = new AttestorStack(fastApp(), 'Attestor', { demoRoute: true });
  s = new Synth(stack);
  variant = new AttestorStack(fastApp(), 'Variant', {
    issuer: 'https://attest.example.com',
    tokenTtl: Duration.minutes(15),
    operatorPrincipals: ['arn:aws:iam::123456789012:role/Ops', 'arn:aws:iam::123456789012:user/alice'],
    demoRoute: true,
    demoAuthorizer: { mode: 'monitor', requireBinding: true, limitedUse: true, requireProof: true },
    registerReservedConcurrency: null,
    adminReservedConcurrency: null,
    rateLimitPer5Minutes: 2000,
  });
  v = new Synth(variant);
});

/** A function of the stack; the demo route's two exist only with demoRoute. */
function fnOf(st: AttestorStack, name: LambdaName): ServiceFunction {
  const fn = st.functions[name];
  if (!fn) throw new Error(`${st.node.id} has no ${name} function`);
  return fn;
}
const fnLogicalId = (name: LambdaName) => s.id(fnOf(stack, name).fn);
const roleLogicalId = (name: LambdaName) => s.id(fnOf(stack, name).role);
const envOf = (name: LambdaName) => s.resources[fnLogicalId(name)]!['Properties']['Environment']['Variables'] as Json;
const nonces = () => s.id(stack.tables.nonces);
const registry = () => s.id(stack.tables.registry);
const attestationLog = () => s.id(stack.tables.attestationLog);
const decoy = () => s.id(stack.decoyKey);
const bucket = () => s.id(stack.buildsBucket);
const hardwareDevices = () => s.id(stack.tables.hardwareDevices);
/** The one object of the builds bucket that holds the attestation status list. */
const revocationListObject = () => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket(), 'Arn'] }, `/${REVOCATION_LIST_OBJECT_KEY}`]] });

/**
 * A function's environment as Lambda would hand it over: references to the stack's resources become
 * values of their kind (a role's ARN, a table's name), so that the function's record can read them.
 */
function deployedEnv(synth: Synth, fn: CfnElement | lambda.IFunction): Record<string, string> {
  const variables = synth.resource(fn as never)['Properties']['Environment']['Variables'] as Json;
  const value = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const ref = (v as Json)['Ref'] as string | undefined;
    const att = (v as Json)['Fn::GetAtt'] as [string, string] | undefined;
    const id = ref ?? att?.[0];
    const type = id === undefined ? undefined : (synth.resources[id]?.['Type'] as string);
    if (att && type === 'AWS::IAM::Role') return `arn:aws:iam::123456789012:role/${id}`;
    if (att && type === 'AWS::KMS::Key') return `arn:aws:kms:eu-west-1:123456789012:key/${id}`;
    if (ref && type === 'AWS::SQS::Queue') return `https://sqs.eu-west-1.amazonaws.com/123456789012/${id}`;
    if (ref) return `${id}-name`;
    throw new Error(`no stand-in for ${JSON.stringify(v)}`);
  };
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, value(v)]));
}

// ---------- DynamoDB ----------

describe('tables', () => {
  test('every table is on-demand', () => {
    const tables = s.ofType('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(4);
    for (const [, t] of tables) expect(t['Properties']['BillingMode']).toBe('PAY_PER_REQUEST');
  });

  test('nonces: key schema from NONCES_TABLE, TTL on its ttl attribute; destroyed with the stack (no customer data)', () => {
    const t = s.resource(stack.tables.nonces);
    expect(t['Properties']['KeySchema']).toEqual([{ AttributeName: NONCES_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(t['Properties']['TimeToLiveSpecification']).toEqual({ AttributeName: NONCES_TABLE.ttlAttribute, Enabled: true });
    expect(t['DeletionPolicy']).toBe('Delete');
  });

  test('registry: key schema from REGISTRY_TABLE, point-in-time recovery, deletion protection', () => {
    const t = s.resource(stack.tables.registry)['Properties'];
    expect(t['KeySchema']).toEqual([
      { AttributeName: REGISTRY_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: REGISTRY_TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    expect(t['PointInTimeRecoverySpecification']).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(t['DeletionProtectionEnabled']).toBe(true);
  });

  test('attestation log: key schema from ATTESTATION_LOG_TABLE, TTL on its ttl attribute', () => {
    const t = s.resource(stack.tables.attestationLog)['Properties'];
    expect(t['KeySchema']).toEqual([
      { AttributeName: ATTESTATION_LOG_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: ATTESTATION_LOG_TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    expect(t['TimeToLiveSpecification']).toEqual({ AttributeName: ATTESTATION_LOG_TABLE.ttlAttribute, Enabled: true });
  });

  test('hardware devices: key schema from HARDWARE_DEVICES_TABLE, TTL on its ttl attribute, point-in-time recovery', () => {
    const t = s.resource(stack.tables.hardwareDevices)['Properties'];
    expect(t['KeySchema']).toEqual([{ AttributeName: HARDWARE_DEVICES_TABLE.partitionKey, KeyType: 'HASH' }]);
    expect(t['TimeToLiveSpecification']).toEqual({ AttributeName: HARDWARE_DEVICES_TABLE.ttlAttribute, Enabled: true });
    expect(t['PointInTimeRecoverySpecification']).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  test('no warm throughput unless a peak is named (pre-warming is charged)', () => {
    for (const [, t] of s.ofType('AWS::DynamoDB::Table')) expect(t['Properties']['WarmThroughput']).toBeUndefined();
  });

  test('peakAttestationsPerSecond pre-warms the nonce table for two writes per attestation and the log for three, never below the on-demand floor', () => {
    const warm = (peak: number) => {
      const st = new AttestorStack(fastApp(), `Peak${peak}`, { peakAttestationsPerSecond: peak });
      const synth = new Synth(st);
      return {
        nonces: synth.resource(st.tables.nonces)['Properties']['WarmThroughput'],
        log: synth.resource(st.tables.attestationLog)['Properties']['WarmThroughput'],
        hardware: synth.resource(st.tables.hardwareDevices)['Properties']['WarmThroughput'],
        registry: synth.resource(st.tables.registry)['Properties']['WarmThroughput'],
        stage: (synth.ofType('AWS::ApiGateway::Stage')[0]![1]['Properties']['MethodSettings'] as Json[])[0],
      };
    };
    const big = warm(10_000);
    expect(big.nonces).toEqual({ WriteUnitsPerSecond: 20_000 });
    expect(big.log).toEqual({ WriteUnitsPerSecond: 30_000 });
    expect(big.hardware).toEqual({ WriteUnitsPerSecond: 10_000 });
    expect(big.registry).toBeUndefined();
    expect(big.stage).toMatchObject({ ThrottlingRateLimit: 22_000, ThrottlingBurstLimit: 22_000 });
    const small = warm(100);
    expect(small.nonces).toEqual({ WriteUnitsPerSecond: 4000 });
    expect(small.log).toEqual({ WriteUnitsPerSecond: 4000 });
    expect(small.stage).toMatchObject({ ThrottlingRateLimit: 220, ThrottlingBurstLimit: 220 });
    expect(() => new AttestorStack(fastApp(), 'PeakBad', { peakAttestationsPerSecond: 0.5 })).toThrow(/peakAttestationsPerSecond must be a whole number/);
    const explicit = new Synth(new AttestorStack(fastApp(), 'PeakExplicit', { peakAttestationsPerSecond: 1000, throttlingRateLimit: 900 }));
    expect((explicit.ofType('AWS::ApiGateway::Stage')[0]![1]['Properties']['MethodSettings'] as Json[])[0]).toMatchObject({
      ThrottlingRateLimit: 900,
      ThrottlingBurstLimit: 2200,
    });
  });

  test.each(['registry', 'attestationLog', 'hardwareDevices'] as const)('%s holds customer data: retained on stack deletion and replacement', (name) => {
    const t = s.resource(stack.tables[name]);
    expect(t['DeletionPolicy']).toBe('Retain');
    expect(t['UpdateReplacePolicy']).toBe('Retain');
  });
});

// ---------- S3 ----------

describe('builds bucket', () => {
  const props = () => s.resource(stack.buildsBucket)['Properties'];

  test('blocks all public access', () => {
    expect(props()['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  test('encrypted at rest (S3-managed keys)', () => {
    expect(props()['BucketEncryption']).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
  });

  test('bucket policy denies every request without TLS, on the bucket and its objects', () => {
    const [, policy] = s.ofType('AWS::S3::BucketPolicy').find(([, p]) => refers(p['Properties']['Bucket'], bucket()))!;
    const deny = (policy['Properties']['PolicyDocument']['Statement'] as Statement[]).find(
      (st) => st.Effect === 'Deny' && st.Condition?.['Bool']?.['aws:SecureTransport'] === 'false',
    );
    expect(deny).toBeDefined();
    expect(asList(deny!.Action)).toContain('s3:*');
    expect(asList(deny!.Resource as unknown[])).toHaveLength(2);
  });

  test('versioning enabled', () => {
    expect(props()['VersioningConfiguration']).toEqual({ Status: 'Enabled' });
  });

  test('lifecycle: noncurrent versions expire, incomplete multipart uploads aborted within 1-7 days', () => {
    const rules = props()['LifecycleConfiguration']['Rules'] as Json[];
    expect(rules.some((r) => r['Status'] === 'Enabled' && r['NoncurrentVersionExpiration']?.['NoncurrentDays'] > 0)).toBe(true);
    const abort = rules.find((r) => r['AbortIncompleteMultipartUpload'])!['AbortIncompleteMultipartUpload']['DaysAfterInitiation'];
    expect(abort).toBeGreaterThanOrEqual(1);
    expect(abort).toBeLessThanOrEqual(7);
  });

  test('ACLs disabled (bucket owner enforced)', () => {
    expect(props()['OwnershipControls']).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  test('retained on stack deletion', () => {
    expect(s.resource(stack.buildsBucket)['DeletionPolicy']).toBe('Retain');
  });

  test('ObjectCreated under the builds/ prefix, and only that, invokes the register function', () => {
    const [[, notifications]] = s.ofType('Custom::S3BucketNotifications') as [[string, Json]];
    expect(refers(notifications['Properties']['BucketName'], bucket())).toBe(true);
    const config = notifications['Properties']['NotificationConfiguration'];
    expect(Object.keys(config)).toEqual(['LambdaFunctionConfigurations']);
    expect(config['LambdaFunctionConfigurations']).toEqual([
      {
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: BUILD_KEY_PREFIX }] } },
        LambdaFunctionArn: { 'Fn::GetAtt': [fnLogicalId('register'), 'Arn'] },
      },
    ]);
  });
});

// ---------- KMS ----------

describe('decoy key', () => {
  test('ECC_NIST_P256 signing key, retained', () => {
    const key = s.resource(stack.decoyKey);
    expect(key['Properties']).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key['DeletionPolicy']).toBe('Retain');
  });

  test(`alias ${DECOY_KEY_ALIAS} points at it`, () => {
    s.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: DECOY_KEY_ALIAS, TargetKeyId: { 'Fn::GetAtt': [decoy(), 'Arn'] } });
  });

  test('key policy delegates to IAM (the account root), so the per-role policies below are what decide', () => {
    const statements = s.resource(stack.decoyKey)['Properties']['KeyPolicy']['Statement'] as Json[];
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0]!['Principal'])).toContain(':root');
  });

  test('the alias names the stack creates and grants on are the ones the functions default to', () => {
    expect([DECOY_KEY_ALIAS, TENANT_KEY_ALIAS_PREFIX]).toEqual(['alias/attestor/decoy', 'alias/attestor/tenant/']);
    expect([CONFIG_DEFAULTS.decoyKeyId, CONFIG_DEFAULTS.tenantKeyAliasPrefix]).toEqual([DECOY_KEY_ALIAS, TENANT_KEY_ALIAS_PREFIX]);
  });
});

describe('tenant keys (created at run time by the key-creating admin functions)', () => {
  test('key creators are exactly the admin functions serving a route that calls ensureSigningKey or rotateSigningKey', () => {
    // The routes that may create a key (src/handlers/admin/{apps,tenants,keys,uploads}.ts).
    const creating = ['POST /v1/admin/tenants', 'POST /v1/admin/apps', 'POST /v1/admin/keys/rotate', 'POST /v1/admin/apps/{appId}/uploads'];
    const served = new Set(ROUTES.filter((r) => creating.includes(`${r.method} ${r.path}`)).map((r) => r.lambda));
    expect([...served].sort()).toEqual([...KEY_CREATING_LAMBDAS].sort());
  });

  test.each(KEY_CREATING_LAMBDAS)('%s names the roles for the key policy: attest signs, the authorizer verifies, the creator itself discards', (name) => {
    const env = envOf(name);
    expect(env['TENANT_KEY_SIGNER_ROLE_ARN']).toEqual({ 'Fn::GetAtt': [roleLogicalId('attest'), 'Arn'] });
    expect(env['TENANT_KEY_VERIFIER_ROLE_ARNS']).toEqual({ 'Fn::GetAtt': [roleLogicalId('authorizer'), 'Arn'] });
    expect(env['TENANT_KEY_ADMIN_ROLE_ARN']).toEqual({ 'Fn::GetAtt': [roleLogicalId(name), 'Arn'] });
  });

  test("the authorizer those policies name can unwrap only its own tenant's secrets: an explicit deny beats every tenant's key-policy allow", () => {
    // Prepare: the secrets-key policy a creator writes for another tenant names the authorizer's role...
    const authorizerArn = 'arn:aws:iam::123456789012:role/Authorizer';
    const keyPolicy = JSON.parse(
      tenantSecretKeyPolicy({ signerRoleArn: 'arn:aws:iam::123456789012:role/Attest', verifierRoleArns: [authorizerArn] }, 'acme'),
    ) as { Statement: Statement[] };
    const granted = keyPolicy.Statement.find(
      (st) => st.Effect === 'Allow' && asList(st.Action).includes('kms:Decrypt') && JSON.stringify(st.Principal).includes(authorizerArn),
    );
    // ...and the authorizer's own policy denies what its tenant (default) does not own.
    // (Its other deny, of test secrets, is the construct's test: test/infra/attestation-authorizer.test.ts.)
    const denies = s.denying(roleLogicalId('authorizer'), 'kms:Decrypt').filter((st) => (st.Condition as Json)['StringNotEquals'] !== undefined);
    /** IAM's rule for these statements: a Deny whose StringNotEquals holds for the request's context applies. */
    const deniedFor = (tenantId: string) =>
      denies.some((st) =>
        Object.entries((st.Condition as Json)['StringNotEquals'] as Record<string, string>).every(
          ([key, value]) => ({ 'kms:EncryptionContext:attestor:tenant': tenantId })[key] !== value,
        ),
      );

    // Assess
    expect(granted?.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:attestor:tenant': 'acme' },
      // Never a test secret (its context carries a purpose).
      Null: { 'kms:EncryptionContext:attestor:purpose': 'true' },
    });
    expect(denies).toEqual([
      expect.objectContaining({ Resource: '*', Condition: { StringNotEquals: { 'kms:EncryptionContext:attestor:tenant': 'default' } } }),
    ]);
    expect(deniedFor('acme')).toBe(true);
    expect(deniedFor('default')).toBe(false);
  });

  test.each(KEY_CREATING_LAMBDAS)('%s reads those roles back as the key policy\'s, at cold start', (name) => {
    const roles = (FUNCTION_CONFIGS[name].fromEnv(deployedEnv(s, fnOf(stack, name).fn)) as { tenantKeyPolicyRoles?: unknown }).tenantKeyPolicyRoles;
    expect(roles).toEqual({
      signerRoleArn: `arn:aws:iam::123456789012:role/${roleLogicalId('attest')}`,
      verifierRoleArns: [`arn:aws:iam::123456789012:role/${roleLogicalId('authorizer')}`],
      adminRoleArn: `arn:aws:iam::123456789012:role/${roleLogicalId(name)}`,
    });
  });

  test('alias prefix and tag keys: one prefix for every tenant key, tags the admin may set', () => {
    expect(envOf('attest')['TENANT_KEY_ALIAS_PREFIX']).toBe(TENANT_KEY_ALIAS_PREFIX);
    for (const name of KEY_CREATING_LAMBDAS) expect(envOf(name)['TENANT_KEY_ALIAS_PREFIX']).toBe(TENANT_KEY_ALIAS_PREFIX);
    const source = fs.readFileSync(path.join(ROOT, 'packages/service/src/adapters/kms-key-provisioner.ts'), 'utf8');
    const used = [...new Set([...source.matchAll(/TagKey: '([^']+)'/g)].map((m) => m[1]!))];
    // A tag key outside the allowed set would make every CreateKey the admin sends fail.
    expect(used.length).toBeGreaterThan(0);
    for (const key of used) expect(TENANT_KEY_TAG_KEYS).toContain(key);
    expect(used).toContain(TENANT_TAG_KEY);
  });
});

// ---------- Lambda ----------

describe('functions', () => {
  test('one function per LAMBDAS entry (plus the CDK bucket-notification handler), nothing else', () => {
    const ours = LAMBDA_NAMES.map(fnLogicalId);
    const others = s.ofType('AWS::Lambda::Function').map(([id]) => id).filter((id) => !ours.includes(id));
    expect(ours.every((id) => s.resources[id]?.['Type'] === 'AWS::Lambda::Function')).toBe(true);
    expect(others).toHaveLength(1);
    expect(others[0]).toMatch(/^BucketNotificationsHandler/);
  });

  test('the runtime is the newest Node.js runtime CDK knows', () => {
    const node = lambda.Runtime.ALL.map((r) => r.name).filter((n) => /^nodejs\d+\.x$/.test(n));
    const newest = node.sort((a, b) => Number(b.match(/\d+/)![0]) - Number(a.match(/\d+/)![0]))[0];
    for (const name of LAMBDA_NAMES) expect(s.resources[fnLogicalId(name)]!['Properties']['Runtime']).toBe(newest);
  });

  test.each(LAMBDA_NAMES)('%s: arm64 with the memory, timeout and description of its spec', (name) => {
    expect(s.resources[fnLogicalId(name)]!['Properties']).toMatchObject({
      Architectures: ['arm64'],
      MemorySize: LAMBDAS[name].memoryMb,
      Timeout: LAMBDAS[name].timeoutSeconds,
      Description: LAMBDAS[name].description,
      Handler: 'index.handler',
    });
  });

  describe.each([
    ['the stack with the demo route', () => [stack, s] as const],
    ['the variant with every optional prop set', () => [variant, v] as const],
  ])('%s', (_which, synthesized) => {
    test.each(LAMBDA_NAMES)('%s is given exactly the variables its record writes for the settings it reads back at cold start', (name) => {
      const [st, synth] = synthesized();
      const { NODE_OPTIONS, ...env } = deployedEnv(synth, fnOf(st, name).fn);
      expect(NODE_OPTIONS).toBe('--enable-source-maps');
      const record = FUNCTION_CONFIGS[name] as FunctionConfigContract<unknown>;
      // The cold start passes (no variable missing or malformed), and writing those settings again gives
      // this environment back: no variable the function does not read, none missing, none spelled otherwise.
      expect(record.toEnv(record.fromEnv(env))).toEqual(env);
    });
  });

  test('each function gets the names it uses, and only those', () => {
    const names = (name: LambdaName) => Object.keys(envOf(name)).sort();
    const base = ['NODE_OPTIONS', 'NONCES_TABLE', 'REGISTRY_TABLE'];
    // challenge keeps nonces and nothing else; only attest has both tables (the others never read the nonces).
    expect(names('challenge')).toEqual(['NODE_OPTIONS', 'NONCES_TABLE']);
    const admin = ['NODE_OPTIONS', 'REGISTRY_TABLE'];
    const hardware = ['HARDWARE_DEVICES_TABLE', 'REVOCATION_LIST_BUCKET'];
    const attestNames = ['ATTESTATION_LOG_TABLE', 'ATTESTOR_ISSUER', 'ATTESTOR_TOKEN_TTL_SECONDS', 'DECOY_KEY_ID', 'TENANT_KEY_ALIAS_PREFIX', ...hardware];
    expect(names('attest')).toEqual([...base, ...attestNames].sort());
    expect(envOf('attest')['HARDWARE_DEVICES_TABLE']).toEqual({ Ref: hardwareDevices() });
    expect(envOf('attest')['REVOCATION_LIST_BUCKET']).toEqual({ Ref: bucket() });
    expect(names('revocationList')).toEqual(['NODE_OPTIONS', 'REVOCATION_LIST_BUCKET']);
    expect(envOf('revocationList')['REVOCATION_LIST_BUCKET']).toEqual({ Ref: bucket() });
    expect(names('register')).toEqual([...admin, 'ATTESTATION_LOG_TABLE', 'BUILDS_BUCKET'].sort());
    const keyPolicy = ['DECOY_KEY_ID', 'TENANT_KEY_ALIAS_PREFIX', 'TENANT_KEY_SIGNER_ROLE_ARN', 'TENANT_KEY_VERIFIER_ROLE_ARNS', 'TENANT_KEY_ADMIN_ROLE_ARN'];
    expect(names('adminCatalog')).toEqual([...admin, 'ATTESTATION_LOG_TABLE'].sort());
    // Test tokens: adminKeys records each mint in the attestation log (and gets ATTESTOR_ISSUER when the issuer is not the default).
    expect(names('adminKeys')).toEqual([...admin, ...keyPolicy, 'ATTESTATION_LOG_TABLE'].sort());
    expect(names('adminUploads')).toEqual([...admin, 'BUILDS_BUCKET', ...keyPolicy, 'REGISTER_FAILURES_QUEUE_URL', 'REGISTER_FUNCTION_NAME'].sort());
    expect(envOf('adminUploads')['REGISTER_FAILURES_QUEUE_URL']).toEqual({ Ref: s.id(stack.registerFailures) });
    expect(envOf('adminUploads')['REGISTER_FUNCTION_NAME']).toEqual({ Ref: fnLogicalId('register') });
    expect(envOf('adminUploads')['BUILDS_BUCKET']).toEqual({ Ref: bucket() });
    expect(names('demoHello')).toEqual(['NODE_OPTIONS']);
    expect(envOf('attest')['NONCES_TABLE']).toEqual({ Ref: nonces() });
    expect(envOf('attest')['REGISTRY_TABLE']).toEqual({ Ref: registry() });
    expect(envOf('attest')['ATTESTATION_LOG_TABLE']).toEqual({ Ref: attestationLog() });
    expect(envOf('attest')['DECOY_KEY_ID']).toEqual({ 'Fn::GetAtt': [decoy(), 'Arn'] });
    expect(envOf('register')['BUILDS_BUCKET']).toEqual({ Ref: bucket() });
  });

  test.each(ADMIN_LAMBDAS)('operatorPrincipals reach %s as ATTESTOR_OPERATOR_PRINCIPALS', (name) => {
    const env = v.resource(fnOf(variant, name).fn)['Properties']['Environment']['Variables'];
    expect(env['ATTESTOR_OPERATOR_PRINCIPALS']).toBe('arn:aws:iam::123456789012:role/Ops,arn:aws:iam::123456789012:user/alice');
    expect(FUNCTION_CONFIGS[name].fromEnv(deployedEnv(v, fnOf(variant, name).fn)).operatorPrincipals).toEqual([
      'arn:aws:iam::123456789012:role/Ops',
      'arn:aws:iam::123456789012:user/alice',
    ]);
  });

  test.each(LAMBDA_NAMES)('%s: logs to its own log group with a retention', (name) => {
    const logGroupId = s.id(fnOf(stack, name).logGroup);
    expect(s.resources[fnLogicalId(name)]!['Properties']['LoggingConfig']).toEqual({ LogGroup: { Ref: logGroupId } });
    expect(s.resources[logGroupId]!['Properties']['RetentionInDays']).toBeGreaterThan(0);
  });

  const reservedNames: readonly LambdaName[] = ['register', ...ADMIN_LAMBDAS];
  test('register and the admin functions have reserved concurrency (runaway cost); request-path functions do not', () => {
    for (const name of reservedNames) expect(s.resources[fnLogicalId(name)]!['Properties']['ReservedConcurrentExecutions']).toBeGreaterThan(0);
    for (const name of LAMBDA_NAMES.filter((n) => !reservedNames.includes(n))) {
      expect(s.resources[fnLogicalId(name)]!['Properties']['ReservedConcurrentExecutions']).toBeUndefined();
    }
  });

  test('reserved concurrency: null reserves nothing', () => {
    for (const name of reservedNames) expect(v.resource(fnOf(variant, name).fn)['Properties']['ReservedConcurrentExecutions']).toBeUndefined();
  });

  test('register: S3 events it gives up on go to an encrypted, TLS-only queue kept 14 days', () => {
    const [[, config]] = s.ofType('AWS::Lambda::EventInvokeConfig') as [[string, Json]];
    expect(config['Properties']['FunctionName']).toEqual({ Ref: fnLogicalId('register') });
    expect(config['Properties']['DestinationConfig']['OnFailure']['Destination']).toEqual({ 'Fn::GetAtt': [s.id(stack.registerFailures), 'Arn'] });
    const queue = s.resource(stack.registerFailures)['Properties'];
    expect(queue['SqsManagedSseEnabled']).toBe(true);
    expect(queue['MessageRetentionPeriod']).toBe(14 * 86400);
    const [, policy] = s.ofType('AWS::SQS::QueuePolicy').find(([, p]) => refers(p['Properties']['Queues'], s.id(stack.registerFailures)))!;
    expect(policy['Properties']['PolicyDocument']['Statement']).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
  });
});

// ---------- API Gateway ----------

describe('api', () => {
  const expectedAuth = { none: 'NONE', attestation: 'CUSTOM', iam: 'AWS_IAM' } as const;

  test.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: present, with its auth, integrated with its Lambda', (_, route) => {
    const found = s.methods().filter((m) => m.method === route.method && m.path === route.path);
    expect(found).toHaveLength(1);
    const props = found[0]!.props;
    expect(props['AuthorizationType']).toBe(expectedAuth[route.auth]);
    if (route.auth === 'attestation') {
      expect(props['AuthorizerId']).toEqual({ Ref: s.id(stack.authorizer!.authorizer) });
    } else {
      expect(props['AuthorizerId']).toBeUndefined();
    }
    expect(props['Integration']['Type']).toBe('AWS_PROXY');
    expect(refers(props['Integration']['Uri'], fnLogicalId(route.lambda))).toBe(true);
  });

  test('/demo/hello authorizer: REQUEST, the token header as identity source, no caching, the authorizer function', () => {
    const props = s.resource(stack.authorizer!.authorizer)['Properties'];
    expect(props).toMatchObject({ Type: 'REQUEST', IdentitySource: `method.request.header.${TOKEN_HEADER_NAME}`, AuthorizerResultTtlInSeconds: 0 });
    expect(refers(props['AuthorizerUri'], fnLogicalId('authorizer'))).toBe(true);
  });

  test('no method beyond ROUTES (a route added by hand elsewhere would skip this table)', () => {
    const declared = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    expect(s.methods().map((m) => `${m.method} ${m.path}`).sort()).toEqual([...declared].sort());
  });

  test('stage: throttled, access-logged as JSON to a log group with a retention, no execution logs', () => {
    const [[, stage]] = s.ofType('AWS::ApiGateway::Stage') as [[string, Json]];
    const settings = stage['Properties']['MethodSettings'] as Json[];
    expect(settings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
        LoggingLevel: 'OFF',
        DataTraceEnabled: false,
      }),
    ]);
    const destination = stage['Properties']['AccessLogSetting']['DestinationArn'];
    expect(destination).toEqual({ 'Fn::GetAtt': [s.id(stack.api.accessLogs), 'Arn'] });
    expect(() => JSON.parse(stage['Properties']['AccessLogSetting']['Format'])).not.toThrow();
    expect(s.resource(stack.api.accessLogs)['Properties']['RetentionInDays']).toBeGreaterThan(0);
  });

  test('regional endpoint', () => {
    expect(s.resource(stack.api.restApi)['Properties']['EndpointConfiguration']).toEqual({ Types: ['REGIONAL'] });
  });
});

// ---------- WAF ----------

describe('waf', () => {
  const acl = () => s.resource(stack.webAcl!.webAcl)['Properties'];
  const rule = (name: string) => (acl()['Rules'] as Json[]).find((r) => r['Name'] === name)!;

  test('a regional web ACL is associated with the API stage', () => {
    expect(acl()['Scope']).toBe('REGIONAL');
    expect(acl()['DefaultAction']).toEqual({ Allow: {} });
    const [[, association]] = s.ofType('AWS::WAFv2::WebACLAssociation') as [[string, Json]];
    expect(association['Properties']['WebACLArn']).toEqual({ 'Fn::GetAtt': [s.id(stack.webAcl!.webAcl), 'Arn'] });
    const arn = JSON.stringify(association['Properties']['ResourceArn']);
    expect(arn).toContain(`"${s.id(stack.api.restApi)}"`);
    expect(arn).toContain(`"${s.id(stack.api.restApi.deploymentStage)}"`);
  });

  test(`request body limit: bodies over ${MAX_BODY_BYTES} bytes (or beyond what WAF inspected) get 413 with the protocol's error body`, () => {
    const r = rule('BodyTooLarge');
    expect(r['Statement']['SizeConstraintStatement']).toMatchObject({
      FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
      ComparisonOperator: 'GT',
      Size: MAX_BODY_BYTES,
    });
    expect(r['Action']).toEqual({ Block: { CustomResponse: { ResponseCode: 413, CustomResponseBodyKey: 'body-too-large' } } });
    expect(JSON.parse(acl()['CustomResponseBodies']['body-too-large']['Content'])).toEqual({
      error: 'body_too_large',
      message: `body must be at most ${MAX_BODY_BYTES} bytes`,
    });
    expect(acl()['AssociationConfig']).toEqual({ RequestBody: { API_GATEWAY: { DefaultSizeInspectionLimit: 'KB_16' } } });
  });

  test('per-IP rate rule on /v1/challenge and /v1/attest answers 429', () => {
    const r = rule('AttestationRatePerIp');
    const rate = r['Statement']['RateBasedStatement'];
    expect(rate).toMatchObject({ AggregateKeyType: 'IP', Limit: 600, EvaluationWindowSec: 300 });
    const paths = (rate['ScopeDownStatement']['OrStatement']['Statements'] as Json[]).map((st) => st['ByteMatchStatement']);
    expect(paths.map((p) => p['SearchString'])).toEqual([...RATE_LIMITED_PATHS]);
    for (const p of paths) expect(p).toMatchObject({ FieldToMatch: { UriPath: {} }, PositionalConstraint: 'CONTAINS' });
    expect(r['Action']).toEqual({ Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'rate-limited' } } });
  });

  test('AWS managed common rules, with only their 8 KB body rule counting (the protocol allows 16 KB)', () => {
    const r = rule('AWSManagedRulesCommonRuleSet');
    expect(r['OverrideAction']).toEqual({ None: {} });
    expect(r['Statement']['ManagedRuleGroupStatement']).toEqual({
      VendorName: 'AWS',
      Name: 'AWSManagedRulesCommonRuleSet',
      RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
    });
  });

  test('rules run in order: size, rate, managed; every rule has metrics', () => {
    expect((acl()['Rules'] as Json[]).map((r) => [r['Name'], r['Priority']])).toEqual([
      ['BodyTooLarge', 0],
      ['AttestationRatePerIp', 1],
      ['AWSManagedRulesCommonRuleSet', 2],
    ]);
    for (const r of acl()['Rules'] as Json[]) expect(r['VisibilityConfig']).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
  });

  test('rateLimitPer5Minutes sets the limit; webAcl: false leaves WAF out; the two together are rejected', () => {
    const rate = (v.resource(variant.webAcl!.webAcl)['Properties']['Rules'] as Json[])[1]!['Statement']['RateBasedStatement'];
    expect(rate['Limit']).toBe(2000);
    const without = new AttestorStack(fastApp(), 'NoWaf', { webAcl: false });
    Template.fromStack(without).resourceCountIs('AWS::WAFv2::WebACL', 0);
    expect(() => new AttestorStack(fastApp(), 'Conflict', { webAcl: false, rateLimitPer5Minutes: 100 })).toThrow(/rateLimitPer5Minutes.*webAcl/);
  });
});

// ---------- IAM ----------

describe('iam', () => {
  const onlyBuildObjects = (st: Statement) => asList(st.Resource).every((r) => refers(r, bucket()) && JSON.stringify(r).endsWith(`"/${BUILD_KEY_PREFIX}*"]]}`));
  const leadingKeys = (st: Statement) => st.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];

  test('one role per function, assumable by Lambda only, with no managed policies', () => {
    const roles = LAMBDA_NAMES.map((name) => s.resources[fnLogicalId(name)]!['Properties']['Role']['Fn::GetAtt'][0] as string);
    expect(new Set(roles).size).toBe(LAMBDA_NAMES.length);
    for (const [i, name] of LAMBDA_NAMES.entries()) {
      expect(roles[i]).toBe(roleLogicalId(name));
      const role = s.resources[roles[i]!]!['Properties'];
      expect(role['AssumeRolePolicyDocument']['Statement']).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      expect(role['ManagedPolicyArns']).toBeUndefined();
    }
  });

  test('every function writes only to its own log group', () => {
    for (const name of LAMBDA_NAMES) {
      for (const st of s.allowing(roleLogicalId(name), 'logs:PutLogEvents')) {
        expect(st.Resource).toEqual({ 'Fn::GetAtt': [s.id(fnOf(stack, name).logGroup), 'Arn'] });
      }
      expect(s.allowing(roleLogicalId(name), 'logs:CreateLogGroup')).toHaveLength(0);
    }
  });

  test('no identity policy in the stack allows a wildcard action such as * or kms:*', () => {
    for (const [, policy] of s.ofType('AWS::IAM::Policy')) {
      for (const st of policy['Properties']['PolicyDocument']['Statement'] as Statement[]) {
        if (st.Effect === 'Allow') for (const a of asList(st.Action)) expect(a).not.toMatch(/\*/);
      }
    }
  });

  test("Resource '*' is allowed only for the key creators' kms:CreateKey and adminCatalog's cloudwatch:GetMetricData (neither has a resource to name)", () => {
    for (const name of LAMBDA_NAMES) {
      for (const st of s.statementsOf(roleLogicalId(name)).filter((x) => x.Effect === 'Allow' && asList(x.Resource).includes('*'))) {
        if (name === 'adminCatalog') {
          expect(st.Action).toBe('cloudwatch:GetMetricData');
          continue;
        }
        expect(KEY_CREATING_LAMBDAS).toContain(name);
        expect(st.Action).toBe('kms:CreateKey');
      }
    }
  });

  test('only adminCatalog may read metrics (GetMetricData, for the stats), and no function may read any other way', () => {
    for (const name of LAMBDA_NAMES) {
      const cloudWatch = s.allowedActions(roleLogicalId(name)).filter((a) => a.startsWith('cloudwatch:'));
      expect(cloudWatch).toEqual(name === 'adminCatalog' ? ['cloudwatch:GetMetricData'] : []);
    }
    expect(s.allowing(roleLogicalId('adminCatalog'), 'cloudwatch:GetMetricData')).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 'cloudwatch:GetMetricData', Resource: '*', Sid: 'ReadAuthorizerVerdicts' }),
    ]);
  });

  test('exactly these actions per function (anything new must be added here, on purpose)', () => {
    const actions = (name: LambdaName) => [...new Set(s.allowedActions(roleLogicalId(name)).filter((a) => !a.startsWith('logs:')))].sort();
    expect(actions('challenge')).toEqual(['dynamodb:PutItem']);
    const attestDynamoDb = ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
    expect(actions('attest')).toEqual([...attestDynamoDb, 'kms:Decrypt', 'kms:Sign', 's3:GetObject']);
    expect(actions('register')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      's3:GetObject',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    expect(actions('authorizer')).toEqual(['dynamodb:Query', 'kms:Decrypt', 'kms:GetPublicKey']);
    const createKeys = [
      'kms:CreateAlias',
      'kms:CreateKey',
      'kms:DescribeKey',
      'kms:EnableKeyRotation',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:GetPublicKey',
      'kms:TagResource',
    ];
    expect(actions('adminCatalog')).toEqual([
      'cloudwatch:GetMetricData',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(actions('adminKeys')).toEqual(
      // kms:Decrypt: test secrets only (see the Decrypt tests below).
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        ...createKeys,
        'kms:Decrypt',
        'kms:ScheduleKeyDeletion',
      ].sort(),
    );
    // Listing register failures (sqs) and retrying one through the register function (lambda).
    const registerFailures = ['lambda:InvokeFunction', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage'];
    expect(actions('adminUploads')).toEqual(
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', ...createKeys, 's3:PutObject', ...registerFailures].sort(),
    );
    expect(actions('demoHello')).toEqual([]);
    expect(actions('revocationList')).toEqual(['s3:PutObject']);
  });

  test('challenge: PutItem on the nonces table only', () => {
    const statements = s.statementsOf(roleLogicalId('challenge')).filter((st) => !asList(st.Action).every((a) => a.startsWith('logs:')));
    expect(statements).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: { 'Fn::GetAtt': [nonces(), 'Arn'] } })]);
  });

  test('attest: deletes nonces only, queries APP# and KEYS# partitions, writes only the log (entries, counters) and device records', () => {
    const role = roleLogicalId('attest');
    for (const st of s.allowing(role, 'dynamodb:DeleteItem')) expect(st.Resource).toEqual({ 'Fn::GetAtt': [nonces(), 'Arn'] });
    const queries = s.allowing(role, 'dynamodb:Query');
    expect(queries.map(leadingKeys).sort()).toEqual([['APP#*'], ['KEYS#*']]);
    for (const st of queries) {
      expect(st.Resource).toEqual({ 'Fn::GetAtt': [registry(), 'Arn'] });
      expect(st.Condition?.['Null']?.['dynamodb:LeadingKeys']).toBe('false');
    }
    const puts = s.allowing(role, 'dynamodb:PutItem');
    expect(puts.map((st) => st.Resource)).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [attestationLog(), 'Arn'] }, { 'Fn::GetAtt': [hardwareDevices(), 'Arn'] }]),
    );
    for (const st of puts) expect([attestationLog(), hardwareDevices()].some((id) => refers(st.Resource, id))).toBe(true);
    // Device records: read, created, counter moved; nothing else of that table, and no other table.
    const reads = s.allowing(role, 'dynamodb:GetItem');
    expect(reads.length).toBeGreaterThan(0);
    for (const st of reads) expect(st.Resource).toEqual({ 'Fn::GetAtt': [hardwareDevices(), 'Arn'] });
    // Updates: device records, and the log table's counter items only (COUNTS# partitions).
    const updates = s.allowing(role, 'dynamodb:UpdateItem');
    expect(updates.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [attestationLog(), 'Arn'] }, { 'Fn::GetAtt': [hardwareDevices(), 'Arn'] }]);
    expect(leadingKeys(updates[0]!)).toEqual(['COUNTS#*']);
    for (const [name, st] of LAMBDA_NAMES.flatMap((n) => s.statementsOf(roleLogicalId(n)).map((x) => [n, x] as const))) {
      if (st.Effect === 'Allow' && refers(st.Resource, hardwareDevices())) expect(name).toBe('attest');
    }
  });

  test("hardware: attest reads, and the revocation function writes, the status list's one object, and nothing else of the bucket", () => {
    const reads = s.allowing(roleLogicalId('attest'), 's3:GetObject');
    expect(reads.map((st) => st.Resource)).toEqual([revocationListObject()]);
    const writes = s.allowing(roleLogicalId('revocationList'), 's3:PutObject');
    expect(writes.map((st) => st.Resource)).toEqual([revocationListObject()]);
    expect(s.allowedActions(roleLogicalId('revocationList')).filter((a) => !a.startsWith('logs:'))).toEqual(['s3:PutObject']);
    // Beside builds/, never under it: its writes must not start a registration.
    expect(REVOCATION_LIST_OBJECT_KEY.startsWith(BUILD_KEY_PREFIX)).toBe(false);
  });

  test("authorizer: Query on its own tenant's KEYS# partition of the registry, nothing written", () => {
    const role = roleLogicalId('authorizer');
    const queries = s.allowing(role, 'dynamodb:Query');
    expect(queries.length).toBeGreaterThan(0);
    for (const st of queries) {
      expect(st.Condition?.['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys']).toEqual(['KEYS#default']);
      expect(st.Condition?.['Null']?.['dynamodb:LeadingKeys']).toBe('false');
    }
    expect(s.statementsOf(role).some((st) => refers(st.Resource, nonces()) || refers(st.Resource, attestationLog()))).toBe(false);
  });

  test('register writes only APP# and UPLOAD# partitions of the registry and build-refusal partitions of the log', () => {
    const role = roleLogicalId('register');
    for (const st of s.allowing(role, 'dynamodb:UpdateItem')) {
      expect(st.Resource).toEqual({ 'Fn::GetAtt': [registry(), 'Arn'] });
      expect(leadingKeys(st)).toEqual(['APP#*', 'UPLOAD#*']);
    }
    const puts = s.allowing(role, 'dynamodb:PutItem');
    expect(puts).toHaveLength(2);
    for (const st of puts) {
      if (refers(st.Resource, registry())) expect(leadingKeys(st)).toEqual(['APP#*', 'UPLOAD#*']);
      else {
        expect(st.Resource).toEqual({ 'Fn::GetAtt': [attestationLog(), 'Arn'] });
        expect(leadingKeys(st)).toEqual([BUILD_LOG_PARTITION_PATTERN]);
      }
    }
    expect(s.statementsOf(role).some((st) => refers(st.Resource, nonces()))).toBe(false);
  });

  test('admin functions: adminCatalog reads the attestation log, never writes it; adminKeys only adds test-token mints; adminUploads does not touch it', () => {
    const onLog = (name: LambdaName) => s.statementsOf(roleLogicalId(name)).filter((st) => st.Effect === 'Allow' && refers(st.Resource, attestationLog()));
    expect(onLog('adminCatalog').flatMap((st) => asList(st.Action))).toEqual(['dynamodb:Query']);
    const keysOnLog = onLog('adminKeys');
    expect(keysOnLog.flatMap((st) => asList(st.Action))).toEqual(['dynamodb:PutItem']);
    expect(leadingKeys(keysOnLog[0]!)).toEqual(['TENANT#*#~test-tokens']);
    expect(onLog('adminUploads')).toEqual([]);
  });

  test('admin functions: adminCatalog deletes registry items (apps, registrations, devices); adminKeys failed tenants and revoked principals', () => {
    expect(s.allowing(roleLogicalId('adminCatalog'), 'dynamodb:DeleteItem')).toHaveLength(1);
    const keysDeletes = s.allowing(roleLogicalId('adminKeys'), 'dynamodb:DeleteItem');
    // Never KEYS# (key records are retired, not deleted) nor APP#.
    expect(keysDeletes.map((st) => asList(leadingKeys(st) as string[]))).toEqual([['TENANTS', 'PRINCIPAL#*', 'TENANT#*']]);
    expect(s.allowing(roleLogicalId('adminUploads'), 'dynamodb:DeleteItem')).toHaveLength(0);
  });

  test.each([
    ['adminCatalog', ['APP#*', 'PRINCIPAL#*', 'TENANT#*'], ['APP#*', 'TENANT#*']],
    ['adminKeys', ['APP#*', 'KEYS#*', 'PRINCIPAL#*', 'TENANT#*', 'TENANTS'], ['APP#*', 'KEYS#*', 'PRINCIPAL#*', 'TENANT#*', 'TENANTS']],
    ['adminUploads', ['APP#*', 'KEYS#*', 'PRINCIPAL#*', 'UPLOAD#*'], ['APP#*', 'KEYS#*', 'TENANT#*', 'UPLOAD#*']],
  ] as const)('%s reads only partitions %j and writes only %j of the registry', (name, reads, writes) => {
    // Prepare
    const role = roleLogicalId(name);
    const onRegistry = (action: string) => s.allowing(role, action).filter((st) => refers(st.Resource, registry()));
    const patterns = (statements: Statement[]) => [...new Set(statements.flatMap((st) => asList(leadingKeys(st) as string[])))].sort();
    // Assess: every registry statement is scoped, the Null check refuses a call that names no partition (Scan).
    for (const action of ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
      for (const st of onRegistry(action)) expect(st.Condition?.['Null']).toEqual({ 'dynamodb:LeadingKeys': 'false' });
    }
    expect(patterns([...onRegistry('dynamodb:GetItem'), ...onRegistry('dynamodb:Query')])).toEqual([...reads].sort());
    const writing = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'].flatMap(onRegistry);
    expect(patterns(writing)).toEqual([...writes].sort());
  });

  test('only adminKeys may write PRINCIPAL# items (who administers what) or key records beside adminUploads\' first key', () => {
    for (const name of LAMBDA_NAMES) {
      const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'].flatMap((a) => s.allowing(roleLogicalId(name), a));
      const onRegistry = writes.filter((st) => refers(st.Resource, registry()));
      const patterns = onRegistry.flatMap((st) => asList((leadingKeys(st) ?? ['*']) as string[]));
      if (name !== 'adminKeys') expect(patterns.some((p) => 'PRINCIPAL#arn:aws:iam::123456789012:role/x'.startsWith(p.replace(/\*$/, '')))).toBe(false);
      if (name !== 'adminKeys' && name !== 'adminUploads') expect(patterns).not.toContain('KEYS#*');
    }
  });

  test('nobody may Scan, or change or delete tables; only adminCatalog deletes registry items (and adminKeys tenants and principals)', () => {
    for (const name of LAMBDA_NAMES) {
      const role = roleLogicalId(name);
      for (const action of [
        'dynamodb:Scan',
        'dynamodb:DeleteTable',
        'dynamodb:UpdateTable',
        'dynamodb:UpdateTimeToLive',
        'dynamodb:BatchWriteItem',
        'dynamodb:PartiQLDelete',
      ]) {
        expect(s.allowing(role, action)).toHaveLength(0);
      }
      for (const st of s.allowing(role, 'dynamodb:DeleteItem')) {
        if (name === 'adminCatalog') continue;
        if (name === 'adminKeys' && refers(st.Resource, registry())) expect(leadingKeys(st)).toEqual(['TENANTS', 'PRINCIPAL#*', 'TENANT#*']);
        else expect(refers(st.Resource, registry())).toBe(false);
      }
    }
  });

  test.each(KEY_CREATING_LAMBDAS)('%s may kms:CreateKey only tagged with attestor:tenant, as a P-256 signing key or a symmetric secrets key', (name) => {
    const creates = s.allowing(roleLogicalId(name), 'kms:CreateKey');
    const tagged = { Null: { [`aws:RequestTag/${TENANT_TAG_KEY}`]: 'false' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': [...TENANT_KEY_TAG_KEYS] } };
    expect(creates.map((st) => st.Condition)).toEqual([
      { ...tagged, StringEquals: { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' } },
      { ...tagged, StringEquals: { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT' } },
    ]);
  });

  test.each(KEY_CREATING_LAMBDAS)('%s wraps new secrets only under a tenant secrets key and a {tenant, secret} context, and never unwraps one', (name) => {
    const role = roleLogicalId(name);
    const wraps = s.allowing(role, 'kms:GenerateDataKeyWithoutPlaintext');
    const onSecretsKeys = { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${TENANT_KEY_ALIAS_PREFIX}*/secrets` } };
    const testPurpose = { StringEquals: { 'kms:EncryptionContext:attestor:purpose': 'test-token' } };
    expect(wraps.map((st) => st.Condition)).toEqual([
      {
        ...onSecretsKeys,
        Null: { 'kms:EncryptionContext:attestor:tenant': 'false' },
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['attestor:tenant', 'attestor:secret'] },
      },
      // adminKeys alone also makes test secrets, and unwraps only those (PROTOCOL.md §5.7).
      ...(name === 'adminKeys' ? [{ ...onSecretsKeys, ...testPurpose }] : []),
    ]);
    expect(s.allowing(role, 'kms:Decrypt').map((st) => st.Condition)).toEqual(name === 'adminKeys' ? [{ ...onSecretsKeys, ...testPurpose }] : []);
    expect(s.allowing(role, 'kms:GenerateDataKey')).toHaveLength(0);
  });

  test.each(ADMIN_LAMBDAS)('%s can never unwrap a production secret, whatever a key policy says (explicit deny)', (name) => {
    const denies = (action: string) => s.statementsOf(roleLogicalId(name)).filter((st) => st.Effect === 'Deny' && asList(st.Action).includes(action));
    expect(denies('kms:GenerateDataKey')).toEqual([expect.objectContaining({ Resource: '*' })]);
    expect(denies('kms:GenerateDataKey')[0]!.Condition).toBeUndefined();
    const [decrypt, ...more] = denies('kms:Decrypt');
    expect(more).toEqual([]);
    expect(decrypt).toEqual(expect.objectContaining({ Resource: '*', Action: 'kms:Decrypt' }));
    // adminKeys: denied every context but one naming the test purpose, which no production secret's has
    // (a missing member counts as not equal); the other admin functions: denied outright.
    expect(decrypt!.Condition).toEqual(
      name === 'adminKeys' ? { StringNotEquals: { 'kms:EncryptionContext:attestor:purpose': 'test-token' } } : undefined,
    );
  });

  test('attest unwraps only tenant secrets, only with exactly a {tenant, secret} encryption context; the authorizer only its own tenant\'s', () => {
    const [attestDecrypt, ...more] = s.allowing(roleLogicalId('attest'), 'kms:Decrypt');
    expect(more).toEqual([]);
    expect(attestDecrypt!.Condition).toEqual({
      'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${TENANT_KEY_ALIAS_PREFIX}*/secrets` },
      Null: { 'kms:EncryptionContext:attestor:tenant': 'false' },
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['attestor:tenant', 'attestor:secret'] },
    });
    const [authorizerDecrypt] = s.allowing(roleLogicalId('authorizer'), 'kms:Decrypt');
    expect(authorizerDecrypt!.Condition?.['StringEquals']).toEqual({ 'kms:EncryptionContext:attestor:tenant': 'default' });
    // adminKeys' Decrypt (test secrets only) is the wrapping test's above.
    for (const name of LAMBDA_NAMES.filter((n) => n !== 'attest' && n !== 'authorizer' && n !== 'adminKeys')) {
      expect(s.allowing(roleLogicalId(name), 'kms:Decrypt')).toHaveLength(0);
    }
  });

  test('only the key-creating admin functions can kms:CreateKey, or touch KMS at all among the admin functions', () => {
    for (const name of LAMBDA_NAMES.filter((n) => !(KEY_CREATING_LAMBDAS as readonly string[]).includes(n)))
      expect(s.allowing(roleLogicalId(name), 'kms:CreateKey')).toHaveLength(0);
    expect(s.allowedActions(roleLogicalId('adminCatalog')).filter((a) => a.startsWith('kms:'))).toEqual([]);
  });

  test('only attest signs: with tenant-aliased keys or the decoy, ECDSA_SHA_256 only, never with "*"', () => {
    for (const name of LAMBDA_NAMES) {
      for (const st of s.allowing(roleLogicalId(name), 'kms:Sign')) {
        expect(name).toBe('attest');
        expect(asList(st.Resource)).not.toContain('*');
        expect(st.Condition?.['StringEquals']?.['kms:SigningAlgorithm']).toBe('ECDSA_SHA_256');
        if (!refers(st.Resource, decoy())) expect(st.Condition?.['ForAnyValue:StringLike']?.['kms:ResourceAliases']).toBe(`${TENANT_KEY_ALIAS_PREFIX}*`);
      }
    }
    expect(s.allowing(roleLogicalId('attest'), 'kms:Sign')).toHaveLength(2);
  });

  test('attest reads no public keys (it signs with the key the registry names)', () => {
    expect(s.allowing(roleLogicalId('attest'), 'kms:GetPublicKey')).toHaveLength(0);
  });

  test('authorizer reads tenant public keys only (alias condition) and never touches the decoy key', () => {
    const role = roleLogicalId('authorizer');
    expect(s.allowedActions(role).filter((a) => a.startsWith('kms:')).sort()).toEqual(['kms:Decrypt', 'kms:GetPublicKey']);
    for (const st of s.allowing(role, 'kms:GetPublicKey')) {
      expect(st.Condition?.['ForAnyValue:StringLike']?.['kms:ResourceAliases']).toBe(`${TENANT_KEY_ALIAS_PREFIX}*`);
    }
    expect(s.statementsOf(role).some((st) => refers(st.Resource, decoy()))).toBe(false);
  });

  test('only attest may use the decoy key; the key creators are explicitly denied its public key, aliasing, tagging and deleting it', () => {
    for (const name of LAMBDA_NAMES.filter((n) => n !== 'attest')) {
      expect(s.statementsOf(roleLogicalId(name)).some((st) => st.Effect === 'Allow' && refers(st.Resource, decoy()))).toBe(false);
    }
    for (const name of KEY_CREATING_LAMBDAS) {
      const denies = s.statementsOf(roleLogicalId(name)).filter((st) => st.Effect === 'Deny' && refers(st.Resource, decoy()));
      expect(denies.flatMap((st) => asList(st.Action))).toEqual(
        expect.arrayContaining(['kms:GetPublicKey', 'kms:DescribeKey', 'kms:CreateAlias', 'kms:TagResource', 'kms:ScheduleKeyDeletion']),
      );
    }
  });

  test.each(ADMIN_LAMBDAS)('%s can never sign, whatever key policy a creator writes (explicit deny outranks any allow)', (name) => {
    const denies = s.statementsOf(roleLogicalId(name)).filter((st) => st.Effect === 'Deny' && asList(st.Action).includes('kms:Sign'));
    expect(denies).toEqual([expect.objectContaining({ Resource: '*' })]);
  });

  test('adminKeys may schedule the deletion of tenant keys only, and only with the 30-day window (retired keys, at rotation)', () => {
    const deletions = s.allowing(roleLogicalId('adminKeys'), 'kms:ScheduleKeyDeletion');
    expect(deletions).toHaveLength(1);
    expect(deletions[0]!.Condition).toEqual({
      'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${TENANT_KEY_ALIAS_PREFIX}*` },
      StringEquals: { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' },
      NumericEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': 30 },
    });
    expect(refers(deletions[0]!.Resource, decoy())).toBe(false);
  });

  test.each(KEY_CREATING_LAMBDAS)(
    '%s: tenant aliases only, tenant tags only; no untag, alias deletion, key policy change or IAM-granted deletion beyond retired keys',
    (name) => {
      const role = roleLogicalId(name);
      for (const st of s.allowing(role, 'kms:CreateAlias')) {
        const aliasResource = JSON.stringify(st.Resource).includes(':alias/');
        if (aliasResource) expect(JSON.stringify(st.Resource)).toContain(`:alias/${TENANT_KEY_ALIAS_PREFIX.slice('alias/'.length)}*`);
        else expect([`${TENANT_KEY_ALIAS_PREFIX}*`, `${TENANT_KEY_ALIAS_PREFIX}*/secrets`]).toContain(st.Condition?.['StringLike']?.['kms:AliasName']);
      }
      for (const st of s.allowing(role, 'kms:TagResource')) {
        expect(st.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']).toEqual([...TENANT_KEY_TAG_KEYS]);
        expect(st.Condition?.['Null']?.[`aws:RequestTag/${TENANT_TAG_KEY}`]).toBe('false');
      }
      for (const st of s.allowing(role, 'kms:GetPublicKey'))
        expect(st.Condition?.['StringEquals']).toEqual({ 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' });
      for (const action of [
        'kms:UntagResource',
        'kms:DeleteAlias',
        'kms:UpdateAlias',
        'kms:PutKeyPolicy',
        'kms:DisableKey',
        'kms:CreateGrant',
        'kms:CancelKeyDeletion',
      ]) {
        expect(s.allowing(role, action)).toHaveLength(0);
      }
      // Only adminKeys' retired-key deletion (tested above); adminUploads has none.
      if (name === 'adminUploads') expect(s.allowing(role, 'kms:ScheduleKeyDeletion')).toHaveLength(0);
    },
  );

  test('S3: register reads builds/* only, adminUploads writes builds/* only, nobody deletes or lists (the status list: test above)', () => {
    const reads = s.allowing(roleLogicalId('register'), 's3:GetObject');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every(onlyBuildObjects)).toBe(true);
    const writes = s.allowing(roleLogicalId('adminUploads'), 's3:PutObject');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every(onlyBuildObjects)).toBe(true);
    for (const name of LAMBDA_NAMES) {
      const s3Actions = s.allowedActions(roleLogicalId(name)).filter((a) => a.startsWith('s3:'));
      const expected: Partial<Record<LambdaName, string[]>> = {
        register: ['s3:GetObject'],
        adminUploads: ['s3:PutObject'],
        attest: ['s3:GetObject'],
        revocationList: ['s3:PutObject'],
      };
      expect(s3Actions).toEqual(expected[name] ?? []);
    }
  });

  test('register may send to its failure queue, adminUploads read and delete from it and invoke register, and nothing else touches either', () => {
    const queue = { 'Fn::GetAtt': [s.id(stack.registerFailures), 'Arn'] };
    for (const name of LAMBDA_NAMES) {
      const sqsStatements = s.statementsOf(roleLogicalId(name)).filter((st) => asList(st.Action).some((a) => a.startsWith('sqs:')));
      const invokeStatements = s.statementsOf(roleLogicalId(name)).filter((st) => asList(st.Action).some((a) => a.startsWith('lambda:')));
      if (name !== 'register' && name !== 'adminUploads') expect(sqsStatements).toHaveLength(0);
      for (const st of sqsStatements) expect(st.Resource).toEqual(queue);
      if (name !== 'adminUploads') expect(invokeStatements).toHaveLength(0);
      else {
        expect(invokeStatements.flatMap((st) => asList(st.Action))).toEqual(['lambda:InvokeFunction']);
        expect(invokeStatements.map((st) => st.Resource)).toEqual([{ 'Fn::GetAtt': [s.id(stack.functions.register.fn), 'Arn'] }]);
      }
    }
    const adminSqs = s.statementsOf(roleLogicalId('adminUploads')).flatMap((st) => asList(st.Action)).filter((a) => a.startsWith('sqs:'));
    expect(adminSqs.sort()).toEqual(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']);
  });

  test('demoHello: nothing beyond its logs', () => {
    expect(s.allowedActions(roleLogicalId('demoHello')).every((a) => a.startsWith('logs:'))).toBe(true);
  });
});

// ---------- hardware evidence ----------

describe('hardware evidence', () => {
  test('an EventBridge rule runs the revocation function once a day, retrying a failed delivery twice', () => {
    const rules = s.ofType('AWS::Events::Rule');
    expect(rules).toHaveLength(1);
    const rule = rules[0]![1]['Properties'];
    expect(rule['ScheduleExpression']).toBe('rate(1 day)');
    expect(rule['State']).toBe('ENABLED');
    expect(rule['Targets']).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [fnLogicalId('revocationList'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 21600 },
      }),
    ]);
    // EventBridge, and only it, may invoke the function.
    const permissions = s.ofType('AWS::Lambda::Permission').filter(([, p]) => refers(p['Properties']['FunctionName'], fnLogicalId('revocationList')));
    expect(permissions.map(([, p]) => p['Properties']['Principal'])).toEqual(['events.amazonaws.com']);
  });

  test('test roots are refused at synth: as a prop, and in any function environment, whoever added it', () => {
    const props = { hardwareTestRoots: { appAttest: [], android: [] } } as unknown as ConstructorParameters<typeof AttestorStack>[2];
    expect(() => new AttestorStack(fastApp(), 'WithTestRoots', props)).toThrow(/hardwareTestRoots is for the local cloud only/);
    const app = fastApp();
    const sneaky = new AttestorStack(app, 'Sneaky');
    sneaky.functions.attest.fn.addEnvironment(TEST_ROOTS_VARIABLE, '/tmp/roots.json');
    expect(() => app.synth()).toThrow(new RegExp(`Sneaky/Attest/Function/Resource: ${TEST_ROOTS_VARIABLE} is for the local cloud only`));
    // ...and the stack as shipped synthesizes (the validation does not refuse everything).
    expect(() => fastApp().synth()).not.toThrow();
    const clean = fastApp();
    new AttestorStack(clean, 'Clean');
    expect(() => clean.synth()).not.toThrow();
  });

  test.each(LAMBDA_NAMES)('%s refuses the test-roots variable at cold start too', (name) => {
    const env = deployedEnv(s, fnOf(stack, name).fn);
    expect(() => FUNCTION_CONFIGS[name].fromEnv(env)).not.toThrow();
    expect(() => FUNCTION_CONFIGS[name].fromEnv({ ...env, [TEST_ROOTS_VARIABLE]: '/tmp/roots.json' })).toThrow(ConfigurationError);
  });
});

// ---------- outputs ----------

test('outputs: API and JWKS URLs, bucket, decoy key, tables, failure queue, admin roles, web ACL', () => {
  const outputs = s.template.toJSON()['Outputs'] as Json;
  for (const name of [
    'ApiUrl',
    'JwksUrl',
    'JwksExecuteApiArn',
    'BuildsBucketName',
    'DecoyKeyArn',
    'NoncesTableName',
    'RegistryTableName',
    'AttestationLogTableName',
    'HardwareDevicesTableName',
    'RevocationListFunctionName',
    'RegisterFailuresQueueUrl',
    'AdminCatalogFunctionRoleArn',
    'AdminKeysFunctionRoleArn',
    'AdminUploadsFunctionRoleArn',
    'WebAclArn',
  ]) {
    expect(outputs).toHaveProperty(name);
  }
  expect(outputs['DecoyKeyArn']['Value']).toEqual({ 'Fn::GetAtt': [decoy(), 'Arn'] });
  expect(outputs['BuildsBucketName']['Value']).toEqual({ Ref: bucket() });
  s.template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
  expect(JSON.stringify(outputs['JwksUrl']['Value'])).toContain('/v1/admin/keys/jwks');
});

// ---------- real bundling ----------

describe('bundling (real esbuild)', () => {
  let outdir: string;
  afterAll(() => {
    if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('every Lambda bundles to minified index.js with a source map (no sources), AWS SDK left external', () => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'attestor-bundle-'));
    const app = new App({ outdir });
    const bundled = new AttestorStack(app, 'Attestor', { demoRoute: true });
    app.synth();
    const fns = Template.fromStack(bundled).toJSON()['Resources'] as Record<string, Json>;
    for (const name of LAMBDA_NAMES) {
      const id = bundled.getLogicalId(fnOf(bundled, name).fn.node.defaultChild as CfnElement);
      const hash = String(fns[id]!['Properties']['Code']['S3Key']).replace(/\.zip$/, '');
      const js = path.join(outdir, `asset.${hash}`, 'index.js');
      expect(fs.existsSync(js)).toBe(true);
      const map = JSON.parse(fs.readFileSync(`${js}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
      expect(map.sources.length).toBeGreaterThan(0);
      expect(map.sourcesContent).toBeUndefined();
      const code = fs.readFileSync(js, 'utf8');
      // The SDK comes from the runtime: required by name, never inlined.
      expect(code).not.toContain('node_modules/@aws-sdk/');
      if (name !== 'demoHello' && name !== 'revocationList') expect(code).toMatch(/require\(["']@aws-sdk\/client-dynamodb["']\)/);
      if (name === 'revocationList') expect(code).toMatch(/require\(["']@aws-sdk\/client-s3["']\)/);
      // attest's hardware verifier is a file of its own in the same asset, required on first use.
      if (name === 'attest') {
        expect(code).toContain('require("./hardware-verifier.js")');
        expect(code).not.toContain('asn1js');
        expect(fs.existsSync(path.join(path.dirname(js), 'hardware-verifier.js'))).toBe(true);
      }
      // So do the Smithy and AWS crypto packages it is built on (the authorizer signs its JWKS fetch with them).
      if (name === 'authorizer') expect(code).toMatch(/require\(["']@smithy\/signature-v4["']\)/);
      // Minified: no line of the bundle is indented source.
      expect(code.split('\n').length).toBeLessThan(20);
    }
    // Size (<= 60 KB) and cold-start (<= 100 ms) targets are measured by `npm run bench`, not asserted here.
  }, 180_000);
});
