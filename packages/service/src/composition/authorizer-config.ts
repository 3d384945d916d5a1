/**
 * The authorizer Lambda's environment contract (docs/ENFORCEMENT.md) and its composition root.
 * The AttestationAuthorizer construct sets these variables; the local cloud passes the same ones,
 * so both run the same parser and wiring. Anything invalid or contradictory fails at cold start
 * with a ConfigurationError naming the variable, never on a request.
 */
import { systemClock, type Clock, type VerificationKeySource } from '../core/ports';
import { PROOF_HEADER_NAME, type HardwareKind } from '@attestor/contracts/protocol';
import { hardwareRequirementFromText, HardwareRequirementError, REQUIRE_HARDWARE_ENV } from '@attestor/contracts/hardware-requirement';
import { AttestationVerifier } from '@attestor/verify/core/verifier';
import { authorizerHandler, type AuthorizerHandler, type AuthorizerMode } from '../handlers/authorizer';
import { jsonLogger, type Logger } from '../handlers/log';
import { emfMetrics, type MetricsSink } from '../handlers/metrics';
import { TOKEN_HEADER_NAME } from '@attestor/contracts/protocol';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import { DynamoDbTenantKeyStore } from '../adapters/dynamodb-registry/tenant-key-store';
import { DynamoDbTokenLedger } from '../adapters/dynamodb-token-ledger';
import { ConfigurationError, DEFAULTS } from './environment';
import { RemoteKeySource } from '@attestor/verify/aws/remote-key-source';
import { sigV4Fetch, type SigV4FetchOptions } from '@attestor/verify/aws/sigv4-fetch';
import { KmsTenantKeys } from '../adapters/kms-tenant-keys';
import { TENANT_ID_PATTERN } from '@attestor/contracts/admin-ids';

/** Longest authorizer result cache: the shortest token TTL a policy allows (see PROTOCOL.md, policy tokenTtlSeconds). */
export const MAX_AUTHORIZER_CACHE_SECONDS = 60;

/**
 * Where the tenant's keys come from: kms, the registry's key records (this account), unwrapping
 * hs256 secrets with KMS Decrypt; remote, the Attestor admin API (JWKS and wrapped secrets, fetched
 * with SigV4), unwrapping with this function's own role.
 */
export type KeySourceConfig =
  | { readonly kind: 'kms'; readonly registryTable: string; readonly tenantKeyAliasPrefix: string; readonly decoyKeyId: string }
  | { readonly kind: 'remote'; readonly apiUrl: string };

