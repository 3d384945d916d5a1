/**
 * AttestationAuthorizer: the REQUEST authorizer that lets in only requests carrying a valid
 * Attestor token, packaged so that a customer adds it to their own RestApi in a few lines:
 *
 * ```ts
 * const attestation = new AttestationAuthorizer(this, 'Attestation', {
 *   keySource: AttestationKeySource.remote({ apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/',
 *     stageArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc/prod' }),
 *   tenantId: 'acme',
 * });
 * api.root.addResource('orders').addMethod('GET', integration, attestation.methodOptions());
 * ```
 *
 * The Lambda (lambdas/authorizer.ts) reads the environment contract of docs/ENFORCEMENT.md
 * (AUTHORIZER_CONFIG in @attestor/contracts/config); this construct writes it for AWS, after the
 * function's own check of the settings (checkAuthorizerConfig), so it refuses at synth what the
 * function would refuse at cold start, in the same words.
 *
 * Identity sources (API Gateway's cache key, and what it checks before calling the authorizer):
 * - enforce, no caching: the token header. A request without it gets API Gateway's 401 without a
 *   Lambda invocation, so scripts that send nothing cost nothing.
 * - monitor: none. With a header identity source API Gateway would answer 401 itself when the
 *   header is missing, and monitor mode exists precisely to let those requests through and count
 *   them. (API Gateway allows a REQUEST authorizer without identity sources only when caching is
 *   off, which is one reason monitor mode and caching conflict.)
 * - enforce with caching: the token header, plus the binding header when binding is required,
 *   because API Gateway caches a verdict per identity-source values: without the binding header
 *   in the key, a token bound to one Authorization value would be let in with any other.
 */
import { ArnFormat, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REGISTRY_PARTITIONS } from '@attestor/contracts/tables';
import { SECRET_CONTEXT_TENANT } from '@attestor/contracts/admin-api';
import { SECRET_CONTEXT_PURPOSE, TEST_SECRET_PURPOSE } from '@attestor/contracts/test-tokens';
import {
  AUTHORIZER_CONFIG,
  checkAuthorizerConfig,
  ConfigurationError,
  CONFIG_DEFAULTS,
  requiredHardwareKinds,
  type AuthorizerConfig,
  type AuthorizerKeySource,
} from '@attestor/contracts/config';
import type { HardwareRequirement } from '@attestor/contracts/hardware-requirement';
import { STAGE_NAME, VERIFIER_KEY_PATHS, VERIFIER_TEST_KEY_PATHS } from './attestor-api';
import { acknowledgeAttestationAuthorizer } from './nag-acknowledgements';
import { ServiceFunction } from './service-function';
import { tokenLedgerTable } from './service-tables';

/** Registry partition keys of tenant signing-key records, which share their partitions with nothing else. */
export const TENANT_KEYS_PARTITION_PREFIX = REGISTRY_PARTITIONS.tenantKeys;
/** Alias prefix of tenant signing keys, the function's default (CONFIG_DEFAULTS.tenantKeyAliasPrefix). */
export const DEFAULT_TENANT_KEY_ALIAS_PREFIX = CONFIG_DEFAULTS.tenantKeyAliasPrefix;

/** enforce: deny what fails. monitor: allow everything, record what enforcing would have denied. */
export type AttestationAuthorizerMode = 'enforce' | 'monitor';

/** Options of {@link AttestationKeySource.kms}. */
export interface KmsKeySourceOptions {
  /** The Attestor registry table, where the tenant's key records (KEYS#<tenant> / KEY#<kid>) live. */
  readonly registryTable: dynamodb.ITable;
  /**
   * Alias prefix of tenant keys: the authorizer may read the public key of any KMS key with an alias
   * under it, and unwrap its tenant's secrets with the key aliased `<prefix><tenant>/secrets`.
   * @default 'alias/attestor/tenant/'
   */
  readonly tenantKeyAliasPrefix?: string;
}

/** Options of {@link AttestationKeySource.remote}. */
export interface RemoteKeySourceOptions {
  /** https base URL of the Attestor API, stage included (its `ApiUrl` output). */
  readonly apiUrl: string;
  /**
   * execute-api ARN of the Attestor API's stage (its `ApiStageArn` output,
   * `arn:aws:execute-api:<region>:<account>:<api id>/<stage>`): the authorizer's role may invoke the
   * JWKS and secrets routes under it, which use IAM authorization, and unwrap its tenant's secrets with
   * KMS keys of that account and Region. The tenant's secrets key must allow this role kms:Decrypt
   * (same account: IAM suffices; another account: add the role to the key policy, docs/DEPLOY.md).
   */
  readonly stageArn: string;
}

