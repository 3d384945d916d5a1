import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BUILD_KEY_PREFIX, RETIRED_KEY_DELETION_WINDOW_DAYS } from '@attestor/contracts/admin-api';
import { DEFAULT_TOKEN_TTL_SECONDS, MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS } from '@attestor/contracts/protocol';
import { SECRET_CONTEXT_SECRET, SECRET_CONTEXT_TENANT } from '@attestor/contracts/admin-api';
import { SECRET_CONTEXT_PURPOSE, TEST_SECRET_PURPOSE } from '@attestor/contracts/test-tokens';
import { ADMIN_LAMBDAS, KEY_CREATING_LAMBDAS, LAMBDAS, type AdminLambdaName, type LambdaName } from '@attestor/contracts/routes';
import { GOOGLE_ATTESTATION_STATUS_URL, REGISTRY_PARTITIONS, REVOCATION_LIST_OBJECT_KEY, TENANT_LIST_PARTITION } from '@attestor/contracts/tables';
import {
  ADMIN_CATALOG_CONFIG,
  ADMIN_KEYS_CONFIG,
  ADMIN_UPLOADS_CONFIG,
  ATTEST_CONFIG,
  CHALLENGE_CONFIG,
  CONFIG_DEFAULTS,
  DEMO_HELLO_CONFIG,
  HARDWARE_TEST_ROOTS_VARIABLE,
  REGISTER_CONFIG,
  REVOCATION_LIST_CONFIG,
  type AdminCommonConfig,
  type TenantKeyPolicyRoles,
} from '@attestor/contracts/config';
import {
  AttestationAuthorizer,
  AttestationKeySource,
  DEFAULT_TENANT_KEY_ALIAS_PREFIX,
  TENANT_KEYS_PARTITION_PREFIX,
  type AttestationAuthorizerProps,
} from './attestation-authorizer';
import {
  AttestorApi,
  checkThrottling,
  DEFAULT_THROTTLING_BURST_LIMIT,
  DEFAULT_THROTTLING_RATE_LIMIT,
  type DemoRouteLambda,
  STAGE_NAME,
} from './attestor-api';
import { AttestorDomain, type AttestorDomainOptions } from './attestor-domain';
import { AttestorWebAcl } from './attestor-waf';
import { OperatorAlarms } from './operator-alarms';
import { COUNTS_PARTITION_PREFIX, METRICS_NAMESPACE } from '@attestor/contracts/metrics';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { OperatorDashboard } from './operator-dashboard';
import { serviceMetrics } from './service-metrics';

/** The metric the CloudTrail metric filter writes for KMS calls refused because the key is pending deletion. */
export const KMS_PENDING_DELETION_METRIC = 'KmsKeyPendingDeletionUse';
import { acknowledgeAttestorStack } from './nag-acknowledgements';
import { ServiceFunction } from './service-function';
import { ServiceTables } from './service-tables';

/** Names shared with the runtime: the aliases its settings default to (CONFIG_DEFAULTS of @attestor/contracts/config). */
export const DECOY_KEY_ALIAS = CONFIG_DEFAULTS.decoyKeyId;
export const TENANT_KEY_ALIAS_PREFIX = DEFAULT_TENANT_KEY_ALIAS_PREFIX;
/** Tag the admin functions must put on every tenant key they create (value: the tenant id). */
export const TENANT_TAG_KEY = 'attestor:tenant';
/** Every tag key the admin functions may set on a new key (src/adapters/kms-tenant-keys.ts). */
export const TENANT_KEY_TAG_KEYS = [TENANT_TAG_KEY, 'attestor:purpose'] as const;
/** Uploads land under this prefix; only objects there trigger registration. */
export const BUILDS_PREFIX = BUILD_KEY_PREFIX;
export { TENANT_KEYS_PARTITION_PREFIX };
/** Registry partition keys the register function works on: registrations and uploads. */
export const REGISTER_PARTITION_PREFIXES = [REGISTRY_PARTITIONS.app, REGISTRY_PARTITIONS.upload] as const;
/** Registry partition keys of everything attest reads item by item: apps, registrations, policies, devices. */
export const APP_PARTITION_PREFIX = REGISTRY_PARTITIONS.app;

/** dynamodb:LeadingKeys patterns of registry partitions: each prefix family, and the tenant list's one key. */
const PARTITIONS = {
  app: `${REGISTRY_PARTITIONS.app}*`,
  upload: `${REGISTRY_PARTITIONS.upload}*`,
  tenantKeys: `${REGISTRY_PARTITIONS.tenantKeys}*`,
  tenant: `${REGISTRY_PARTITIONS.tenant}*`,
  principal: `${REGISTRY_PARTITIONS.principal}*`,
  tenantList: TENANT_LIST_PARTITION,
} as const;

/**
 * The registry partitions each admin function may read (GetItem, Query) and write, as its code does
 * (test/integration/admin-iam-partitions.test.ts records every call and checks it against these).
 * Every one reads PRINCIPAL# to resolve its caller; only adminKeys writes it (tenant creation), so a
 * compromised catalog or uploads function cannot make a principal an operator or rewrite key records.
 */