/** The authorizer's settings, as parsed from its environment. */
export interface AuthorizerConfig {
  readonly region: string;
  readonly issuer: string;
  /** The accepted `aud`: the tenant whose tokens this authorizer lets in. */
  readonly tenantId: string;
  readonly mode: AuthorizerMode;
  readonly tokenHeader: string;
  readonly requireBinding: boolean;
  readonly bindingHeader: string;
  readonly limitedUse: boolean;
  readonly requireProof: boolean;
  readonly proofHeader: string;
  /** The `hw` claims let in (REQUIRE_HARDWARE); absent when hardware is not required. */
  readonly requireHardware?: readonly HardwareKind[];
  /** Present exactly when limitedUse or requireProof is on. */
  readonly tokenLedgerTable?: string;
  readonly keySource: KeySourceConfig;
  /** Without trailing slash. */
  readonly publicBaseUrl?: string;
  /** How long API Gateway caches a verdict (AUTHORIZER_CACHE_TTL_SECONDS); above 0, Allow covers the whole stage. */
  readonly cacheSeconds: number;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/** Parses and checks the environment contract; throws ConfigurationError naming the variable at fault. */
export function authorizerConfigFromEnv(env: NodeJS.ProcessEnv): AuthorizerConfig {
  const value = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const required = (name: string, why: string): string => {
    const v = value(name);
    if (v === undefined) throw new ConfigurationError(`environment variable ${name} is required ${why}`);
    return v;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const v = value(name) ?? fallback;
    if (!(allowed as readonly string[]).includes(v)) throw new ConfigurationError(`${name} must be ${allowed.join(' or ')}, got "${v}"`);
    return v as T;
  };
  const flag = (name: string): boolean => oneOf(name, ['true', 'false'], 'false') === 'true';
  const headerName = (name: string, fallback: string): string => {
    const v = value(name) ?? fallback;
    if (!HEADER_NAME.test(v)) throw new ConfigurationError(`${name} must be an HTTP header name, got "${v}"`);
    return v;
  };

  const tenantId = value('AUTHORIZER_TENANT') ?? value('ATTESTOR_DEFAULT_TENANT') ?? DEFAULTS.defaultTenantId;
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new ConfigurationError(`AUTHORIZER_TENANT must match ${TENANT_ID_PATTERN.source}, got "${tenantId}"`);
  const mode = oneOf('AUTHORIZER_MODE', ['enforce', 'monitor'] as const, 'enforce');
  const tokenHeader = headerName('TOKEN_HEADER', TOKEN_HEADER_NAME);
  const requireBinding = flag('REQUIRE_BINDING');
  const bindingHeader = headerName('BINDING_HEADER', 'Authorization');
  const limitedUse = flag('LIMITED_USE');
  const requireProof = flag('REQUIRE_PROOF');
  const proofHeader = PROOF_HEADER_NAME;
  // The same check as the AttestationAuthorizer construct's at synth (contracts/hardware-requirement.ts).
  // The name is spelled here too, typed as the shared constant, so the two cannot differ.
  const requireHardwareEnv: typeof REQUIRE_HARDWARE_ENV = 'REQUIRE_HARDWARE';
  const hardwareText = value(requireHardwareEnv);
  let requireHardware: readonly HardwareKind[] | undefined;
  try {
    requireHardware = hardwareRequirementFromText(hardwareText);
  } catch (error) {
    if (!(error instanceof HardwareRequirementError)) throw error;
    throw new ConfigurationError(`${requireHardwareEnv} ${error.message} (it is false, true, or kinds separated by commas), got "${hardwareText}"`);
  }

  const headers = [
    ['TOKEN_HEADER', tokenHeader],
    ...(requireBinding ? [['BINDING_HEADER', bindingHeader]] : []),
    ...(requireProof ? [['the proof header', proofHeader]] : []),
  ];
  for (let i = 0; i < headers.length; i++) {
    for (let j = i + 1; j < headers.length; j++) {
      if (headers[i]![1]!.toLowerCase() === headers[j]![1]!.toLowerCase()) {
        throw new ConfigurationError(`${headers[i]![0]} and ${headers[j]![0]} name the same header (${headers[j]![1]}); each needs its own`);
      }
    }
  }

  const ledgerTable = value('TOKEN_LEDGER_TABLE');
  if ((limitedUse || requireProof) && ledgerTable === undefined) {
    const enforcing = [limitedUse && 'LIMITED_USE', requireProof && 'REQUIRE_PROOF'].filter(Boolean).join(' and ');
    throw new ConfigurationError(`environment variable TOKEN_LEDGER_TABLE is required when ${enforcing} is true`);
  }

  const kind = oneOf('KEY_SOURCE', ['kms', 'remote'] as const, 'kms');
  let keySource: KeySourceConfig;
  if (kind === 'kms') {
    keySource = {
      kind,
      registryTable: required('REGISTRY_TABLE', 'when KEY_SOURCE is kms'),
      tenantKeyAliasPrefix: value('TENANT_KEY_ALIAS_PREFIX') ?? DEFAULTS.tenantKeyAliasPrefix,
      decoyKeyId: value('DECOY_KEY_ID') ?? DEFAULTS.decoyKeyId,
    };
  } else {
    const apiUrl = required('ATTESTOR_API_URL', 'when KEY_SOURCE is remote');
    keySource = { kind, apiUrl: httpUrl('ATTESTOR_API_URL', apiUrl, false) };
  }

  // Set by the AttestationAuthorizer construct from resultsCacheTtl; the same conflicts it rejects at
  // synth fail the cold start here, so a hand-made environment cannot cache what must not be.
  const cacheText = value('AUTHORIZER_CACHE_TTL_SECONDS') ?? '0';
  // A cached Allow outlives the token it was granted for by up to the TTL, so the TTL is held to the
  // shortest token lifetime a policy allows (60 s): a token is never let in longer than twice its floor.
  if (!/^\d{1,4}$/.test(cacheText) || Number(cacheText) > MAX_AUTHORIZER_CACHE_SECONDS) {
    throw new ConfigurationError(
      `AUTHORIZER_CACHE_TTL_SECONDS must be a whole number of seconds from 0 to ${MAX_AUTHORIZER_CACHE_SECONDS}, got "${cacheText}"`,
    );
  }
  const cacheSeconds = Number(cacheText);
  if (cacheSeconds > 0) {
    const conflict = mode === 'monitor' ? 'AUTHORIZER_MODE monitor' : limitedUse ? 'LIMITED_USE' : requireProof ? 'REQUIRE_PROOF' : undefined;
    if (conflict) throw new ConfigurationError(`AUTHORIZER_CACHE_TTL_SECONDS must be 0 with ${conflict}: a cached verdict would skip what it enforces`);
  }

  const base = value('PUBLIC_BASE_URL');
  const publicBaseUrl = base === undefined ? undefined : httpUrl('PUBLIC_BASE_URL', base, false).replace(/\/+$/, '');
  return {
    region: value('AWS_REGION') ?? value('AWS_DEFAULT_REGION') ?? 'us-east-1',
    issuer: value('ATTESTOR_ISSUER') ?? DEFAULTS.issuer,
    tenantId,
    mode,
    tokenHeader,
    requireBinding,
    bindingHeader,
    limitedUse,
    requireProof,
    proofHeader,
    ...(requireHardware !== undefined ? { requireHardware } : {}),
    ...(limitedUse || requireProof ? { tokenLedgerTable: ledgerTable! } : {}),
    keySource,
    ...(publicBaseUrl !== undefined ? { publicBaseUrl } : {}),
    cacheSeconds,
  };
}

/** https anywhere; plain http only on the local machine (the local cloud), never in front of real traffic. */
function httpUrl(name: string, text: string, allowQuery: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(`${name} must be an absolute URL, got "${text}"`);
  }
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) throw new ConfigurationError(`${name} must be an https URL, got "${text}"`);
  if (url.username || url.password || url.hash || (!allowQuery && url.search)) {
    throw new ConfigurationError(`${name} must not contain credentials${allowQuery ? '' : ', a query'} or a fragment, got "${text}"`);
  }
  return allowQuery ? url.toString() : `${url.origin}${url.pathname}`;
}