/** What the key source tells the function (its settings, which AUTHORIZER_CONFIG writes), once it has granted the role what they need. */
export interface KeySourceBinding {
  readonly keySource: AuthorizerKeySource;
}

/** Encryption-context condition that limits kms:Decrypt to one tenant's wrapped secrets. */
function unwrapsOnly(tenantId: string): Record<string, Record<string, string>> {
  return { StringEquals: { [`kms:EncryptionContext:${SECRET_CONTEXT_TENANT}`]: tenantId } };
}

/**
 * An explicit deny of kms:Decrypt under any encryption context that does not name `tenantId` (or
 * under none). An allow elsewhere cannot lift it: not a key policy that names the role for every
 * tenant's secrets key (the Attestor stack names its demo authorizer in TENANT_KEY_VERIFIER_ROLE_ARNS,
 * and a same-account key policy grant needs no IAM allow), nor a broader IAM statement added later.
 */
function unwrapsNoOtherTenant(tenantId: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'UnwrapNoOtherTenantsSecrets',
    effect: iam.Effect.DENY,
    actions: ['kms:Decrypt'],
    resources: ['*'],
    conditions: { StringNotEquals: { [`kms:EncryptionContext:${SECRET_CONTEXT_TENANT}`]: tenantId } },
  });
}

/** Where the authorizer gets the tenant's public keys from. */
export abstract class AttestationKeySource {
  /**
   * The tenant's key records in the Attestor registry, unwrapped (hs256 secrets) or read (es256
   * public keys) with KMS: for an API in the Attestor's own account and Region. (A key created in
   * the last five minutes may not be usable yet through an alias condition; see docs/DEPLOY.md.)
   */
  static kms(options: KmsKeySourceOptions): AttestationKeySource {
    return new KmsKeySource(options);
  }

  /**
   * The Attestor's admin routes over HTTPS (JWKS and wrapped secrets), signed with the authorizer
   * role's credentials; the secrets are unwrapped with KMS Decrypt by that role.
   */
  static remote(options: RemoteKeySourceOptions): AttestationKeySource {
    return new RemoteKeySource(options);
  }

