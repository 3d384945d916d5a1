/**
 * Security properties of the deployed stack, one assertion each. Most tests synthesize once with
 * bundling skipped (fast); the last describe bundles every Lambda for real.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AttestorStack, DECOY_KEY_ALIAS, TENANT_KEY_ALIAS_PREFIX, TENANT_KEY_TAG_KEYS, TENANT_TAG_KEY } from '../../lib/attestor-stack';
import { NONCES_TABLE, REGISTRY_TABLE } from '../../src/adapters/tables';
import { BUILD_KEY_PREFIX } from '../../src/core/registration';
import { LAMBDAS, ROUTES, TOKEN_HEADER_NAME, type LambdaName } from '../../src/routes';

const ROOT = path.resolve(__dirname, '../..');
const LAMBDA_NAMES = Object.keys(LAMBDAS) as LambdaName[];

type Json = Record<string, any>;
interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
  Sid?: string;
}

/** Bundling skipped and CloudFormation schema validation off (TOOLCHAIN.md); the last test does both for real. */
const fastApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });

let stack: AttestorStack;
let template: Template;
let resources: Record<string, Json>;

beforeAll(() => {
  const app = fastApp();
  stack = new AttestorStack(app, 'Attestor');
  template = Template.fromStack(stack);
  resources = template.toJSON()['Resources'];
});

// ---------- helpers ----------

const idOf = (construct: { node: { defaultChild?: unknown } } | CfnElement): string =>
  stack.getLogicalId(('node' in construct && construct.node.defaultChild ? construct.node.defaultChild : construct) as CfnElement);
const fnLogicalId = (name: LambdaName) => idOf(stack.functions[name].fn);
const roleLogicalId = (name: LambdaName) => idOf(stack.functions[name].role);
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r['Type'] === type);
/** True when the CloudFormation value references the logical id (Ref or GetAtt, however nested). */
const refers = (value: unknown, logicalId: string) => JSON.stringify(value ?? null).includes(`"${logicalId}"`);
const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Does an IAM action pattern (wildcards allowed) cover the action? */
function covers(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

/** Every statement of every identity policy attached to the role (inline or AWS::IAM::Policy). */
function statementsOf(roleId: string): Statement[] {
  const attached = ofType('AWS::IAM::Policy')
    .filter(([, p]) => asList(p['Properties']['Roles'] ?? []).some((r: unknown) => refers(r, roleId)))
    .flatMap(([, p]) => p['Properties']['PolicyDocument']['Statement'] as Statement[]);
  const inline = ((resources[roleId]?.['Properties']?.['Policies'] ?? []) as Json[]).flatMap((p) => p['PolicyDocument']['Statement'] as Statement[]);
  return [...attached, ...inline];
}
const allowing = (roleId: string, action: string) =>
  statementsOf(roleId).filter((s) => s.Effect === 'Allow' && asList(s.Action).some((a) => covers(a, action)));
const allowedActions = (roleId: string) => statementsOf(roleId).filter((s) => s.Effect === 'Allow').flatMap((s) => asList(s.Action));

/** Full path of an API Gateway resource, from its PathPart chain up to the root. */
function resourcePath(resourceId: string): string {
  const r = resources[resourceId];
  if (!r || r['Type'] !== 'AWS::ApiGateway::Resource') return '';
  const parent = r['Properties']['ParentId'];
  const parentPath = parent && parent['Ref'] ? resourcePath(parent['Ref']) : '';
  return `${parentPath}/${r['Properties']['PathPart']}`;
}
function methods(): { id: string; method: string; path: string; props: Json }[] {
  return ofType('AWS::ApiGateway::Method').map(([id, m]) => {
    const resourceRef = m['Properties']['ResourceId'];
    return { id, method: m['Properties']['HttpMethod'], path: resourceRef['Ref'] ? resourcePath(resourceRef['Ref']) : '/', props: m['Properties'] };
  });
}

/** Environment variable names src/adapters/environment.ts reads, and those it requires. */
function runtimeEnvNames(): { read: Set<string>; required: Set<string> } {
  const source = fs.readFileSync(path.join(ROOT, 'src/adapters/environment.ts'), 'utf8');
  const required = new Set([...source.matchAll(/required\('([A-Z0-9_]+)'\)/g)].map((m) => m[1]!));
  const read = new Set([...source.matchAll(/env\['([A-Z0-9_]+)'\]/g)].map((m) => m[1]!));
  for (const name of required) read.add(name);
  return { read, required };
}

// ---------- DynamoDB ----------

describe('tables', () => {
  test('nonces: key schema from NONCES_TABLE, TTL on its ttl attribute, on-demand', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: NONCES_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: NONCES_TABLE.ttlAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(NONCES_TABLE.ttlAttribute).toBeTruthy();
  });

  test('registry: key schema from REGISTRY_TABLE, point-in-time recovery, on-demand', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: REGISTRY_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: REGISTRY_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
  });

  test('registry: deletion protection', () => {
    expect(resources[idOf(stack.tables.registry)]!['Properties']['DeletionProtectionEnabled']).toBe(true);
  });

  test('registry: retained on stack deletion and replacement', () => {
    const registry = resources[idOf(stack.tables.registry)]!;
    expect(registry['DeletionPolicy']).toBe('Retain');
    expect(registry['UpdateReplacePolicy']).toBe('Retain');
  });
});