export const ADMIN_REGISTRY_PARTITIONS: Readonly<Record<AdminLambdaName, { readonly read: readonly string[]; readonly write: readonly string[] }>> = {
  // Apps, registrations, policies, devices, identities (APP#); the tenant's app index (listed, and an entry deleted with its app).
  adminCatalog: { read: [PARTITIONS.app, PARTITIONS.tenant, PARTITIONS.principal], write: [PARTITIONS.app, PARTITIONS.tenant] },
  // Tenants and their principals, app creation (with the index entry), key records and the rotation limit.
  adminKeys: {
    read: [PARTITIONS.app, PARTITIONS.tenantKeys, PARTITIONS.tenant, PARTITIONS.principal, PARTITIONS.tenantList],
    write: [PARTITIONS.app, PARTITIONS.tenantKeys, PARTITIONS.tenant, PARTITIONS.principal, PARTITIONS.tenantList],
  },
  // Uploads, the app an upload creates (with the index entry), and the first key record of its tenant.
  adminUploads: {
    read: [PARTITIONS.app, PARTITIONS.upload, PARTITIONS.tenantKeys, PARTITIONS.principal],
    write: [PARTITIONS.app, PARTITIONS.upload, PARTITIONS.tenant, PARTITIONS.tenantKeys],
  },
};
/** Attestation-log partitions (`TENANT#<tenant>#<app or ~bucket>`, src/adapters/dynamodb-attestation-log.ts). */
export const ATTESTATION_LOG_PARTITION_PATTERN = 'TENANT#*';
/** Attestation-log partitions of test-token mints (`TENANT#<tenant>#~test-tokens`, src/adapters/dynamodb-test-token-audit.ts). */
export const TEST_TOKEN_LOG_PARTITION_PATTERN = 'TENANT#*#~test-tokens';
/** Attestation-log partitions of refused builds (`TENANT#<tenant>#~builds`). */
export const BUILD_LOG_PARTITION_PATTERN = 'TENANT#*#~builds';
/** The copy of Google's attestation status list in the builds bucket (PROTOCOL.md §5.6). */
export const REVOCATION_LIST_KEY = REVOCATION_LIST_OBJECT_KEY;
/** How often the revocation function copies the list: Google updates it about daily. */
export const REVOCATION_LIST_SCHEDULE = events.Schedule.rate(Duration.days(1));
/**
 * The local cloud's variable for test roots (packages/local/src/start.ts): a function whose
 * environment names it is refused at synth, whoever added it, and at cold start.
 */
export const TEST_ROOTS_VARIABLE = HARDWARE_TEST_ROOTS_VARIABLE;
/** The routes WAF rate-limits per client IP. */
export const RATE_LIMITED_PATHS = ['/v1/challenge', '/v1/attest'] as const;

/**
 * The functions that exist only for the demo route (`demoRoute`): its backend, and the authorizer in
 * front of it. A customer's API brings its own AttestationAuthorizer.
 */
export const DEMO_FUNCTIONS = ['demoHello', 'authorizer'] as const satisfies readonly (DemoRouteLambda | 'authorizer')[];
export type DemoFunctionName = (typeof DEMO_FUNCTIONS)[number];
/** The functions every deployment has. */
export type CoreFunctionName = Exclude<LambdaName, DemoFunctionName>;

/** Options of the /demo/hello authorizer (see AttestationAuthorizerProps). */
export type DemoAuthorizerOptions = Pick<AttestationAuthorizerProps, 'mode' | 'requireBinding' | 'limitedUse' | 'requireProof' | 'resultsCacheTtl'>;

export interface AttestorStackProps extends StackProps {
  /**
   * `iss` of minted tokens.
   * @default 'attestor'
   */
  readonly issuer?: string;
  /**
   * Lifetime of every token the deployment mints, pass or decoy, whatever the app (60 s to 1 h): a
   * lifetime per app would tell registered app ids from unknown ones (PROTOCOL.md §9). Longer means
   * fewer attestations (docs/SCALING.md) and a longer life for a stolen token.
   * @default Duration.minutes(5)
   */
  readonly tokenTtl?: Duration;
  /**
   * IAM principals (role or user ARNs) that operate the default tenant: they may create tenants and
   * map other principals to them (ATTESTOR_OPERATOR_PRINCIPALS of every admin function).
   * @default none: only principals mapped in the registry have access, so nobody at first
   */
  readonly operatorPrincipals?: readonly string[];
  /**
   * Reserved concurrency of the register function: caps what a flood of uploads can cost.
   * `null` reserves nothing (accounts whose concurrency quota is still 10 cannot reserve any).
   * @default 5
   */
  readonly registerReservedConcurrency?: number | null;
  /**
   * Reserved concurrency of each admin function: every tenant key one creates costs money every
   * month, so a runaway caller is capped. `null` reserves nothing.
   * @default 5
   */
  readonly adminReservedConcurrency?: number | null;
  /**
   * Retention of every function's log group and of the API access logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The attestations per second this deployment must serve at its peak (docs/SCALING.md). Sizes
   * what would otherwise cap it: the stage throttle (two requests per attestation, plus 10 % for
   * admin and enforcement traffic) unless throttlingRateLimit/throttlingBurstLimit are given, and
   * the nonce and log tables' warm throughput (charged once). The account-wide API Gateway and
   * Lambda quotas are not set by a stack: raise them with Service Quotas.
   * @default none: the stage throttle of 50 requests per second (about 25 attestations)
   */
  readonly peakAttestationsPerSecond?: number;
  /**
   * Stage-wide steady-state request rate (requests per second, every route together) before API
   * Gateway answers 429. Positive; a fraction is allowed.
   * @default 50, or 2.2 × peakAttestationsPerSecond
   */
  readonly throttlingRateLimit?: number;
  /**
   * Stage-wide burst (requests). A whole number, at least 1.
   * @default 100, or the rate limit when peakAttestationsPerSecond is set
   */
  readonly throttlingBurstLimit?: number;
  /**
   * X-Ray tracing of the stage.
   * @default false
   */
  readonly tracingEnabled?: boolean;
  /**
   * The CloudWatch Logs group a CloudTrail trail of this account delivers to. The
   * KmsKeyPendingDeletionInUse alarm always counts the functions' own KMS calls refused because the key
   * is pending deletion; with a trail, a metric filter adds every other caller's (a customer's verifier
   * unwrapping a retired secret). The stack owns no trail (an account usually has one already).
   * @default the functions' own calls only
   */
  readonly cloudTrailLogGroup?: logs.ILogGroup;
  /**
   * Name of the operators' CloudWatch dashboard.
   * @default a name CloudFormation generates, unique per deployment
   */
  readonly dashboardName?: string;
  /**
   * Put the WAF web ACL (body limit, per-IP rate limit, AWS common rules) in front of the API.
   * @default true
   */
  readonly webAcl?: boolean;
  /**
   * Requests one IP may send to /v1/challenge and /v1/attest per 5 minutes. Only with `webAcl`.
   * @default 600
   */
  readonly rateLimitPer5Minutes?: number;
  /**
   * Deploy the demo route, GET /demo/hello behind an attestation authorizer (with its two functions,
   * DEMO_FUNCTIONS): a quick end-to-end check of a deployment. A production API needs none of it;
   * the local cloud always serves it, for `npm run demo`.
   * @default false
   */
  readonly demoRoute?: boolean;
  /**
   * How the /demo/hello authorizer enforces. Only with `demoRoute`.
   * @default enforce, no binding, no single use, no proof, no caching
   */
  readonly demoAuthorizer?: DemoAuthorizerOptions;
  /**
   * Serve the API at a custom domain as well (API Gateway custom domain, ACM certificate and, given
   * a hosted zone, its DNS records): see AttestorDomainOptions and docs/DEPLOY.md.
   * @default none: only the execute-api URL
   */
  readonly domain?: AttestorDomainOptions;
  /**
   * Not supported, on purpose: test roots (the local cloud's `hardwareTestRoots`) let whoever holds
   * the test authority mint any hardware evidence. A deployment trusts Apple's and Google's pinned
   * roots only; the stack throws when this is set, as it does for a function environment that names
   * ATTESTOR_HARDWARE_TEST_ROOTS.
   */
  readonly hardwareTestRoots?: never;
}

