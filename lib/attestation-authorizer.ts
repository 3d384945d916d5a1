/**
 * AttestationAuthorizer: the REQUEST authorizer that lets in only requests carrying a valid
 * Attestor token, packaged so that a customer adds it to their own RestApi in a few lines:
 *
 * ```ts
 * const attestation = new AttestationAuthorizer(this, 'Attestation', {
 *   keySource: AttestationKeySource.jwks({ url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/admin/keys/jwks',
 *     executeApiArn: 'arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/v1/admin/keys/jwks' }),
 * });
 * api.root.addResource('orders').addMethod('GET', integration, attestation.methodOptions());
 * ```
 *
 * The Lambda (lambdas/authorizer.ts) reads the environment contract of docs/ENFORCEMENT.md; this
 * construct is the one place that writes it for AWS.
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
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { REGISTRY_PARTITIONS } from '../src/adapters/tables';
import { PROOF_HEADER_NAME } from '../src/core/proof';
import { LAMBDAS, TOKEN_HEADER_NAME } from '../src/routes';
import { JWKS_PATH } from './attestor-api';
import { acknowledgeAttestationAuthorizer } from './nag-acknowledgements';
import { ServiceFunction } from './service-function';
import { tokenLedgerTable } from './service-tables';

/** Registry partition keys of tenant signing-key records, which share their partitions with nothing else. */
export const TENANT_KEYS_PARTITION_PREFIX = REGISTRY_PARTITIONS.tenantKeys;
/** Alias prefix of tenant signing keys (DEFAULTS.tenantKeyAliasPrefix in src/adapters/environment.ts). */
export const DEFAULT_TENANT_KEY_ALIAS_PREFIX = 'alias/attestor/tenant/';
/** A cached Allow outlives its token by up to the TTL: held to the shortest token lifetime (60 s). */
const MAX_CACHE_SECONDS = 60;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** enforce: deny what fails. monitor: allow everything, record what enforcing would have denied. */
export type AttestationAuthorizerMode = 'enforce' | 'monitor';

/** Options of {@link AttestationKeySource.kms}. */
export interface KmsKeySourceOptions {
  /** The Attestor registry table, where the tenant's key records (KEYS#<tenant> / KEY#<kid>) live. */
  readonly registryTable: dynamodb.ITable;
  /**
   * Alias prefix of tenant signing keys: the authorizer may read the public key of any KMS key with
   * an alias under it.
   * @default 'alias/attestor/tenant/'
   */
  readonly tenantKeyAliasPrefix?: string;
}

/** Options of {@link AttestationKeySource.jwks}. */
export interface JwksKeySourceOptions {
  /** https URL of the Attestor JWKS route (`<ApiUrl>v1/admin/keys/jwks`). */
  readonly url: string;
  /**
   * execute-api ARN of that route, which the authorizer's role is allowed to invoke: the route uses
   * IAM authorization and the authorizer signs its fetch with SigV4 using its own role.
   * `RestApi.arnForExecuteApi('GET', '/v1/admin/keys/jwks', 'prod')` gives it.
   */
  readonly executeApiArn: string;
}

/** What the key source needs from the function: its environment, and grants on its role. */
export interface KeySourceBinding {
  readonly environment: Readonly<Record<string, string>>;
}

/** Where the authorizer gets the tenant's public keys from. */
export abstract class AttestationKeySource {
  /**
   * The tenant's key records in the Attestor registry and their public keys from KMS: for an API in
   * the Attestor's own account and Region. (A key created in the last five minutes may not be usable
   * yet through an alias condition; see docs/DEPLOY.md.)
   */
  static kms(options: KmsKeySourceOptions): AttestationKeySource {
    return new KmsKeySource(options);
  }

  /** The Attestor's JWKS route over HTTPS, signed with the authorizer role's credentials. */
  static jwks(options: JwksKeySourceOptions): AttestationKeySource {
    return new JwksKeySource(options);
  }

  /** The JWKS route of an Attestor RestApi defined in the same CDK app (stage `prod` by default). */
  static jwksOf(api: apigw.RestApi, stageName = api.deploymentStage.stageName): AttestationKeySource {
    return new JwksKeySource({ url: api.urlForPath(JWKS_PATH), executeApiArn: api.arnForExecuteApi('GET', JWKS_PATH, stageName) });
  }

  /** Which kind of source this is (the function's KEY_SOURCE). */
  abstract readonly kind: 'kms' | 'jwks';

  /** Grants the role what fetching keys needs and returns the environment that selects this source. */
  abstract bind(role: iam.IRole): KeySourceBinding;
}

class KmsKeySource extends AttestationKeySource {
  readonly kind = 'kms' as const;
  constructor(private readonly options: KmsKeySourceOptions) {
    super();
  }