// ---------- S3 ----------

describe('builds bucket', () => {
  const bucket = () => resources[idOf(stack.buildsBucket)]!;

  test('blocks all public access', () => {
    expect(bucket()['Properties']['PublicAccessBlockConfiguration']).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  test('S3-managed encryption', () => {
    expect(bucket()['Properties']['BucketEncryption']).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
  });

  test('bucket policy denies every request without TLS, on the bucket and its objects', () => {
    const bucketId = idOf(stack.buildsBucket);
    const [, policy] = ofType('AWS::S3::BucketPolicy').find(([, p]) => refers(p['Properties']['Bucket'], bucketId))!;
    const deny = (policy['Properties']['PolicyDocument']['Statement'] as Statement[]).find(
      (s) => s.Effect === 'Deny' && s.Condition?.['Bool']?.['aws:SecureTransport'] === 'false',
    );
    expect(deny).toBeDefined();
    expect(asList(deny!.Action)).toContain('s3:*');
    expect(asList(deny!.Resource as unknown[])).toHaveLength(2);
  });

  test('versioning enabled', () => {
    expect(bucket()['Properties']['VersioningConfiguration']).toEqual({ Status: 'Enabled' });
  });

  test('lifecycle: noncurrent versions expire, incomplete multipart uploads aborted within 1-7 days', () => {
    const rules = bucket()['Properties']['LifecycleConfiguration']['Rules'] as Json[];
    expect(rules.some((r) => r['Status'] === 'Enabled' && r['NoncurrentVersionExpiration']?.['NoncurrentDays'] > 0)).toBe(true);
    const abort = rules.find((r) => r['AbortIncompleteMultipartUpload'])!['AbortIncompleteMultipartUpload']['DaysAfterInitiation'];
    expect(abort).toBeGreaterThanOrEqual(1);
    expect(abort).toBeLessThanOrEqual(7);
  });

  test('retained on stack deletion', () => {
    expect(bucket()['DeletionPolicy']).toBe('Retain');
  });

  test('ObjectCreated under the builds/ prefix, and only that, invokes the register function', () => {
    const [[, notifications]] = ofType('Custom::S3BucketNotifications') as [[string, Json]];
    expect(refers(notifications['Properties']['BucketName'], idOf(stack.buildsBucket))).toBe(true);
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
  test('ECC_NIST_P256 signing key', () => {
    expect(resources[idOf(stack.decoyKey)]!['Properties']).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  });

  test(`alias ${DECOY_KEY_ALIAS} points at it`, () => {
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: DECOY_KEY_ALIAS,
      TargetKeyId: { 'Fn::GetAtt': [idOf(stack.decoyKey), 'Arn'] },
    });
  });

  test('key policy delegates to IAM (the account root), so the per-role policies below are what decide', () => {
    const statements = resources[idOf(stack.decoyKey)]!['Properties']['KeyPolicy']['Statement'] as Json[];
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0]!['Principal'])).toContain(':root');
  });

  test('alias names restated in lib/ agree with the runtime defaults in src/adapters/environment.ts', () => {
    const source = fs.readFileSync(path.join(ROOT, 'src/adapters/environment.ts'), 'utf8');
    expect(source).toContain(`decoyKeyId: '${DECOY_KEY_ALIAS}'`);
    expect(source).toContain(`tenantKeyAliasPrefix: '${TENANT_KEY_ALIAS_PREFIX}'`);
  });
});