/** The functions the stack configures itself (the authorizer is AttestationAuthorizer's). */
export type ServiceFunctionName = Exclude<LambdaName, 'authorizer'>;

export class AttestorStack extends Stack {
  readonly tables: ServiceTables;
  readonly buildsBucket: s3.Bucket;
  readonly decoyKey: kms.Key;
  /** Where S3 events the register function failed to process end up (after Lambda's retries). */
  readonly registerFailures: sqs.Queue;
  /** The operators' alarm topic and its alarms (RegisterFailures not empty); later alarms reuse it. */
  readonly operatorAlarms: OperatorAlarms;
  /** Runs the revocation function daily (PROTOCOL.md §5.6). */
  readonly revocationSchedule: events.Rule;
  /** Every function of the deployment; the demo route's (DEMO_FUNCTIONS) only with `demoRoute`. */
  readonly functions: Readonly<Record<CoreFunctionName, ServiceFunction>> & Readonly<Partial<Record<DemoFunctionName, ServiceFunction>>>;
  /** The authorizer in front of /demo/hello, with `demoRoute`. */
  readonly authorizer?: AttestationAuthorizer;
  readonly api: AttestorApi;
  readonly webAcl?: AttestorWebAcl;
  /** The custom domain, with `domain`. */
  readonly domain?: AttestorDomain;
  readonly dashboard: OperatorDashboard;

