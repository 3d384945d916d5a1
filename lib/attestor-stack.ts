import { CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type { Construct } from 'constructs';
import { BUILD_KEY_PREFIX } from '../src/core/registration';
import { LAMBDAS, type LambdaName } from '../src/routes';
import { AttestorApi } from './attestor-api';
import { ServiceFunction } from './service-function';
import { ServiceTables } from './service-tables';

/**
 * Names shared with the runtime. The two aliases restate DEFAULTS in src/adapters/environment.ts
 * (that module pulls in the AWS SDK clients and every adapter, which the CDK app must not load);
 * test/infra checks they agree.
 */
export const DECOY_KEY_ALIAS = 'alias/attestor/decoy';
export const TENANT_KEY_ALIAS_PREFIX = 'alias/attestor/tenant/';
/** Tag the admin Lambda must put on every tenant key it creates (value: the tenant id). */
export const TENANT_TAG_KEY = 'attestor:tenant';
/** Every tag key the admin Lambda may set on a new key (src/adapters/kms-tenant-keys.ts). */
export const TENANT_KEY_TAG_KEYS = [TENANT_TAG_KEY, 'attestor:purpose'] as const;
/** Uploads land under this prefix; only objects there trigger registration. */
export const BUILDS_PREFIX = BUILD_KEY_PREFIX;
/** Registry partition keys of tenant signing-key records (see REGISTRY_TABLE in src/adapters/tables.ts). */
export const TENANT_PARTITION_PREFIX = 'TENANT#';
/** Registry partition keys the register function works on: registrations and uploads. */
export const REGISTER_PARTITION_PREFIXES = ['APP#', 'UPLOAD#'] as const;

export interface AttestorStackProps extends StackProps {
  /** `iss` of minted tokens. @default 'attestor' */
  readonly issuer?: string;
  /**
   * Reserved concurrency of the register function: caps what a flood of uploads can cost.
   * `null` reserves nothing (accounts whose concurrency quota is still 10 cannot reserve any).
   * @default 5
   */
  readonly registerReservedConcurrency?: number | null;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Stage-wide API throttling. @default 50 requests/s, burst 100 */
  readonly throttlingRateLimit?: number;
  readonly throttlingBurstLimit?: number;
  /** @default false */
  readonly tracingEnabled?: boolean;
}

export class AttestorStack extends Stack {
  readonly tables: ServiceTables;
  readonly buildsBucket: s3.Bucket;
  readonly decoyKey: kms.Key;
  readonly functions: Readonly<Record<LambdaName, ServiceFunction>>;
  readonly api: AttestorApi;

  constructor(scope: Construct, id: string, props: AttestorStackProps = {}) {
    super(scope, id, props);

    this.tables = new ServiceTables(this, 'Tables');

    this.buildsBucket = new s3.Bucket(this, 'Builds', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-and-abort-multipart',
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(2),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Signs tokens for failed attestations so they look like real ones. Asymmetric keys cannot rotate.
    this.decoyKey = new kms.Key(this, 'DecoyKey', {
      description: 'Attestor decoy signing key (tokens for failed attestations)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      alias: DECOY_KEY_ALIAS,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const serviceEnvironment: Record<string, string> = {
      NONCES_TABLE: this.tables.nonces.tableName,
      REGISTRY_TABLE: this.tables.registry.tableName,
      BUILDS_BUCKET: this.buildsBucket.bucketName,
      ATTESTOR_ISSUER: props.issuer ?? 'attestor',
      DECOY_KEY_ID: this.decoyKey.keyArn,
      TENANT_KEY_ALIAS_PREFIX,
      NODE_OPTIONS: '--enable-source-maps',
    };
    const registerConcurrency = props.registerReservedConcurrency === undefined ? 5 : props.registerReservedConcurrency;

    const functions = {} as Record<LambdaName, ServiceFunction>;
    for (const [name, spec] of Object.entries(LAMBDAS) as [LambdaName, (typeof LAMBDAS)[LambdaName]][]) {
      functions[name] = new ServiceFunction(this, fnId(name), {
        spec,
        // demoHello does not call configFromEnv: it gets no table, bucket or key names.
        environment: name === 'demoHello' ? { NODE_OPTIONS: serviceEnvironment['NODE_OPTIONS']! } : serviceEnvironment,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        ...(name === 'register' && registerConcurrency !== null ? { reservedConcurrentExecutions: registerConcurrency } : {}),
      });
    }
    this.functions = functions;

    this.grantLeastPrivilege();

    this.buildsBucket.addEventNotification(
      s3.EventType.OBJECT_CREATED,
      new s3n.LambdaDestination(functions.register.fn),
      { prefix: BUILDS_PREFIX },
    );

    this.api = new AttestorApi(this, 'Api', {
      handlers: mapValues(functions, (f): lambda.IFunction => f.fn),
      authorizerFunction: functions.authorizer.fn,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.throttlingRateLimit !== undefined ? { throttlingRateLimit: props.throttlingRateLimit } : {}),
      ...(props.throttlingBurstLimit !== undefined ? { throttlingBurstLimit: props.throttlingBurstLimit } : {}),
      ...(props.tracingEnabled !== undefined ? { tracingEnabled: props.tracingEnabled } : {}),
    });

    this.acknowledgeNagFindings();

    new CfnOutput(this, 'ApiUrl', { value: this.api.restApi.url, description: 'Base URL of the Attestor API (stage included)' });
    new CfnOutput(this, 'BuildsBucketName', { value: this.buildsBucket.bucketName });
    new CfnOutput(this, 'DecoyKeyArn', { value: this.decoyKey.keyArn });
    new CfnOutput(this, 'NoncesTableName', { value: this.tables.nonces.tableName });
    new CfnOutput(this, 'RegistryTableName', { value: this.tables.registry.tableName });
  }

  /**
   * One role per function, each granted exactly the calls its handler makes. Written out by hand
   * rather than with table.grant*() / bucket.grant*(), which grant whole families of actions.
   */
  private grantLeastPrivilege(): void {
    const { challenge, attest, authorizer, register, admin } = this.functions;
    const noncesArn = this.tables.nonces.tableArn;
    const registryArn = this.tables.registry.tableArn;
    const buildObjectsArn = this.buildsBucket.arnForObjects(`${BUILDS_PREFIX}*`);
    const anyKeyArn = this.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    const tenantAliasArn = this.formatArn({ service: 'kms', resource: 'alias', resourceName: `${TENANT_KEY_ALIAS_PREFIX.slice('alias/'.length)}*` });
    const decoyKeyArn = this.decoyKey.keyArn;

    // kms:ResourceAliases is multi-valued (a key has up to 50 aliases): ForAnyValue admits a key with
    // at least one tenant alias; a key with no alias at all never matches.
    const onTenantKeys = { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${TENANT_KEY_ALIAS_PREFIX}*` } };
    const tenantPartitionsOnly = {
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TENANT_PARTITION_PREFIX}*`] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    };
    const allow = (role: iam.Role, statement: iam.PolicyStatementProps) => role.addToPolicy(new iam.PolicyStatement(statement));

    // challenge: stores nonces; nothing else.
    allow(challenge.role, { sid: 'PutNonces', actions: ['dynamodb:PutItem'], resources: [noncesArn] });

    // attest: consumes nonces, reads apps/registrations/policies and the tenant's key records, signs.
    allow(attest.role, { sid: 'ConsumeNonces', actions: ['dynamodb:DeleteItem'], resources: [noncesArn] });
    allow(attest.role, { sid: 'ReadRegistryItems', actions: ['dynamodb:GetItem'], resources: [registryArn] });
    allow(attest.role, { sid: 'ListTenantKeys', actions: ['dynamodb:Query'], resources: [registryArn], conditions: tenantPartitionsOnly });
    allow(attest.role, {
      sid: 'SignWithTenantKeys',
      actions: ['kms:Sign'],
      resources: [anyKeyArn],
      conditions: { ...onTenantKeys, StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
    });
    allow(attest.role, { sid: 'ReadTenantPublicKeys', actions: ['kms:GetPublicKey'], resources: [anyKeyArn], conditions: onTenantKeys });
    allow(attest.role, { sid: 'SignWithDecoyKey', actions: ['kms:Sign', 'kms:GetPublicKey'], resources: [decoyKeyArn] });

    // authorizer: reads the tenant's key records and their public keys; never signs.
    allow(authorizer.role, { sid: 'ListTenantKeys', actions: ['dynamodb:Query'], resources: [registryArn], conditions: tenantPartitionsOnly });
    allow(authorizer.role, { sid: 'ReadTenantPublicKeys', actions: ['kms:GetPublicKey'], resources: [anyKeyArn], conditions: onTenantKeys });

    // register: reads the uploaded build, records the registration, settles the upload.
    allow(register.role, {
      sid: 'RecordRegistrations',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [registryArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': REGISTER_PARTITION_PREFIXES.map((p) => `${p}*`) },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    allow(register.role, { sid: 'ReadBuilds', actions: ['s3:GetObject'], resources: [buildObjectsArn] });

    // admin: apps, uploads and key records; presigned upload URLs; creates tenant keys.
    allow(admin.role, {
      sid: 'ManageRegistry',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      resources: [registryArn],
    });
    // Presigned PUT URLs carry the signer's permissions: the admin role may write builds and nothing else.
    allow(admin.role, { sid: 'PresignBuildUploads', actions: ['s3:PutObject'], resources: [buildObjectsArn] });
    const tenantTagRequest = {
      Null: { [`aws:RequestTag/${TENANT_TAG_KEY}`]: 'false' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [...TENANT_KEY_TAG_KEYS] },
    };
    allow(admin.role, {
      sid: 'CreateTenantKeys',
      actions: ['kms:CreateKey'],
      resources: ['*'], // CreateKey has no resource; the conditions are the scope.
      conditions: {
        ...tenantTagRequest,
        StringEquals: { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' },
      },
    });
    // Tagging in CreateKey is authorized as kms:TagResource and must cover every key of the account
    // and Region; the conditions limit it to the tenant tag.
    allow(admin.role, { sid: 'TagTenantKeys', actions: ['kms:TagResource'], resources: [anyKeyArn], conditions: tenantTagRequest });
    // CreateAlias is authorized on the alias and on the key. Key side: only P-256 signing keys, only
    // tenant alias names. (kms:KeySpec/KeyUsage, not tags or aliases: those take up to five minutes to
    // count for authorization, and the alias is made right after CreateKey.)
    allow(admin.role, { sid: 'CreateTenantAliases', actions: ['kms:CreateAlias'], resources: [tenantAliasArn] });
    allow(admin.role, {
      sid: 'AliasTenantKeys',
      actions: ['kms:CreateAlias'],
      resources: [anyKeyArn],
      conditions: {
        StringLike: { 'kms:AliasName': `${TENANT_KEY_ALIAS_PREFIX}*` },
        StringEquals: { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' },
      },
    });
    // Public keys for the JWKS and for the kid of a key just created; DescribeKey resolves the
    // alias a racing container claimed first (see src/adapters/kms-tenant-keys.ts).
    allow(admin.role, {
      sid: 'ReadSigningKeys',
      actions: ['kms:GetPublicKey', 'kms:DescribeKey'],
      resources: [anyKeyArn],
      conditions: { StringEquals: { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' } },
    });
    // ...but never the decoy: its public key would tell decoy tokens apart, and a tenant alias on it
    // would let it verify as a tenant key.
    admin.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'KeepOffDecoyKey',
        effect: iam.Effect.DENY,
        actions: ['kms:GetPublicKey', 'kms:DescribeKey', 'kms:CreateAlias', 'kms:TagResource'],
        resources: [decoyKeyArn],
      }),
    );

    // demoHello: nothing beyond its own logs.
  }

  /** cdk-nag (AwsSolutions) findings that are decisions, each with its reason. */
  private acknowledgeNagFindings(): void {
    const keyWildcard = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]';
    const buildsWildcard = `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.buildsBucket.node.defaultChild as s3.CfnBucket)}.Arn>/${BUILDS_PREFIX}*]`;
    const { attest, authorizer, register, admin } = this.functions;

    Validations.of(this.tables.nonces).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason: 'Nonces live for minutes and expire by TTL; there is nothing to recover.',
    });
    Validations.of(this.buildsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Writes come only through presigned URLs the admin API issues (and logs); the register function logs every object. Object-level audit: CloudTrail S3 data events.',
    });
    for (const fn of Object.values(this.functions)) {
      Validations.of(fn.fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'nodejs22.x is pinned to match the esbuild target (node22) and the Node versions the project is tested on.',
      });
    }
    for (const fn of [attest, authorizer]) {
      Validations.of(fn.role).acknowledge({
        id: keyWildcard,
        reason: 'Tenant keys are created at run time: key/* is narrowed to keys with an alias under alias/attestor/tenant/ (kms:ResourceAliases).',
      });
    }
    Validations.of(admin.role).acknowledge(
      {
        id: keyWildcard,
        reason: 'Tenant keys are created at run time: TagResource needs every key of the account (CreateKey tags), narrowed to the attestor:tenant tag; CreateAlias and GetPublicKey are narrowed to P-256 signing keys and tenant alias names; the decoy key is denied.',
      },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'kms:CreateKey has no resource; it is narrowed by the request tag, key spec and key usage.' },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:alias/${TENANT_KEY_ALIAS_PREFIX.slice('alias/'.length)}*]`,
        reason: 'One alias per tenant key, created at run time under the tenant prefix.',
      },
      { id: buildsWildcard, reason: 'Presigned upload URLs for builds/<appId>/<version>/<uploadId>, which are created per upload.' },
    );
    Validations.of(register.role).acknowledge({ id: buildsWildcard, reason: 'Reads whichever build was just uploaded under builds/.' });

    // CDK's singleton that configures bucket notifications (a custom resource); its role carries the
    // basic execution policy and only s3:PutBucketNotification on this bucket.
    const notificationsHandler = this.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
    if (notificationsHandler) {
      Validations.of(notificationsHandler).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK-provided bucket-notification handler; its only other permission is s3:PutBucketNotification on the builds bucket.',
      });
    }
  }
}

function mapValues<K extends string, V, W>(record: Record<K, V>, f: (value: V) => W): Record<K, W> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v as V)])) as Record<K, W>;
}

/** Construct id of a function: 'demoHello' → 'DemoHello'. */
export function fnId(name: LambdaName): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