// ---------- Lambda ----------

describe('functions', () => {
  test('one function per LAMBDAS entry (plus the CDK bucket-notification handler), nothing else', () => {
    const ours = LAMBDA_NAMES.map(fnLogicalId);
    const others = ofType('AWS::Lambda::Function').map(([id]) => id).filter((id) => !ours.includes(id));
    expect(ours.every((id) => resources[id]?.['Type'] === 'AWS::Lambda::Function')).toBe(true);
    expect(others).toHaveLength(1);
    expect(others[0]).toMatch(/^BucketNotificationsHandler/);
  });

  test.each(LAMBDA_NAMES)('%s: nodejs22.x on arm64 with the memory, timeout and description of its spec', (name) => {
    expect(resources[fnLogicalId(name)]!['Properties']).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: LAMBDAS[name].memoryMb,
      Timeout: LAMBDAS[name].timeoutSeconds,
      Description: LAMBDAS[name].description,
      Handler: 'index.handler',
    });
  });

  test.each(LAMBDA_NAMES)('%s: environment carries what configFromEnv requires and nothing it does not read', (name) => {
    const env = resources[fnLogicalId(name)]!['Properties']['Environment']['Variables'] as Json;
    const { read, required } = runtimeEnvNames();
    const usesConfig = fs.readFileSync(path.join(ROOT, LAMBDAS[name].entry), 'utf8').includes('configFromEnv(');
    expect(env['NODE_OPTIONS']).toBe('--enable-source-maps');
    for (const key of Object.keys(env)) if (key !== 'NODE_OPTIONS') expect(read).toContain(key);
    if (usesConfig) {
      for (const key of required) expect(env).toHaveProperty(key);
      expect(env['NONCES_TABLE']).toEqual({ Ref: idOf(stack.tables.nonces) });
      expect(env['REGISTRY_TABLE']).toEqual({ Ref: idOf(stack.tables.registry) });
      expect(env['BUILDS_BUCKET']).toEqual({ Ref: idOf(stack.buildsBucket) });
      expect(env['DECOY_KEY_ID']).toEqual({ 'Fn::GetAtt': [idOf(stack.decoyKey), 'Arn'] });
      expect(env['TENANT_KEY_ALIAS_PREFIX']).toBe(TENANT_KEY_ALIAS_PREFIX);
      expect(typeof env['ATTESTOR_ISSUER']).toBe('string');
    } else {
      expect(Object.keys(env)).toEqual(['NODE_OPTIONS']);
    }
  });

  test.each(LAMBDA_NAMES)('%s: logs to its own log group with a retention', (name) => {
    const logGroupId = idOf(stack.functions[name].logGroup);
    expect(resources[fnLogicalId(name)]!['Properties']['LoggingConfig']).toEqual({ LogGroup: { Ref: logGroupId } });
    expect(resources[logGroupId]!['Properties']['RetentionInDays']).toBeGreaterThan(0);
  });

  test('register has reserved concurrency (runaway cost); request-path functions do not', () => {
    expect(resources[fnLogicalId('register')]!['Properties']['ReservedConcurrentExecutions']).toBeGreaterThan(0);
    for (const name of LAMBDA_NAMES.filter((n) => n !== 'register')) {
      expect(resources[fnLogicalId(name)]!['Properties']['ReservedConcurrentExecutions']).toBeUndefined();
    }
  });

  test('registerReservedConcurrency: null reserves nothing', () => {
    const app = fastApp();
    const other = new AttestorStack(app, 'NoReserve', { registerReservedConcurrency: null });
    const fn = Template.fromStack(other).toJSON()['Resources'][other.getLogicalId(other.functions.register.fn.node.defaultChild as CfnElement)];
    expect(fn['Properties']['ReservedConcurrentExecutions']).toBeUndefined();
  });
});