  constructor(scope: Construct, id: string, props: AttestorStackProps = {}) {
    super(scope, id, props);
    if ((props as { hardwareTestRoots?: unknown }).hardwareTestRoots !== undefined) {
      throw new Error('AttestorStack: hardwareTestRoots is for the local cloud only; a deployment trusts the pinned Apple and Google roots alone');
    }
    if (props.webAcl === false && props.rateLimitPer5Minutes !== undefined) {
      throw new Error('AttestorStack: rateLimitPer5Minutes is set but webAcl is false: the rate limit is a WAF rule');
    }
    const demoRoute = props.demoRoute ?? false;
    if (!demoRoute && props.demoAuthorizer !== undefined) {
      throw new Error('AttestorStack: demoAuthorizer is set but demoRoute is not: the demo authorizer guards the demo route only; set demoRoute: true');
    }
    const tokenTtlSeconds = props.tokenTtl?.toSeconds() ?? DEFAULT_TOKEN_TTL_SECONDS;
    if (!Number.isInteger(tokenTtlSeconds) || tokenTtlSeconds < MIN_TOKEN_TTL_SECONDS || tokenTtlSeconds > MAX_TOKEN_TTL_SECONDS) {
      throw new Error(`AttestorStack: tokenTtl must be whole seconds from ${MIN_TOKEN_TTL_SECONDS} to ${MAX_TOKEN_TTL_SECONDS}, got ${tokenTtlSeconds}`);
    }
    const issuer = props.issuer ?? CONFIG_DEFAULTS.issuer;
    const peak = props.peakAttestationsPerSecond;
    if (peak !== undefined && !(Number.isInteger(peak) && peak >= 1 && peak <= 1_000_000)) {
      throw new Error(`AttestorStack: peakAttestationsPerSecond must be a whole number from 1 to 1000000, got ${peak}`);
    }
    // Each attestation is two requests (challenge, attest); 10 % more for admin and JWKS/secrets reads.
    const peakRate = peak === undefined ? undefined : Math.ceil((peak * 22) / 10);
    const throttlingRateLimit = props.throttlingRateLimit ?? peakRate ?? DEFAULT_THROTTLING_RATE_LIMIT;
    const throttlingBurstLimit = props.throttlingBurstLimit ?? peakRate ?? DEFAULT_THROTTLING_BURST_LIMIT;
    checkThrottling('AttestorStack', throttlingRateLimit, throttlingBurstLimit);

    this.tables = new ServiceTables(this, 'Tables', peak !== undefined ? { peakAttestationsPerSecond: peak } : {});

    this.buildsBucket = new s3.Bucket(this, 'Builds', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-and-abort-multipart',
          // A build re-uploaded under the same key leaves the old bytes as a noncurrent version.
          noncurrentVersionExpiration: Duration.days(30),
          // The CLI uploads large builds in parts; parts of an upload never completed cost storage.
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

    this.registerFailures = new sqs.Queue(this, 'RegisterFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const functions = {} as Record<CoreFunctionName, ServiceFunction> & Partial<Record<DemoFunctionName, ServiceFunction>>;
    const registerConcurrency = props.registerReservedConcurrency === undefined ? 5 : props.registerReservedConcurrency;
    const adminConcurrency = props.adminReservedConcurrency === undefined ? 5 : props.adminReservedConcurrency;
    for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
      if (name === 'authorizer') continue;
      if (name === 'demoHello' && !demoRoute) continue;
      const reserved = name === 'register' ? registerConcurrency : isAdminFunction(name) ? adminConcurrency : null;
      functions[name] = new ServiceFunction(this, fnId(name), {
        name,
        environment: {}, // written once every function exists: see writeEnvironments
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        ...(reserved !== null ? { reservedConcurrentExecutions: reserved } : {}),
        // S3 invokes register asynchronously; an event it could not process is kept, not dropped.
        ...(name === 'register' ? { onFailure: new lambdaDestinations.SqsDestination(this.registerFailures) } : {}),
      });
    }

    if (demoRoute) {
      this.authorizer = new AttestationAuthorizer(this, 'DemoAuthorizer', {
        ...props.demoAuthorizer,
        keySource: AttestationKeySource.kms({ registryTable: this.tables.registry, tenantKeyAliasPrefix: TENANT_KEY_ALIAS_PREFIX }),
        issuer,
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      });
      functions.authorizer = this.authorizer.service;
    }
    this.functions = functions;

    this.grantLeastPrivilege();
    this.writeEnvironments(props, issuer, tokenTtlSeconds);
    this.operatorAlarms = new OperatorAlarms(this, 'OperatorAlarms');
    this.manageRegisterFailures();
    this.refuseTestRoots();

    // The copy attest reads is a day old at most; a failed run keeps the previous copy (and shows in
    // the function's Errors metric). EventBridge retries a failed invocation twice.
    this.revocationSchedule = new events.Rule(this, 'RevocationListSchedule', {
      description: "Copies Google's Android attestation status list for attest (PROTOCOL.md §5.6)",
      schedule: REVOCATION_LIST_SCHEDULE,
      targets: [new eventTargets.LambdaFunction(functions.revocationList.fn, { retryAttempts: 2, maxEventAge: Duration.hours(6) })],
    });

    this.buildsBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(functions.register.fn), { prefix: BUILDS_PREFIX });

    const { demoHello } = functions;
    const coreFunctions = Object.fromEntries(
      Object.entries(functions).filter(([name]) => !(DEMO_FUNCTIONS as readonly string[]).includes(name)),
    ) as Record<CoreFunctionName, ServiceFunction>;
    this.api = new AttestorApi(this, 'Api', {
      handlers: mapValues(coreFunctions, (f): lambda.IFunction => f.fn),
      ...(this.authorizer && demoHello ? { demo: { handler: demoHello.fn, authorizer: this.authorizer.authorizer } } : {}),
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      throttlingRateLimit,
      throttlingBurstLimit,
      ...(props.tracingEnabled !== undefined ? { tracingEnabled: props.tracingEnabled } : {}),
    });
    if (props.domain) this.domain = new AttestorDomain(this, 'Domain', { ...props.domain, restApi: this.api.restApi });

    if (props.webAcl !== false) {
      this.webAcl = new AttestorWebAcl(this, 'WebAcl', {
        stage: this.api.restApi.deploymentStage,
        rateLimitedPaths: RATE_LIMITED_PATHS,
        ...(props.rateLimitPer5Minutes !== undefined ? { rateLimitPer5Minutes: props.rateLimitPer5Minutes } : {}),
      });
    }

    this.dashboard = this.watchService(props);

    acknowledgeAttestorStack(this);

    new CfnOutput(this, 'ApiUrl', {
      value: this.api.restApi.url,
      description: 'Base URL of the Attestor API (stage included): the SDK endpoint and the CLI --endpoint',
    });
    if (this.domain) {
      new CfnOutput(this, 'CustomDomainUrl', {
        value: this.domain.url,
        description: 'Base URL of the Attestor API at its custom domain (no stage in the path)',
      });
      new CfnOutput(this, 'CustomDomainTarget', {
        value: this.domain.domain.domainNameAliasDomainName,
        description: 'Point the custom domain here (CNAME, or an alias record) when the stack was given no hosted zone',
      });
    }
    new CfnOutput(this, 'JwksUrl', { value: this.api.jwksUrl, description: "The tenant's public signing keys (IAM-authorized GET)" });
    new CfnOutput(this, 'JwksExecuteApiArn', {
      value: this.api.jwksExecuteApiArn,
      description: 'Grant execute-api:Invoke on this to a verifier that fetches the JWKS',
    });
    new CfnOutput(this, 'ApiStageArn', {
      value: this.api.stageArn,
      description: 'stageArn of AttestationKeySource.remote: its JWKS and wrapped-secrets routes live under it',
    });
    new CfnOutput(this, 'BuildsBucketName', { value: this.buildsBucket.bucketName });
    new CfnOutput(this, 'DecoyKeyArn', { value: this.decoyKey.keyArn });
    new CfnOutput(this, 'NoncesTableName', { value: this.tables.nonces.tableName });
    new CfnOutput(this, 'RegistryTableName', { value: this.tables.registry.tableName });
    new CfnOutput(this, 'AttestationLogTableName', { value: this.tables.attestationLog.tableName });
    new CfnOutput(this, 'HardwareDevicesTableName', { value: this.tables.hardwareDevices.tableName });
    new CfnOutput(this, 'RevocationListFunctionName', {
      value: functions.revocationList.fn.functionName,
      description: 'Invoke once after the first deployment to store the attestation status list at once',
    });
    new CfnOutput(this, 'RegisterFailuresQueueUrl', { value: this.registerFailures.queueUrl, description: 'Upload events the register function gave up on' });
    new CfnOutput(this, 'OperatorAlarmsTopicArn', {
      value: this.operatorAlarms.topic.topicArn,
      description: 'Subscribe operators here: alarms such as a register failure are published to it',
    });
    for (const name of ADMIN_LAMBDAS) new CfnOutput(this, `${fnId(name)}FunctionRoleArn`, { value: functions[name].role.roleArn });
    if (this.webAcl) new CfnOutput(this, 'WebAclArn', { value: this.webAcl.webAcl.attrArn });
  }