/** What the environment does not say: logging, metrics, clock, and (local cloud only) endpoints and credentials. */
export interface AuthorizerDeps {
  readonly logger?: Logger;
  /** @default EMF lines on stdout */
  readonly metrics?: MetricsSink;
  readonly clock?: Clock;
  /** Local cloud only: endpoints and static credentials of the stand-ins. */
  readonly endpoints?: { readonly dynamodb: string; readonly kms: string };
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Credentials that sign the remote key source's fetches. @default `credentials`, else the AWS SDK's default chain (the Lambda's role) */
  readonly remoteCredentials?: SigV4FetchOptions['credentials'];
}

/** A wired authorizer: the Lambda handler and what it is made of. */
export interface Authorizer {
  readonly handler: AuthorizerHandler;
  readonly verifier: AttestationVerifier;
  /** Releases the AWS SDK clients (the local cloud's stop()). */
  destroy(): void;
}

/** Wires the handler over real AWS SDK clients. Keys start loading at once, before the first request. */
export function createAuthorizer(config: AuthorizerConfig, deps: AuthorizerDeps = {}): Authorizer {
  const clock = deps.clock ?? systemClock;
  const settings = {
    region: config.region,
    ...(deps.endpoints ? { endpoints: deps.endpoints } : {}),
    ...(deps.credentials ? { credentials: deps.credentials } : {}),
  };
  const needsDynamo = config.keySource.kind === 'kms' || config.tokenLedgerTable !== undefined;
  const dynamodb = needsDynamo ? dynamoDbClient(settings) : undefined;
  // Both key sources unwrap hs256 secrets with KMS Decrypt.
  const kms = kmsClient(settings);

  let keys: VerificationKeySource;
  if (config.keySource.kind === 'kms') {
    keys = new KmsTenantKeys(kms, new DynamoDbTenantKeyStore(dynamodb!, config.keySource.registryTable), {
      decoyKeyId: config.keySource.decoyKeyId,
      aliasPrefix: config.keySource.tenantKeyAliasPrefix,
      clock,
    });
  } else {
    const credentials = deps.remoteCredentials ?? deps.credentials;
    const fetch = sigV4Fetch({ region: config.region, ...(credentials ? { credentials } : {}) });
    keys = new RemoteKeySource({ apiUrl: config.keySource.apiUrl, tenantId: config.tenantId, fetch, kms });
  }
  const ledger = config.tokenLedgerTable !== undefined ? new DynamoDbTokenLedger(dynamodb!, config.tokenLedgerTable, clock) : undefined;

  const verifier = new AttestationVerifier({
    keys,
    tenantId: config.tenantId,
    issuer: config.issuer,
    clock,
    requireBinding: config.requireBinding,
    limitedUse: config.limitedUse,
    requireProof: config.requireProof,
    ...(config.requireHardware !== undefined ? { requireHardware: config.requireHardware } : {}),
    ...(ledger ? { ledger } : {}),
  });
  verifier.warm();
  const handler = authorizerHandler(verifier, deps.logger ?? jsonLogger, {
    mode: config.mode,
    tokenHeader: config.tokenHeader,
    bindingHeader: config.bindingHeader,
    proofHeader: config.proofHeader,
    metrics: deps.metrics ?? emfMetrics(),
    ...(config.publicBaseUrl !== undefined ? { publicBaseUrl: config.publicBaseUrl } : {}),
    cachedResults: config.cacheSeconds > 0,
  });
  return {
    handler,
    verifier,
    destroy: () => {
      dynamodb?.destroy();
      kms.destroy();
    },
  };
}