// ---------- API Gateway ----------

describe('api', () => {
  const expectedAuth = { none: 'NONE', attestation: 'CUSTOM', iam: 'AWS_IAM' } as const;

  test.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: present, with its auth, integrated with its Lambda', (_, route) => {
    const found = methods().filter((m) => m.method === route.method && m.path === route.path);
    expect(found).toHaveLength(1);
    const props = found[0]!.props;
    expect(props['AuthorizationType']).toBe(expectedAuth[route.auth]);
    if (route.auth === 'attestation') {
      const authorizerId = props['AuthorizerId']['Ref'] as string;
      expect(resources[authorizerId]!['Properties']).toMatchObject({
        Type: 'REQUEST',
        IdentitySource: `method.request.header.${TOKEN_HEADER_NAME}`,
        AuthorizerResultTtlInSeconds: 0,
      });
      expect(refers(resources[authorizerId]!['Properties']['AuthorizerUri'], fnLogicalId('authorizer'))).toBe(true);
    } else {
      expect(props['AuthorizerId']).toBeUndefined();
    }
    expect(props['Integration']['Type']).toBe('AWS_PROXY');
    expect(refers(props['Integration']['Uri'], fnLogicalId(route.lambda))).toBe(true);
  });

  test('no method beyond ROUTES (a route added by hand elsewhere would skip this table)', () => {
    const declared = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    expect(methods().map((m) => `${m.method} ${m.path}`).sort()).toEqual([...declared].sort());
  });

  test('stage: throttled, access-logged to a log group with a retention', () => {
    const [[, stage]] = ofType('AWS::ApiGateway::Stage') as [[string, Json]];
    const settings = stage['Properties']['MethodSettings'] as Json[];
    expect(settings).toEqual(
      expect.arrayContaining([expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: expect.any(Number), ThrottlingBurstLimit: expect.any(Number) })]),
    );
    const destination = stage['Properties']['AccessLogSetting']['DestinationArn'];
    const logGroupId = idOf(stack.api.accessLogs);
    expect(destination).toEqual({ 'Fn::GetAtt': [logGroupId, 'Arn'] });
    expect(resources[logGroupId]!['Properties']['RetentionInDays']).toBeGreaterThan(0);
  });
});

// ---------- IAM ----------