  /**
   * Each function's settings, written by its record (@attestor/contracts/config), which reads them
   * back at cold start: every function gets exactly the variables it reads. Written once every
   * function exists, since some name another function or its role.
   */
  private writeEnvironments(props: AttestorStackProps, issuer: string, tokenTtlSeconds: number): void {
    const { nonces, registry, attestationLog, hardwareDevices } = this.tables;
    const buildsBucket = this.buildsBucket.bucketName;
    const keys = { decoyKeyId: this.decoyKey.keyArn, tenantKeyAliasPrefix: TENANT_KEY_ALIAS_PREFIX };
    const admin: AdminCommonConfig = {
      registryTable: registry.tableName,
      defaultTenantId: CONFIG_DEFAULTS.defaultTenantId,
      ...(props.operatorPrincipals?.length ? { operatorPrincipals: props.operatorPrincipals } : {}),
    };
    const maxBuildBytes = CONFIG_DEFAULTS.maxBuildBytes;
    const environments: Record<Exclude<ServiceFunctionName, 'demoHello'>, Record<string, string>> & { demoHello?: Record<string, string> } = {
      challenge: CHALLENGE_CONFIG.toEnv({ noncesTable: nonces.tableName }),
      attest: ATTEST_CONFIG.toEnv({
        noncesTable: nonces.tableName,
        registryTable: registry.tableName,
        attestationLogTable: attestationLog.tableName,
        issuer,
        tokenTtlSeconds,
        defaultTenantId: CONFIG_DEFAULTS.defaultTenantId,
        ...keys,
        hardwareDevicesTable: hardwareDevices.tableName,
        revocationList: { bucket: buildsBucket },
      }),
      register: REGISTER_CONFIG.toEnv({
        registryTable: registry.tableName,
        attestationLogTable: attestationLog.tableName,
        buildsBucket,
        maxBuildBytes,
        defaultTenantId: CONFIG_DEFAULTS.defaultTenantId,
      }),
      adminCatalog: ADMIN_CATALOG_CONFIG.toEnv({ ...admin, attestationLogTable: attestationLog.tableName }),
      adminKeys: ADMIN_KEYS_CONFIG.toEnv({
        ...admin,
        ...keys,
        tenantKeyPolicyRoles: this.nameTenantKeyPolicyRoles('adminKeys'),
        // Test tokens: minted with the deployment's issuer, each recorded in the attestation log.
        attestationLogTable: attestationLog.tableName,
        issuer,
      }),
      adminUploads: ADMIN_UPLOADS_CONFIG.toEnv({
        ...admin,
        ...keys,
        tenantKeyPolicyRoles: this.nameTenantKeyPolicyRoles('adminUploads'),
        buildsBucket,
        maxBuildBytes,
        // Its failure routes (manageRegisterFailures) read the queue and re-invoke the function.
        registerFailures: { queueUrl: this.registerFailures.queueUrl, registerFunction: this.functions.register.fn.functionName },
      }),
      ...(this.functions.demoHello ? { demoHello: DEMO_HELLO_CONFIG.toEnv({}) } : {}),
      revocationList: REVOCATION_LIST_CONFIG.toEnv({ bucket: buildsBucket, url: GOOGLE_ATTESTATION_STATUS_URL }),
    };
    for (const [name, environment] of Object.entries(environments) as [ServiceFunctionName, Record<string, string>][]) {
      const fn = this.functions[name];
      if (!fn) throw new Error(`AttestorStack: settings written for ${name}, which the stack does not have`);
      for (const [variable, value] of Object.entries(environment)) fn.fn.addEnvironment(variable, value);
    }
  }

  /**
   * Tenant keys are created at run time by the key-creating admin functions, with a key policy that names the
   * roles allowed to use them (src/adapters/kms-tenant-keys.ts, tenantKeyPolicy). A key policy
   * takes effect the moment the key exists, whereas IAM conditions on a key's aliases or tags take
   * up to five minutes to apply to a new key: without it, attest could not sign for a tenant created
   * a minute ago. The alias-conditioned IAM statements in grantLeastPrivilege stay as the durable
   * path: for keys created before key policies were set, and for a role that CloudFormation
   * replaces (a key policy names the role it saw, not its successor).
   */
  private nameTenantKeyPolicyRoles(creator: (typeof KEY_CREATING_LAMBDAS)[number]): TenantKeyPolicyRoles {
    return {
      signerRoleArn: this.functions.attest.role.roleArn,
      // The demo authorizer, when there is one; other authorizers verify through their IAM policies.
      verifierRoleArns: this.functions.authorizer ? [this.functions.authorizer.role.roleArn] : [],
      // The discarder is the creator itself: only the function that made a key that lost the
      // first-key race schedules that key's deletion.
      adminRoleArn: this.functions[creator].role.roleArn,
    };
  }

  /**
   * A failed registration leaves its upload pending: an alarm tells the operators at the first one,
   * and the adminUploads function may list the queue, hand an event back to the register function
   * and delete it (`attestor registrations failures`, docs/ADMIN_API.md §5.4). Where the queue and
   * the function are is part of its settings (writeEnvironments).
   */
  private manageRegisterFailures(): void {
    const { adminUploads, register } = this.functions;
    this.operatorAlarms.queueNotEmpty(
      'RegisterFailuresAlarm',
      this.registerFailures,
      'The register function gave up on an upload: run `attestor registrations failures` to see it, then --retry or --clear',
    );
    const allow = (statement: iam.PolicyStatementProps) => adminUploads.role.addToPolicy(new iam.PolicyStatement(statement));
    allow({
      sid: 'ManageRegisterFailures',
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
      resources: [this.registerFailures.queueArn],
    });
    allow({ sid: 'RetryRegisterFailures', actions: ['lambda:InvokeFunction'], resources: [register.fn.functionArn] });
  }