  bind(role: iam.IRole): KeySourceBinding {
    const prefix = this.options.tenantKeyAliasPrefix ?? DEFAULT_TENANT_KEY_ALIAS_PREFIX;
    // Keys of the account and Region the authorizer runs in.
    const stack = Stack.of(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListTenantKeys',
        actions: ['dynamodb:Query'],
        resources: [this.options.registryTable.tableArn],
        // Only the key-record partitions: never apps, registrations, tenants or principals.
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${TENANT_KEYS_PARTITION_PREFIX}*`] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTenantPublicKeys',
        actions: ['kms:GetPublicKey'],
        resources: [stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
        // kms:ResourceAliases is multi-valued: ForAnyValue admits a key with at least one tenant alias.
        conditions: { 'ForAnyValue:StringLike': { 'kms:ResourceAliases': `${prefix}*` } },
      }),
    );
    return {
      environment: {
        KEY_SOURCE: 'kms',
        REGISTRY_TABLE: this.options.registryTable.tableName,
        ...(prefix !== DEFAULT_TENANT_KEY_ALIAS_PREFIX ? { TENANT_KEY_ALIAS_PREFIX: prefix } : {}),
      },
    };
  }
}

class JwksKeySource extends AttestationKeySource {
  readonly kind = 'jwks' as const;
  constructor(private readonly options: JwksKeySourceOptions) {
    super();
    if (!Token.isUnresolved(options.url) && !/^https:\/\/[^/?#]+\/\S*$/.test(options.url)) {
      throw new Error(`AttestationKeySource.jwks: url must be an https URL, got "${options.url}"`);
    }
  }

  bind(role: iam.IRole): KeySourceBinding {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'FetchAttestorJwks', actions: ['execute-api:Invoke'], resources: [this.options.executeApiArn] }),
    );
    return { environment: { KEY_SOURCE: 'jwks', JWKS_URL: this.options.url } };
  }
}

export interface AttestationAuthorizerProps {
  /** Where the tenant's public keys come from. */
  readonly keySource: AttestationKeySource;
  /**
   * `iss` the tokens must carry: the Attestor deployment's issuer.
   * @default 'attestor'
   */
  readonly issuer?: string;
  /**
   * The tenant whose tokens are let in (`aud`).
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
  /** The environment the function reads (docs/ENFORCEMENT.md), as deployed. */
  readonly environment: Readonly<Record<string, string>>;
  /** The identity sources API Gateway checks and caches by; empty in monitor mode. */
  readonly identitySources: readonly string[];
  /** Where the function gets public keys from. */
  readonly keySourceKind: 'kms' | 'jwks';

  constructor(scope: Construct, id: string, props: AttestationAuthorizerProps) {
    super(scope, id);
    const settings = resolveSettings(props);
    this.keySourceKind = props.keySource.kind;

    let ledger = props.tokenLedger;
    if (!ledger && (settings.limitedUse || settings.requireProof)) ledger = tokenLedgerTable(this, 'TokenLedger');
    if (ledger) this.tokenLedger = ledger;

    // The role exists before the function so the key source can grant on it.
    const environment: Record<string, string> = {
      ATTESTOR_ISSUER: settings.issuer,
      AUTHORIZER_TENANT: settings.tenantId,
      AUTHORIZER_MODE: settings.mode,
      TOKEN_HEADER: settings.headerName,
      REQUIRE_BINDING: String(settings.requireBinding),
      ...(settings.requireBinding ? { BINDING_HEADER: settings.bindingHeader } : {}),
      LIMITED_USE: String(settings.limitedUse),
      REQUIRE_PROOF: String(settings.requireProof),
      ...(ledger ? { TOKEN_LEDGER_TABLE: ledger.tableName } : {}),
      ...(props.publicBaseUrl !== undefined ? { PUBLIC_BASE_URL: props.publicBaseUrl } : {}),
      // The function must know when API Gateway reuses its verdicts across methods: its Allow then
      // covers the whole stage (src/handlers/authorizer.ts, cachedResults).
      AUTHORIZER_CACHE_TTL_SECONDS: String(settings.cacheSeconds),
      NODE_OPTIONS: '--enable-source-maps',
    };
    this.service = new ServiceFunction(this, 'AuthorizerFunction', {
      spec: LAMBDAS.authorizer,
      environment: {}, // set below, once the key source has added its variables
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
    });
    Object.assign(environment, props.keySource.bind(this.service.role).environment);
    for (const [name, value] of Object.entries(environment)) this.service.fn.addEnvironment(name, value);
    this.environment = environment;

    if (ledger) {
      // PutItem only: the ledger's conditional put (attribute_not_exists) is the whole protocol;
      // without GetItem, DeleteItem or UpdateItem the authorizer cannot read or undo a consumption.
      this.service.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ConsumeTokenIds', actions: ['dynamodb:PutItem'], resources: [ledger.tableArn] }));
    }

    const cacheSeconds = settings.cacheSeconds;
    const identitySources =
      settings.mode === 'monitor'
        ? []
        : [
            apigw.IdentitySource.header(settings.headerName),
            ...(cacheSeconds > 0 && settings.requireBinding ? [apigw.IdentitySource.header(settings.bindingHeader)] : []),
          ];
    this.identitySources = identitySources;
    this.authorizer = new apigw.RequestAuthorizer(this, 'Authorizer', {
      authorizerName: props.authorizerName ?? 'attestation-token',
      handler: this.service.fn,
      // CDK requires at least one identity source whenever resultsCacheTtl is set (even to 0); for
      // monitor mode the property is removed below.
      identitySources: identitySources.length > 0 ? identitySources : [apigw.IdentitySource.header(settings.headerName)],
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

interface Settings {
  readonly issuer: string;
  readonly tenantId: string;
  readonly headerName: string;
  readonly mode: AttestationAuthorizerMode;
  readonly requireBinding: boolean;
  readonly bindingHeader: string;
  readonly limitedUse: boolean;
  readonly requireProof: boolean;
  readonly cacheSeconds: number;
}

/** Defaults applied and every conflict rejected, each with a message naming the props involved. */
function resolveSettings(props: AttestationAuthorizerProps): Settings {
  const fail = (message: string): never => {
    throw new Error(`AttestationAuthorizer: ${message}`);
  };
  const headerName = props.headerName ?? TOKEN_HEADER_NAME;
  const bindingHeader = props.bindingHeader ?? 'Authorization';
  const mode = props.mode ?? 'enforce';
  const requireBinding = props.requireBinding ?? false;
  const limitedUse = props.limitedUse ?? false;
  const requireProof = props.requireProof ?? false;
  const tenantId = props.tenantId ?? 'default';
  const issuer = props.issuer ?? 'attestor';

  if ((mode as string) !== 'enforce' && (mode as string) !== 'monitor') fail(`mode must be 'enforce' or 'monitor', got '${String(mode)}'`);
  if (!HEADER_NAME.test(headerName)) fail(`headerName must be an HTTP header name, got '${headerName}'`);
  if (!HEADER_NAME.test(bindingHeader)) fail(`bindingHeader must be an HTTP header name, got '${bindingHeader}'`);
  if (!Token.isUnresolved(tenantId) && !TENANT_ID.test(tenantId)) fail(`tenantId must match ${TENANT_ID.source}, got '${tenantId}'`);
  if (issuer === '') fail('issuer must not be empty');
  if (props.bindingHeader !== undefined && !requireBinding) fail('bindingHeader is set but requireBinding is not: the binding header is read only when binding is required');
  if (requireBinding && bindingHeader.toLowerCase() === headerName.toLowerCase()) {
    fail(`headerName and bindingHeader name the same header (${headerName}): a token cannot be bound to itself`);
  }
  if (requireProof && headerName.toLowerCase() === PROOF_HEADER_NAME.toLowerCase()) {
    fail(`headerName and requireProof conflict: ${PROOF_HEADER_NAME} is the proof header`);
  }
  if (requireBinding && requireProof && bindingHeader.toLowerCase() === PROOF_HEADER_NAME.toLowerCase()) {
    fail(`bindingHeader and requireProof conflict: ${PROOF_HEADER_NAME} is the proof header`);
  }
  if (props.publicBaseUrl !== undefined && !requireProof) fail('publicBaseUrl is set but requireProof is not: the base URL is used only to check proofs');
  if (props.publicBaseUrl !== undefined && !Token.isUnresolved(props.publicBaseUrl) && !/^https:\/\/[^/?#]+(\/[^?#]*)?$/.test(props.publicBaseUrl)) {
    fail(`publicBaseUrl must be an https URL without query or fragment, got '${props.publicBaseUrl}'`);
  }
  if (props.tokenLedger && !limitedUse && !requireProof) fail('tokenLedger is set but neither limitedUse nor requireProof is: nothing would be written to it');

  const cacheSeconds = props.resultsCacheTtl?.toSeconds() ?? 0;
  if (cacheSeconds < 0 || cacheSeconds > MAX_CACHE_SECONDS) fail(`resultsCacheTtl must be between 0 and ${MAX_CACHE_SECONDS} seconds, got ${cacheSeconds}`);
  if (cacheSeconds > 0) {
    if (limitedUse) fail('limitedUse and resultsCacheTtl conflict: a cached Allow would let a single-use token in again; set resultsCacheTtl to 0');
    if (requireProof) fail('requireProof and resultsCacheTtl conflict: each request carries a new proof that must be checked; set resultsCacheTtl to 0');
    if (mode === 'monitor') {
      fail("mode 'monitor' and resultsCacheTtl conflict: caching needs identity sources, and API Gateway answers 401 itself to requests without them, which monitor mode must let through; set resultsCacheTtl to 0");
    }
  }
  return { issuer, tenantId, headerName, mode, requireBinding, bindingHeader, limitedUse, requireProof, cacheSeconds };
}