describe('iam', () => {
  const nonces = () => idOf(stack.tables.nonces);
  const registry = () => idOf(stack.tables.registry);
  const decoy = () => idOf(stack.decoyKey);
  const bucket = () => idOf(stack.buildsBucket);
  const onlyBuildObjects = (s: Statement) => asList(s.Resource).every((r) => refers(r, bucket()) && JSON.stringify(r).endsWith(`"/${BUILD_KEY_PREFIX}*"]]}`));

  test('one role per function, assumable by Lambda only, with no managed policies', () => {
    const roles = LAMBDA_NAMES.map((name) => resources[fnLogicalId(name)]!['Properties']['Role']['Fn::GetAtt'][0] as string);
    expect(new Set(roles).size).toBe(LAMBDA_NAMES.length);
    for (const [i, name] of LAMBDA_NAMES.entries()) {
      expect(roles[i]).toBe(roleLogicalId(name));
      const role = resources[roles[i]!]!['Properties'];
      expect(role['AssumeRolePolicyDocument']['Statement']).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
      ]);
      expect(role['ManagedPolicyArns']).toBeUndefined();
    }
  });

  test('every function writes only to its own log group', () => {
    for (const name of LAMBDA_NAMES) {
      for (const s of allowing(roleLogicalId(name), 'logs:PutLogEvents')) {
        expect(s.Resource).toEqual({ 'Fn::GetAtt': [idOf(stack.functions[name].logGroup), 'Arn'] });
      }
      expect(allowing(roleLogicalId(name), 'logs:CreateLogGroup')).toHaveLength(0);
    }
  });

  test('no identity policy in the stack allows a wildcard action such as * or kms:*', () => {
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const s of policy['Properties']['PolicyDocument']['Statement'] as Statement[]) {
        if (s.Effect === 'Allow') for (const a of asList(s.Action)) expect(a).not.toMatch(/\*/);
      }
    }
  });

  test("Resource '*' appears only on the admin's kms:CreateKey (which has no resource to name)", () => {
    for (const name of LAMBDA_NAMES) {
      for (const s of statementsOf(roleLogicalId(name)).filter((st) => st.Effect === 'Allow' && asList(st.Resource).includes('*'))) {
        expect(name).toBe('admin');
        expect(s.Action).toBe('kms:CreateKey');
      }
    }
  });

  test('challenge: PutItem on the nonces table and nothing else (no registry, no KMS, no S3)', () => {
    const statements = statementsOf(roleLogicalId('challenge')).filter((s) => !asList(s.Action).every((a) => a.startsWith('logs:')));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: { 'Fn::GetAtt': [nonces(), 'Arn'] } });
    expect(statementsOf(roleLogicalId('challenge')).some((s) => refers(s.Resource, registry()))).toBe(false);
  });

  test('attest cannot PutItem or UpdateItem anything; it deletes nonces only', () => {
    const role = roleLogicalId('attest');
    expect(allowing(role, 'dynamodb:PutItem')).toHaveLength(0);
    expect(allowing(role, 'dynamodb:UpdateItem')).toHaveLength(0);
    expect(allowing(role, 'dynamodb:BatchWriteItem')).toHaveLength(0);
    const deletes = allowing(role, 'dynamodb:DeleteItem');
    expect(deletes.length).toBeGreaterThan(0);
    for (const s of deletes) expect(s.Resource).toEqual({ 'Fn::GetAtt': [nonces(), 'Arn'] });
  });

  test('attest and authorizer Query only TENANT# partitions of the registry (dynamodb:LeadingKeys)', () => {
    for (const name of ['attest', 'authorizer'] as const) {
      const queries = allowing(roleLogicalId(name), 'dynamodb:Query');
      expect(queries.length).toBeGreaterThan(0);
      for (const s of queries) {
        expect(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toEqual(['TENANT#*']);
        expect(s.Condition?.['Null']?.['dynamodb:LeadingKeys']).toBe('false');
      }
    }
  });

  test('authorizer writes nothing and reaches no table but the registry', () => {
    const actions = allowedActions(roleLogicalId('authorizer'));
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:Query']);
    expect(statementsOf(roleLogicalId('authorizer')).some((s) => refers(s.Resource, nonces()))).toBe(false);
  });

  test('only admin can kms:CreateKey, and only tagged with attestor:tenant and as a P-256 signing key', () => {
    for (const name of LAMBDA_NAMES.filter((n) => n !== 'admin')) expect(allowing(roleLogicalId(name), 'kms:CreateKey')).toHaveLength(0);
    const creates = allowing(roleLogicalId('admin'), 'kms:CreateKey');
    expect(creates).toHaveLength(1);
    expect(creates[0]!.Condition).toEqual({
      Null: { [`aws:RequestTag/${TENANT_TAG_KEY}`]: 'false' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [...TENANT_KEY_TAG_KEYS] },
      StringEquals: { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' },
    });
  });

  test('no role can kms:Sign with "*" or with any key lacking a tenant alias; only attest signs at all', () => {
    for (const name of LAMBDA_NAMES) {
      for (const s of allowing(roleLogicalId(name), 'kms:Sign')) {
        expect(name).toBe('attest');
        expect(asList(s.Resource)).not.toContain('*');
        const onDecoy = refers(s.Resource, decoy());
        if (!onDecoy) expect(s.Condition?.['ForAnyValue:StringLike']?.['kms:ResourceAliases']).toBe(`${TENANT_KEY_ALIAS_PREFIX}*`);
      }
    }
  });

  test('authorizer reads tenant public keys only (alias condition) and never touches the decoy key', () => {
    const role = roleLogicalId('authorizer');
    expect(allowedActions(role).filter((a) => a.startsWith('kms:'))).toEqual(['kms:GetPublicKey']);
    for (const s of allowing(role, 'kms:GetPublicKey')) {
      expect(s.Condition?.['ForAnyValue:StringLike']?.['kms:ResourceAliases']).toBe(`${TENANT_KEY_ALIAS_PREFIX}*`);
    }
    expect(statementsOf(role).some((s) => refers(s.Resource, decoy()))).toBe(false);
  });

  test('only attest may use the decoy key; admin is explicitly denied its public key and aliasing it', () => {
    for (const name of LAMBDA_NAMES.filter((n) => n !== 'attest')) {
      expect(statementsOf(roleLogicalId(name)).some((s) => s.Effect === 'Allow' && refers(s.Resource, decoy()))).toBe(false);
    }
    const denies = statementsOf(roleLogicalId('admin')).filter((s) => s.Effect === 'Deny' && refers(s.Resource, decoy()));
    expect(denies.flatMap((s) => asList(s.Action))).toEqual(
      expect.arrayContaining(['kms:GetPublicKey', 'kms:DescribeKey', 'kms:CreateAlias', 'kms:TagResource']),
    );
  });

  test('the tags the admin may put on new keys are the ones src/adapters/kms-tenant-keys.ts puts there', () => {
    const source = fs.readFileSync(path.join(ROOT, 'src/adapters/kms-tenant-keys.ts'), 'utf8');
    const used = [...new Set([...source.matchAll(/TagKey: '([^']+)'/g)].map((m) => m[1]!))];
    // A tag key outside the allowed set would make every CreateKey the admin sends fail.
    expect(used.length).toBeGreaterThan(0);
    for (const key of used) expect(TENANT_KEY_TAG_KEYS).toContain(key);
    expect(used).toContain(TENANT_TAG_KEY);
  });

  test('admin: tenant aliases only, tenant tag only', () => {
    const role = roleLogicalId('admin');
    for (const s of allowing(role, 'kms:CreateAlias')) {
      const aliasResource = JSON.stringify(s.Resource).includes(':alias/');
      if (aliasResource) expect(JSON.stringify(s.Resource)).toContain(`:alias/${TENANT_KEY_ALIAS_PREFIX.slice('alias/'.length)}*`);
      else expect(s.Condition?.['StringLike']?.['kms:AliasName']).toBe(`${TENANT_KEY_ALIAS_PREFIX}*`);
    }
    for (const s of allowing(role, 'kms:TagResource')) {
      expect(s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys']).toEqual([...TENANT_KEY_TAG_KEYS]);
      expect(s.Condition?.['Null']?.[`aws:RequestTag/${TENANT_TAG_KEY}`]).toBe('false');
    }
    expect(allowing(role, 'kms:UntagResource')).toHaveLength(0);
    expect(allowing(role, 'kms:DeleteAlias')).toHaveLength(0);
    expect(allowing(role, 'kms:UpdateAlias')).toHaveLength(0);
    expect(allowing(role, 'kms:ScheduleKeyDeletion')).toHaveLength(0);
    expect(allowing(role, 'kms:PutKeyPolicy')).toHaveLength(0);
    expect(allowing(role, 'kms:Sign')).toHaveLength(0);
  });

  test('S3: register reads builds/* only, admin writes builds/* only, nobody deletes or lists', () => {
    const reads = allowing(roleLogicalId('register'), 's3:GetObject');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every(onlyBuildObjects)).toBe(true);
    const writes = allowing(roleLogicalId('admin'), 's3:PutObject');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every(onlyBuildObjects)).toBe(true);
    for (const name of LAMBDA_NAMES) {
      const s3Actions = allowedActions(roleLogicalId(name)).filter((a) => a.startsWith('s3:'));
      const expected = name === 'register' ? ['s3:GetObject'] : name === 'admin' ? ['s3:PutObject'] : [];
      expect(s3Actions).toEqual(expected);
    }
  });

  test('register writes only APP# and UPLOAD# partitions; never the nonces table', () => {
    const role = roleLogicalId('register');
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem']) {
      const statements = allowing(role, action);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        expect(s.Resource).toEqual({ 'Fn::GetAtt': [registry(), 'Arn'] });
        expect(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toEqual(['APP#*', 'UPLOAD#*']);
      }
    }
    expect(statementsOf(role).some((s) => refers(s.Resource, nonces()))).toBe(false);
  });

  test('nobody may Scan, DeleteItem in the registry, or change table settings', () => {
    for (const name of LAMBDA_NAMES) {
      const role = roleLogicalId(name);
      for (const action of ['dynamodb:Scan', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:UpdateTimeToLive']) {
        expect(allowing(role, action)).toHaveLength(0);
      }
      for (const s of allowing(role, 'dynamodb:DeleteItem')) expect(refers(s.Resource, registry())).toBe(false);
    }
  });

  test('demoHello: nothing beyond its logs', () => {
    expect(allowedActions(roleLogicalId('demoHello')).every((a) => a.startsWith('logs:'))).toBe(true);
  });
});

// ---------- cdk-nag ----------

test('cdk-nag AwsSolutions: every finding is fixed or acknowledged with a reason', () => {
  // A separate app: the pack walks the construct tree, and bin/ puts it on the App for `cdk synth`.
  const app = fastApp();
  new AttestorStack(app, 'Attestor');
  const report = new AwsSolutionsChecks(app).validateScope(app);
  expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  expect(report.success).toBe(true);
});

// ---------- outputs ----------

test('outputs: ApiUrl, BuildsBucketName, DecoyKeyArn, table names', () => {
  const outputs = template.toJSON()['Outputs'] as Json;
  for (const name of ['ApiUrl', 'BuildsBucketName', 'DecoyKeyArn', 'NoncesTableName', 'RegistryTableName']) expect(outputs).toHaveProperty(name);
  expect(outputs['DecoyKeyArn']['Value']).toEqual({ 'Fn::GetAtt': [idOf(stack.decoyKey), 'Arn'] });
  expect(outputs['BuildsBucketName']['Value']).toEqual({ Ref: idOf(stack.buildsBucket) });
  template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
});

// ---------- real bundling ----------

describe('bundling (real esbuild)', () => {
  let outdir: string;
  afterAll(() => {
    if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('every Lambda bundles to index.js with a source map, AWS SDK left external', () => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'attestor-bundle-'));
    const app = new App({ outdir });
    const bundled = new AttestorStack(app, 'Attestor');
    app.synth();
    const fns = Template.fromStack(bundled).toJSON()['Resources'] as Record<string, Json>;
    const sizes: Record<string, number> = {};
    for (const name of LAMBDA_NAMES) {
      const id = bundled.getLogicalId(bundled.functions[name].fn.node.defaultChild as CfnElement);
      const hash = String(fns[id]!['Properties']['Code']['S3Key']).replace(/\.zip$/, '');
      const dir = path.join(outdir, `asset.${hash}`);
      const js = path.join(dir, 'index.js');
      expect(fs.existsSync(js)).toBe(true);
      expect(fs.existsSync(`${js}.map`)).toBe(true);
      const code = fs.readFileSync(js, 'utf8');
      // The SDK comes from the runtime: required by name, never inlined.
      expect(code).not.toContain('node_modules/@aws-sdk/');
      if (name !== 'demoHello') expect(code).toMatch(/require\(["']@aws-sdk\/client-dynamodb["']\)/);
      sizes[name] = fs.statSync(js).size;
    }
    // Size target is <= 60 KB per bundle (a benchmark, not asserted here).
    console.log(`bundle sizes (bytes): ${JSON.stringify(sizes)}`);
  }, 180_000);
});