  /**
   * The alarms on the service's own metrics (@attestor/contracts/metrics) and API Gateway's, and the
   * dashboard that shows them (docs/OPERATIONS.md: what each means and what to do when it fires).
   */
  private watchService(props: AttestorStackProps): OperatorDashboard {
    const alarms = this.operatorAlarms;
    // Detailed metrics are on for the stage (AttestorApi), so the attest method has its own 5XXError; its average is the rate.
    const attest5xxRate = new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: '5XXError',
      dimensionsMap: { ApiName: this.api.restApi.restApiName, Stage: STAGE_NAME, Method: 'POST', Resource: '/v1/attest' },
      statistic: cloudwatch.Stats.AVERAGE,
      period: Duration.minutes(1),
      label: 'attest 5xx rate',
    });
    alarms.above(
      'Attest5xxRateAlarm',
      attest5xxRate,
      0.05,
      'More than 5 % of POST /v1/attest answered 5xx in 3 of the last 5 minutes: apps get no tokens (docs/OPERATIONS.md)',
    );
    alarms.spikeAboveBaseline(
      'DecoyRateSpikeAlarm',
      serviceMetrics.decoyShare(),
      'The share of attestations that got a decoy token rose above its usual band: a broken release, an unregistered build, or an attack',
    );
    alarms.spikeAboveBaseline(
      'AuthorizerDenySpikeAlarm',
      serviceMetrics.tokenVerdicts('denied'),
      'The authorizer denied more requests than its usual band: see the denials by reason on the dashboard',
    );
    alarms.above(
      'DependencyThrottlingAlarm',
      serviceMetrics.allDependencyUnavailable(),
      10,
      'DynamoDB, KMS, S3, SQS or Lambda refused or throttled more than 10 requests per 5 minutes (clients got 503 and retried)',
      2,
      3,
    );
    // The service's own calls with a key pending deletion are counted by the functions; a CloudTrail
    // trail, where given, adds every other caller's (a customer's verifier unwrapping a retired secret).
    const trail: Record<string, cloudwatch.IMetric> = props.cloudTrailLogGroup
      ? {
          trail: new logs.MetricFilter(this, 'KmsKeyPendingDeletionUse', {
            logGroup: props.cloudTrailLogGroup,
            // The pattern AWS documents for KMS keys pending deletion: a KMS call the key's state refused.
            filterPattern: logs.FilterPattern.literal('{ ($.eventSource = kms*) && ($.errorMessage = "* is pending deletion.") }'),
            metricNamespace: METRICS_NAMESPACE,
            metricName: KMS_PENDING_DELETION_METRIC,
            metricValue: '1',
            defaultValue: 0,
          }).metric({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) }),
        }
      : {};
    alarms.above(
      'KmsKeyPendingDeletionInUseAlarm',
      serviceMetrics.keyPendingDeletionUse(trail),
      0,
      'A KMS key scheduled for deletion is still being used: cancel the deletion (aws kms cancel-key-deletion) until the caller is found',
      1,
      1,
    );
    return new OperatorDashboard(this, 'OperatorDashboard', {
      attest5xxRate,
      alarms: alarms.alarms,
      ...(props.dashboardName !== undefined ? { dashboardName: props.dashboardName } : {}),
    });
  }

  /**
   * Refuses, at synth, any function of the stack whose environment names the local cloud's test-roots
   * variable, including one added after construction (fn.addEnvironment): a validation runs when the
   * app synthesizes, after every construct has had its say.
   */
  private refuseTestRoots(): void {
    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        for (const fn of this.node.findAll().filter((c): c is lambda.CfnFunction => c instanceof lambda.CfnFunction)) {
          const variables = (this.resolve(fn.environment) as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
          if (TEST_ROOTS_VARIABLE in variables) {
            errors.push(`${fn.node.path}: ${TEST_ROOTS_VARIABLE} is for the local cloud only; a deployment trusts the pinned Apple and Google roots alone`);
          }
        }
        return errors;
      },
    });
  }

  /**
   * One role per function, each granted exactly the calls its handler makes. Written out by hand
   * rather than with table.grant*() / bucket.grant*(), which grant whole families of actions.
   * (The authorizer's grants come from AttestationAuthorizer.)
   */
  private grantLeastPrivilege(): void {
    const { challenge, attest, register, revocationList } = this.functions;
    const noncesArn = this.tables.nonces.tableArn;
    const hardwareDevicesArn = this.tables.hardwareDevices.tableArn;
    const revocationListArn = this.buildsBucket.arnForObjects(REVOCATION_LIST_KEY);
    const registryArn = this.tables.registry.tableArn;
    const logArn = this.tables.attestationLog.tableArn;
    const buildObjectsArn = this.buildsBucket.arnForObjects(`${BUILDS_PREFIX}*`);
    const anyKeyArn = this.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    const tenantAliasArn = this.formatArn({ service: 'kms', resource: 'alias', resourceName: `${TENANT_KEY_ALIAS_PREFIX.slice('alias/'.length)}*` });
    const decoyKeyArn = this.decoyKey.keyArn;
    const leadingKeys = (...patterns: string[]) => ({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': patterns },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    // kms:ResourceAliases is multi-valued (a key has up to 50 aliases): ForAnyValue admits a key with
    // at least one tenant alias; a key with no alias at all never matches.
    const onTenantKeys = { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${TENANT_KEY_ALIAS_PREFIX}*` } };
    const onSecretsKeys = { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${TENANT_KEY_ALIAS_PREFIX}*/secrets` } };
    const p256Signing = { 'kms:KeySpec': 'ECC_NIST_P256', 'kms:KeyUsage': 'SIGN_VERIFY' };
    const symmetric = { 'kms:KeySpec': 'SYMMETRIC_DEFAULT', 'kms:KeyUsage': 'ENCRYPT_DECRYPT' };
    // A wrapped secret's context is exactly {tenant, secret}: a call with any other context is refused.
    const secretContext = {
      Null: { [`kms:EncryptionContext:${SECRET_CONTEXT_TENANT}`]: 'false' },
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [SECRET_CONTEXT_TENANT, SECRET_CONTEXT_SECRET] },
    };
    const allow = (role: iam.Role, statement: iam.PolicyStatementProps) => role.addToPolicy(new iam.PolicyStatement(statement));

    // challenge: stores nonces; nothing else.
    allow(challenge.role, { sid: 'PutNonces', actions: ['dynamodb:PutItem'], resources: [noncesArn] });

    // attest: consumes nonces, reads an app's partition (app, registrations, policy, devices) and the
    // tenant's key records, records its verdict, unwraps hs256 secrets and signs es256 tokens.
    allow(attest.role, { sid: 'ConsumeNonces', actions: ['dynamodb:DeleteItem'], resources: [noncesArn] });
    allow(attest.role, {
      sid: 'ReadAppPartitions',
      actions: ['dynamodb:Query'],
      resources: [registryArn],
      conditions: leadingKeys(`${APP_PARTITION_PREFIX}*`),
    });
    allow(attest.role, {
      sid: 'ListTenantKeys',
      actions: ['dynamodb:Query'],
      resources: [registryArn],
      conditions: leadingKeys(`${TENANT_KEYS_PARTITION_PREFIX}*`),
    });
    allow(attest.role, {
      sid: 'RecordAttestations',
      actions: ['dynamodb:PutItem'],
      resources: [logArn],
      conditions: leadingKeys(ATTESTATION_LOG_PARTITION_PATTERN),
    });
    // ...and adds each verdict (and each replayed nonce) to its counter items, which stats read.
    allow(attest.role, {
      sid: 'CountAttestations',
      actions: ['dynamodb:UpdateItem'],
      resources: [logArn],
      conditions: leadingKeys(`${COUNTS_PARTITION_PREFIX}*`),
    });
    allow(attest.role, {
      sid: 'SignWithTenantKeys',
      actions: ['kms:Sign'],
      resources: [anyKeyArn],
      conditions: { ...onTenantKeys, StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
    });
    allow(attest.role, { sid: 'UnwrapTenantSecrets', actions: ['kms:Decrypt'], resources: [anyKeyArn], conditions: { ...onSecretsKeys, ...secretContext } });
    // Hardware evidence (PROTOCOL.md §5.5): a device record read per attestation with evidence, a new
    // record created only if absent, an App Attest counter moved by compare-and-set; never deleted.
    allow(attest.role, {
      sid: 'HardwareDeviceRecords',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [hardwareDevicesArn],
    });
    // ...and the stored copy of Google's attestation status list (§5.6), that one object only.
    allow(attest.role, { sid: 'ReadRevocationList', actions: ['s3:GetObject'], resources: [revocationListArn] });
    allow(attest.role, {
      sid: 'SignWithDecoyKey',
      actions: ['kms:Sign'],
      resources: [decoyKeyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256' } },
    });

    // register: reads the uploaded build, records the registration, settles the upload, logs refusals.
    allow(register.role, {
      sid: 'RecordRegistrations',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [registryArn],
      conditions: leadingKeys(...REGISTER_PARTITION_PREFIXES.map((p) => `${p}*`)),
    });
    allow(register.role, {
      sid: 'RecordBuildRefusals',
      actions: ['dynamodb:PutItem'],
      resources: [logArn],
      conditions: leadingKeys(BUILD_LOG_PARTITION_PATTERN),
    });
    allow(register.role, { sid: 'ReadBuilds', actions: ['s3:GetObject'], resources: [buildObjectsArn] });

    // The admin functions: together they hold what the single admin function held; each only its
    // area's part (src/handlers/admin-*.ts).
    const { adminCatalog, adminKeys, adminUploads } = this.functions;
    // Each reads and writes only its partitions (ADMIN_REGISTRY_PARTITIONS); the reads are wider
    // than the writes by the principals every function resolves its caller through.
    const registryAccess = (name: AdminLambdaName, sids: { read: string; write: string }, writes: string[]) => {
      const { read, write } = ADMIN_REGISTRY_PARTITIONS[name];
      const role = this.functions[name].role;
      allow(role, { sid: sids.read, actions: ['dynamodb:GetItem', 'dynamodb:Query'], resources: [registryArn], conditions: leadingKeys(...read) });
      allow(role, { sid: sids.write, actions: writes, resources: [registryArn], conditions: leadingKeys(...write) });
    };
    // adminCatalog: apps, registrations, policies and devices (read, write, expire, delete); reads the log.
    registryAccess('adminCatalog', { read: 'ReadCatalog', write: 'ManageCatalog' }, ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
    allow(adminCatalog.role, { sid: 'ReadAttestationLog', actions: ['dynamodb:Query'], resources: [logArn] });
    // ...and the authorizer's TokenVerdicts metric (stats with include=authorizer). GetMetricData has no
    // resource type and no condition key (cloudwatch:namespace applies to PutMetricData only), so it is
    // Resource '*'; the adapter names the caller's Tenant dimension in every query (adapters/cloudwatch-authorizer-verdicts.ts).
    allow(adminCatalog.role, { sid: 'ReadAuthorizerVerdicts', actions: ['cloudwatch:GetMetricData'], resources: ['*'] });
    // adminKeys: tenants, principals, app creation, key records (written and retired, never deleted).
    registryAccess('adminKeys', { read: 'ReadTenants', write: 'ManageTenants' }, ['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // ...and deletes two kinds of item: the record of a tenant whose creation failed before any
    // principal was mapped (core/admin/tenants.ts undoTenant), so the operator's retry creates it at
    // once; and a revoked principal's mapping and index entry. Never key records (KEYS#) or apps.
    allow(adminKeys.role, {
      sid: 'UndoTenantsRevokePrincipals',
      actions: ['dynamodb:DeleteItem'],
      resources: [registryArn],
      conditions: leadingKeys(PARTITIONS.tenantList, PARTITIONS.principal, PARTITIONS.tenant),
    });
    // adminUploads: upload records, the app an upload creates, the first key record of its tenant.
    registryAccess('adminUploads', { read: 'ReadUploads', write: 'ManageUploads' }, ['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    // Presigned URLs carry the signer's permissions: the uploads role may write builds and nothing
    // else. s3:PutObject authorizes PutObject and the multipart calls (create, upload part, complete).
    allow(adminUploads.role, { sid: 'PresignBuildUploads', actions: ['s3:PutObject'], resources: [buildObjectsArn] });

    // Tenant keys: created by the functions whose routes may need a tenant's first key.
    const tenantTagRequest = {
      Null: { [`aws:RequestTag/${TENANT_TAG_KEY}`]: 'false' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [...TENANT_KEY_TAG_KEYS] },
    };
    for (const name of KEY_CREATING_LAMBDAS) {
      const role = this.functions[name].role;
      allow(role, {
        sid: 'CreateTenantKeys',
        actions: ['kms:CreateKey'],
        resources: ['*'], // CreateKey has no resource; the conditions are the scope.
        conditions: { ...tenantTagRequest, StringEquals: p256Signing },
      });
      // Tagging in CreateKey is authorized as kms:TagResource and must cover every key of the account
      // and Region; the conditions limit it to the tenant tag.
      allow(role, { sid: 'TagTenantKeys', actions: ['kms:TagResource'], resources: [anyKeyArn], conditions: tenantTagRequest });
      // CreateAlias is authorized on the alias and on the key. Key side: only P-256 signing keys, only
      // tenant alias names. (kms:KeySpec/KeyUsage, not tags or aliases: those take up to five minutes to
      // count for authorization, and the alias is made right after CreateKey.)
      allow(role, { sid: 'CreateTenantAliases', actions: ['kms:CreateAlias'], resources: [tenantAliasArn] });
      allow(role, {
        sid: 'AliasTenantKeys',
        actions: ['kms:CreateAlias'],
        resources: [anyKeyArn],
        conditions: { StringLike: { 'kms:AliasName': `${TENANT_KEY_ALIAS_PREFIX}*` }, StringEquals: p256Signing },
      });
      // Public keys for the JWKS and for the kid of a key just created; DescribeKey resolves the
      // alias a racing container claimed first (see src/adapters/kms-tenant-keys.ts).
      allow(role, {
        sid: 'ReadSigningKeys',
        actions: ['kms:GetPublicKey', 'kms:DescribeKey'],
        resources: [anyKeyArn],
        conditions: { StringEquals: p256Signing },
      });
      // hs256: each tenant's secrets key (created once, with yearly rotation of its material) and the
      // wrapped secrets made under it, which these roles never see in plaintext (NeverDecrypt below).
      allow(role, {
        sid: 'CreateSecretsKeys',
        actions: ['kms:CreateKey'],
        resources: ['*'],
        conditions: { ...tenantTagRequest, StringEquals: symmetric },
      });
      allow(role, {
        sid: 'SetUpSecretsKeys',
        actions: ['kms:DescribeKey', 'kms:EnableKeyRotation'],
        resources: [anyKeyArn],
        conditions: { StringEquals: symmetric },
      });
      allow(role, {
        sid: 'AliasSecretsKeys',
        actions: ['kms:CreateAlias'],
        resources: [anyKeyArn],
        conditions: { StringLike: { 'kms:AliasName': `${TENANT_KEY_ALIAS_PREFIX}*/secrets` }, StringEquals: symmetric },
      });
      allow(role, {
        sid: 'WrapNewSecrets',
        actions: ['kms:GenerateDataKeyWithoutPlaintext'],
        resources: [anyKeyArn],
        conditions: { ...onSecretsKeys, ...secretContext },
      });
      // ScheduleKeyDeletion (discarding a key that lost the first-key race) is granted by the new
      // key's own policy, which names the creating role: see nameTenantKeyPolicyRoles.

      // ...but never the decoy: its public key would tell decoy tokens apart, and a tenant alias on it
      // would let it verify as a tenant key.
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'KeepOffDecoyKey',
          effect: iam.Effect.DENY,
          actions: ['kms:GetPublicKey', 'kms:DescribeKey', 'kms:CreateAlias', 'kms:TagResource', 'kms:ScheduleKeyDeletion', 'kms:EnableKeyRotation'],
          resources: [decoyKeyArn],
        }),
      );
    }
    // adminKeys rotates keys, and each rotation schedules the deletion of keys that have retired
    // (src/adapters/kms-tenant-keys.ts): only keys with a tenant alias (the decoy is denied above),
    // only with KMS's longest pending window, so an account administrator has a month to cancel.
    allow(adminKeys.role, {
      sid: 'DeleteRetiredTenantKeys',
      actions: ['kms:ScheduleKeyDeletion'],
      resources: [anyKeyArn],
      conditions: {
        ...onTenantKeys,
        StringEquals: p256Signing,
        NumericEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': RETIRED_KEY_DELETION_WINDOW_DAYS },
      },
    });
    // Test tokens (PROTOCOL.md §5.7): adminKeys makes each tenant's test secret (wrapped, under the
    // test purpose), unwraps it to mint, and records each mint in the attestation log's test-token
    // bucket. Its Decrypt needs the test purpose in the context, which no production secret's has.
    const testContext = { StringEquals: { [`kms:EncryptionContext:${SECRET_CONTEXT_PURPOSE}`]: TEST_SECRET_PURPOSE } };
    allow(adminKeys.role, {
      sid: 'WrapNewTestSecrets',
      actions: ['kms:GenerateDataKeyWithoutPlaintext'],
      resources: [anyKeyArn],
      conditions: { ...onSecretsKeys, ...testContext },
    });
    allow(adminKeys.role, { sid: 'UnwrapTestSecrets', actions: ['kms:Decrypt'], resources: [anyKeyArn], conditions: { ...onSecretsKeys, ...testContext } });
    allow(adminKeys.role, {
      sid: 'RecordTestTokenMints',
      actions: ['dynamodb:PutItem'],
      resources: [logArn],
      conditions: leadingKeys(TEST_TOKEN_LOG_PARTITION_PATTERN),
    });
    // Every admin function: an explicit deny in its own identity policy outranks any allow a key
    // policy could give it (the key creators write those policies): whatever is written, admin cannot sign.
    // Likewise they never unwrap a production secret: hs256 secrets exist in plaintext only where tokens
    // are minted and verified. The deny spares only a context naming the test purpose (adminKeys' test
    // secrets, above); a missing member counts as not equal, so every production context is denied.
    for (const name of ADMIN_LAMBDAS) {
      this.functions[name].role.addToPolicy(new iam.PolicyStatement({ sid: 'NeverSign', effect: iam.Effect.DENY, actions: ['kms:Sign'], resources: ['*'] }));
      this.functions[name].role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'NeverUnwrap',
          effect: iam.Effect.DENY,
          actions: ['kms:GenerateDataKey', 'kms:ReEncryptFrom'],
          resources: ['*'],
        }),
      );
      this.functions[name].role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'NeverUnwrapProductionSecrets',
          effect: iam.Effect.DENY,
          actions: ['kms:Decrypt'],
          resources: ['*'],
          ...(name === 'adminKeys' ? { conditions: { StringNotEquals: { [`kms:EncryptionContext:${SECRET_CONTEXT_PURPOSE}`]: TEST_SECRET_PURPOSE } } } : {}),
        }),
      );
    }

    // revocationList: writes its one object (it reads the list from Google, not from S3).
    allow(revocationList.role, { sid: 'StoreRevocationList', actions: ['s3:PutObject'], resources: [revocationListArn] });

    // demoHello: nothing beyond its own logs.
  }
}

function mapValues<K extends string, V, W>(record: Record<K, V>, f: (value: V) => W): Record<K, W> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v as V)])) as Record<K, W>;
}

function isAdminFunction(name: LambdaName): name is AdminLambdaName {
  return (ADMIN_LAMBDAS as readonly string[]).includes(name);
}

/** Construct id of a function: 'demoHello' → 'DemoHello'. */
export function fnId(name: LambdaName): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