  /** The admin routes of an Attestor RestApi defined in the same CDK app. */
  static remoteOf(api: apigw.RestApi, stageName = STAGE_NAME): AttestationKeySource {
    const stack = Stack.of(api);
    const stageArn = stack.formatArn({ service: 'execute-api', resource: api.restApiId, resourceName: stageName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    return new RemoteKeySource({ apiUrl: api.urlForPath('/'), stageArn }, stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' }));
  }

  /** Which kind of source this is (the function's KEY_SOURCE). */
  abstract readonly kind: 'kms' | 'remote';

  /**
   * Grants the role what fetching its tenant's keys needs (and its test secrets', with
   * `acceptTestTokens`) and returns the settings that select this source.
   */
  abstract bind(role: iam.IRole, tenantId: string, options?: { readonly acceptTestTokens?: boolean }): KeySourceBinding;
}

class KmsKeySource extends AttestationKeySource {
  readonly kind = 'kms' as const;
  constructor(private readonly options: KmsKeySourceOptions) {
    super();
  }

  bind(role: iam.IRole, tenantId: string): KeySourceBinding {
    const prefix = this.options.tenantKeyAliasPrefix ?? DEFAULT_TENANT_KEY_ALIAS_PREFIX;
    // Keys of the account and Region the authorizer runs in.
    const stack = Stack.of(role);
    const anyKey = stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListTenantKeys',
        actions: ['dynamodb:Query'],
        resources: [this.options.registryTable.tableArn],
        // Only its own tenant's key-record partition: never apps, registrations, principals or other tenants' keys.
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`${TENANT_KEYS_PARTITION_PREFIX}${tenantId}`] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UnwrapTenantSecrets',
        actions: ['kms:Decrypt'],
        resources: [anyKey],
        conditions: { ...unwrapsOnly(tenantId), 'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${prefix}${tenantId}/secrets` } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTenantPublicKeys',
        actions: ['kms:GetPublicKey'],
        resources: [anyKey],
        // kms:ResourceAliases is multi-valued: ForAnyValue admits a key with at least one tenant alias.
        conditions: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${prefix}*` } },
      }),
    );
    // The decoy key is the service's default: this function only verifies, and never signs a decoy.
    const registryTable = this.options.registryTable.tableName;
    return { keySource: { kind: 'kms', registryTable, tenantKeyAliasPrefix: prefix, decoyKeyId: CONFIG_DEFAULTS.decoyKeyId } };
  }
}

class RemoteKeySource extends AttestationKeySource {
  readonly kind = 'remote' as const;
  /** ARN pattern of the Attestor's KMS keys (its account and Region), whose tenant secrets the authorizer unwraps. */
  readonly kmsKeys: string;

  constructor(
    private readonly options: RemoteKeySourceOptions,
    kmsKeys?: string,
  ) {
    super();
    if (!Token.isUnresolved(options.apiUrl) && !/^https:\/\/[^/?#]+(\/[^?#]*)?$/.test(options.apiUrl)) {
      throw new Error(`AttestationKeySource.remote: apiUrl must be an https URL without query or fragment, got "${options.apiUrl}"`);
    }
    if (!Token.isUnresolved(options.stageArn) && !/^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+\/[^/*]+$/.test(options.stageArn)) {
      throw new Error(`AttestationKeySource.remote: stageArn must be arn:aws:execute-api:<region>:<account>:<api id>/<stage>, got "${options.stageArn}"`);
    }
    this.kmsKeys = kmsKeys ?? kmsKeysOf(options.stageArn);
  }

  bind(role: iam.IRole, tenantId: string, options: { readonly acceptTestTokens?: boolean } = {}): KeySourceBinding {
    const { stageArn } = this.options;
    // The test secrets' route only for an authorizer that accepts test tokens (its Decrypt below covers
    // them; the construct denies every other authorizer their context).
    const paths = [...VERIFIER_KEY_PATHS, ...(options.acceptTestTokens === true ? VERIFIER_TEST_KEY_PATHS : [])];
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FetchAttestorKeys',
        actions: ['execute-api:Invoke'],
        resources: paths.map((path) => `${stageArn}/GET${path}`),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'UnwrapTenantSecrets', actions: ['kms:Decrypt'], resources: [this.kmsKeys], conditions: unwrapsOnly(tenantId) }),
    );
    return { keySource: { kind: 'remote', apiUrl: this.options.apiUrl } };
  }
}

/** The Attestor's KMS keys live in the account and Region of its API: `arn:<partition>:kms:<region>:<account>:key/*`. */
function kmsKeysOf(stageArn: string): string {
  if (!Token.isUnresolved(stageArn)) {
    const [, partition, , region, account] = stageArn.split(':');
    return `arn:${partition}:kms:${region}:${account}:key/*`;
  }
  const part = (i: number) => Fn.select(i, Fn.split(':', stageArn));
  return Fn.join(':', ['arn', part(1), 'kms', part(3), part(4), 'key/*']);
}

export interface AttestationAuthorizerProps {
  /** Where the tenant's keys (hs256 secrets, es256 public keys) come from. */
  readonly keySource: AttestationKeySource;
  /**
   * `iss` the tokens must carry: the Attestor deployment's issuer.
   * @default 'attestor'
   */
  readonly issuer?: string;
  /**
   * The tenant whose tokens are let in: the tenant whose secrets verify them (hs256), or whose id is
   * their `aud` (es256).
   * @default 'default'
   */
  readonly tenantId?: string;
  /**
   * Header that carries the token.
   * @default 'Attestor-Token'
   */
  readonly headerName?: string;
  /**
   * `enforce` denies every request without a valid token; `monitor` lets every request through and
   * records (logs and CloudWatch metrics) what enforcing would have denied, to roll out safely.
   * @default 'enforce'
   */
  readonly mode?: AttestationAuthorizerMode;
  /**
   * Require tokens bound to the request (PROTOCOL.md §5.2: `pay` equals the SHA-256 of the binding
   * header's value).
   * @default false
   */
  readonly requireBinding?: boolean;
  /**
   * The header tokens are bound to. Only with `requireBinding`.
   * @default 'Authorization'
   */
  readonly bindingHeader?: string;
  /**
   * Require single-use tokens (`lut`) and accept each at most once, through the token ledger.
   * @default false
   */
  readonly limitedUse?: boolean;
  /**
   * Require a fresh proof of possession of the install key with every request (`Attestor-Proof`,
   * docs/ENFORCEMENT.md).
   * @default false
   */
  readonly requireProof?: boolean;
  /**
   * Require tokens that rest on hardware evidence the Attestor service verified (their `hw` claim,
   * PROTOCOL.md §5.5): `true` accepts App Attest and Android key attestation alike, a list only the
   * kinds named (`['app-attest']`). Other tokens are denied with code `hardware_missing`. The
   * function gets it as REQUIRE_HARDWARE; an empty list or an unknown kind is rejected at synth.
   * @default false
   */
  readonly requireHardware?: HardwareRequirement;
  /**
   * External base URL of the API (stage or base path included) that proofs' `htu` must start with.
   * Only with `requireProof`.
   * @default derived from each request's Host header and path
   */
  readonly publicBaseUrl?: string;
  /**
   * Table of consumed token ids and proof jtis. Only with `limitedUse` or `requireProof`; the
   * authorizer may only PutItem into it.
   * @default a table created here when `limitedUse` or `requireProof` is on
   */
  readonly tokenLedger?: dynamodb.ITable;
  /**
   * How long API Gateway caches a verdict per identity-source values. Caching saves an authorizer
   * invocation per repeated token, but a cached Allow outlives the token's `exp` by up to this long,
   * cannot honour single use or per-request proofs, and cannot run in monitor mode; those
   * combinations are rejected at synth. The function gets the TTL as AUTHORIZER_CACHE_TTL_SECONDS
   * and, above 0, returns an Allow for the whole stage, since API Gateway reuses a cached policy
   * across methods.
   * @default Duration.seconds(0): every request is verified
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * Let test tokens in (`attestor token mint`, PROTOCOL.md §5.7), verified with the tenant's test
   * secrets: for an API that a backend's CI calls, never a production API. Off, every test token is
   * denied (`test_token`) and the role may not unwrap a test secret. With `AttestationKeySource.remote`
   * the role may then also invoke GET /v1/admin/tokens/test/secrets. The function gets it as ACCEPT_TEST_TOKENS.
   * @default false
   */
  readonly acceptTestTokens?: boolean;
  /**
   * Retention of the authorizer function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Name of the authorizer in API Gateway.
   * @default 'attestation-token'
   */
  readonly authorizerName?: string;
}

/** Everything a REQUEST authorizer for Attestor tokens needs: function, role, table, authorizer. */
export class AttestationAuthorizer extends Construct {
  /** The API Gateway authorizer: pass it (or {@link methodOptions}) to `addMethod`. */
  readonly authorizer: apigw.RequestAuthorizer;
  /** The authorizer function, its role and its log group. */
  readonly service: ServiceFunction;
  /** The token ledger, when `limitedUse` or `requireProof` is on. */
  readonly tokenLedger?: dynamodb.ITable;
  /** The function's settings (AUTHORIZER_CONFIG in @attestor/contracts/config), checked as the function checks them. */
  readonly config: AuthorizerConfig;
  /** The environment the function reads (docs/ENFORCEMENT.md), as deployed: AUTHORIZER_CONFIG.toEnv(config). */
  readonly environment: Readonly<Record<string, string>>;
  /** The identity sources API Gateway checks and caches by; empty in monitor mode. */
  readonly identitySources: readonly string[];
  /** Where the function gets the tenant's keys from. */
  readonly keySourceKind: 'kms' | 'remote';
  /** The key source, for what its grants need acknowledged (nag-acknowledgements.ts). */
  readonly keySource: AttestationKeySource;

  constructor(scope: Construct, id: string, props: AttestationAuthorizerProps) {
    super(scope, id);
    this.keySourceKind = props.keySource.kind;
    this.keySource = props.keySource;

    let ledger = props.tokenLedger;
    if (!ledger && (props.limitedUse || props.requireProof)) ledger = tokenLedgerTable(this, 'TokenLedger');
    if (ledger) this.tokenLedger = ledger;

    // The role exists before the settings are complete, so that the key source can grant on it.
    this.service = new ServiceFunction(this, 'AuthorizerFunction', {
      name: 'authorizer',
      environment: {}, // set below, once the key source has said which it is
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    const tenantId = props.tenantId ?? CONFIG_DEFAULTS.defaultTenantId;
    const binding = props.keySource.bind(this.service.role, tenantId, { acceptTestTokens: props.acceptTestTokens === true });
    const config = checkedConfig(props, binding.keySource, ledger);
    this.config = config;
    // Whatever the key source, an authorizer unwraps its own tenant's secrets only.
    this.service.role.addToPrincipalPolicy(unwrapsNoOtherTenant(config.tenantId));
    // ...and its test secrets only when it accepts test tokens (the key source's Decrypt, limited to
    // the tenant's context, covers them); otherwise an explicit deny, whatever a key policy says.
    if (config.acceptTestTokens !== true) {
      this.service.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'NeverUnwrapTestSecrets',
          effect: iam.Effect.DENY,
          actions: ['kms:Decrypt'],
          resources: ['*'],
          conditions: { StringEquals: { [`kms:EncryptionContext:${SECRET_CONTEXT_PURPOSE}`]: TEST_SECRET_PURPOSE } },
        }),
      );
    }
    this.environment = AUTHORIZER_CONFIG.toEnv(config);
    for (const [name, value] of Object.entries(this.environment)) this.service.fn.addEnvironment(name, value);

    if (ledger) {
      // PutItem only: the ledger's conditional put (attribute_not_exists) is the whole protocol;
      // without GetItem, DeleteItem or UpdateItem the authorizer cannot read or undo a consumption.
      this.service.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ConsumeTokenIds', actions: ['dynamodb:PutItem'], resources: [ledger.tableArn] }));
    }

    const { cacheSeconds, tokenHeader } = config;
    const bindingHeader = config.bindingHeader ?? CONFIG_DEFAULTS.bindingHeader;
    const identitySources =
      config.mode === 'monitor'
        ? []
        : [apigw.IdentitySource.header(tokenHeader), ...(cacheSeconds > 0 && config.requireBinding ? [apigw.IdentitySource.header(bindingHeader)] : [])];
    this.identitySources = identitySources;
    this.authorizer = new apigw.RequestAuthorizer(this, 'Authorizer', {
      authorizerName: props.authorizerName ?? 'attestation-token',
      handler: this.service.fn,
      // CDK requires at least one identity source whenever resultsCacheTtl is set (even to 0); for
      // monitor mode the property is removed below.
      identitySources: identitySources.length > 0 ? identitySources : [apigw.IdentitySource.header(tokenHeader)],
      resultsCacheTtl: Duration.seconds(cacheSeconds),
    });
    if (identitySources.length === 0) {
      (this.authorizer.node.defaultChild as apigw.CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');
    }

    acknowledgeAttestationAuthorizer(this);
  }

  /** Method options that put this authorizer in front of a method. */
  methodOptions(): apigw.MethodOptions {
    return { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer: this.authorizer };
  }
}

/**
 * The function's settings from the props, defaults applied, refused as the function would refuse
 * them at cold start (checkAuthorizerConfig) and in its words, after the construct's name.
 */
function checkedConfig(props: AttestationAuthorizerProps, keySource: AuthorizerKeySource, ledger: dynamodb.ITable | undefined): AuthorizerConfig {
  const requireBinding = props.requireBinding ?? false;
  const requireHardware = requiredHardwareKinds(props.requireHardware);
  const config: AuthorizerConfig = {
    issuer: props.issuer ?? CONFIG_DEFAULTS.issuer,
    tenantId: props.tenantId ?? CONFIG_DEFAULTS.defaultTenantId,
    mode: props.mode ?? CONFIG_DEFAULTS.authorizerMode,
    tokenHeader: props.headerName ?? CONFIG_DEFAULTS.tokenHeader,
    requireBinding,
    // With binding on, the header is written even at its default, as this construct always has.
    ...(props.bindingHeader !== undefined || requireBinding ? { bindingHeader: props.bindingHeader ?? CONFIG_DEFAULTS.bindingHeader } : {}),
    limitedUse: props.limitedUse ?? false,
    requireProof: props.requireProof ?? false,
    ...(requireHardware !== undefined ? { requireHardware } : {}),
    ...(ledger ? { tokenLedgerTable: ledger.tableName } : {}),
    keySource,
    ...(props.publicBaseUrl !== undefined ? { publicBaseUrl: props.publicBaseUrl } : {}),
    cacheSeconds: props.resultsCacheTtl?.toSeconds() ?? CONFIG_DEFAULTS.cacheSeconds,
    ...(props.acceptTestTokens === true ? { acceptTestTokens: true } : {}),
  };
  try {
    // A token (a table name, an API URL) is checked by the function, which sees its value.
    checkAuthorizerConfig(config, { isUnresolved: (value) => Token.isUnresolved(value) });
  } catch (error) {
    if (error instanceof ConfigurationError) throw new Error(`AttestationAuthorizer: ${error.message}`);
    throw error;
  }
  return config;
}
