/**
 * The authorizer's configuration record and its one check (docs/ENFORCEMENT.md, "The authorizer
 * Lambda: environment contract"). The AttestationAuthorizer construct writes the record and runs the
 * check at synth; the function reads it at cold start, where fromEnv runs the same check. Read through
 * ./config.ts.
 */
import { TENANT_ID_PATTERN } from './admin-ids';
import { ConfigurationError, CONFIG_DEFAULTS, defineConfig, unlessDefault, type FunctionConfigContract } from './config-contract';
import {
  acceptedHardwareKinds,
  ALL_HARDWARE_KINDS,
  hardwareKindsInText,
  HardwareRequirementError,
  hardwareRequirementText,
  REQUIRE_HARDWARE_ENV,
  type HardwareRequirement,
} from './hardware-requirement';
import { MIN_TOKEN_TTL_SECONDS, PROOF_HEADER_NAME, type HardwareKind } from './protocol';

/** enforce: deny what fails. monitor: allow everything, record what enforcing would have denied. */
export type AuthorizerMode = 'enforce' | 'monitor';

/**
 * Where the authorizer gets its tenant's keys: kms, the registry's key records in this account
 * (hs256 secrets unwrapped with KMS Decrypt); remote, the Attestor admin API (JWKS and wrapped
 * secrets, fetched with SigV4), unwrapped with the function's own role.
 */
export type AuthorizerKeySource =
  | { readonly kind: 'kms'; readonly registryTable: string; readonly tenantKeyAliasPrefix: string; readonly decoyKeyId: string }
  | { readonly kind: 'remote'; readonly apiUrl: string };

/** The authorizer's settings (docs/ENFORCEMENT.md, "The authorizer Lambda: environment contract"). */
export interface AuthorizerConfig {
  /** The accepted `iss`. */
  readonly issuer: string;
  /** The accepted `aud`: the tenant whose tokens get in. */
  readonly tenantId: string;
  readonly mode: AuthorizerMode;
  readonly tokenHeader: string;
  readonly requireBinding: boolean;
  /** Only with requireBinding; absent, tokens are bound to CONFIG_DEFAULTS.bindingHeader. */
  readonly bindingHeader?: string;
  readonly limitedUse: boolean;
  readonly requireProof: boolean;
  /** The `hw` claims let in; absent when hardware is not required. */
  readonly requireHardware?: readonly HardwareKind[];
  /** Exactly when limitedUse or requireProof is on. */
  readonly tokenLedgerTable?: string;
  readonly keySource: AuthorizerKeySource;
  /** Only with requireProof: the external base URL a proof's `htu` starts with; fromEnv drops trailing slashes. */
  readonly publicBaseUrl?: string;
  /** How long API Gateway caches a verdict; above 0, an Allow covers the whole stage. */
  readonly cacheSeconds: number;
  /**
   * Let test tokens in (PROTOCOL.md §5.7), verified with the tenant's test secrets: for an API that a
   * backend's CI calls, never production. Absent or false, every test token is denied (test_token).
   */
  readonly acceptTestTokens?: boolean;
}

/**
 * Longest authorizer result cache: a cached Allow outlives its token by up to the TTL, so it is held
 * to the shortest token lifetime a policy allows (MIN_TOKEN_TTL_SECONDS).
 */
export const MAX_AUTHORIZER_CACHE_SECONDS = MIN_TOKEN_TTL_SECONDS;

/** The accepted kinds of an AttestationAuthorizer's requireHardware prop, unchecked: checkAuthorizerConfig checks them. */
export function requiredHardwareKinds(requirement: HardwareRequirement | undefined): readonly HardwareKind[] | undefined {
  if (requirement === undefined || requirement === false) return undefined;
  return requirement === true ? ALL_HARDWARE_KINDS : requirement;
}

/**
 * How each check names a setting: its variable, then the AttestationAuthorizer prop that makes it,
 * so that one message serves the operator reading a cold-start log and the developer running synth.
 */
const SETTING = {
  issuer: 'ATTESTOR_ISSUER (issuer)',
  tenantId: 'AUTHORIZER_TENANT (tenantId)',
  mode: 'AUTHORIZER_MODE (mode)',
  tokenHeader: 'TOKEN_HEADER (headerName)',
  requireBinding: 'REQUIRE_BINDING (requireBinding)',
  bindingHeader: 'BINDING_HEADER (bindingHeader)',
  limitedUse: 'LIMITED_USE (limitedUse)',
  requireProof: 'REQUIRE_PROOF (requireProof)',
  requireHardware: 'REQUIRE_HARDWARE (requireHardware)',
  tokenLedgerTable: 'TOKEN_LEDGER_TABLE (tokenLedger)',
  registryTable: 'REGISTRY_TABLE (AttestationKeySource.kms registryTable)',
  tenantKeyAliasPrefix: 'TENANT_KEY_ALIAS_PREFIX (AttestationKeySource.kms tenantKeyAliasPrefix)',
  apiUrl: 'ATTESTOR_API_URL (AttestationKeySource.remote apiUrl)',
  publicBaseUrl: 'PUBLIC_BASE_URL (publicBaseUrl)',
  cacheSeconds: 'AUTHORIZER_CACHE_TTL_SECONDS (resultsCacheTtl)',
  acceptTestTokens: 'ACCEPT_TEST_TOKENS (acceptTestTokens)',
} as const;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

export interface AuthorizerCheckOptions {
  /**
   * True for a value known only at deployment (a CDK token): its form is left to the function's own
   * check at cold start, which sees the value.
   */
  readonly isUnresolved?: (value: string) => boolean;
}

/**
 * The authorizer's rules, one pure function: the AttestationAuthorizer construct runs it at synth and
 * AUTHORIZER_CONFIG.fromEnv at cold start, so the construct refuses exactly what the function would
 * (a setting refused only at cold start would deploy, and then fail every request). Throws a
 * ConfigurationError naming the settings at fault, the first found.
 * @example
 * ```ts
 * checkAuthorizerConfig({ ...config, limitedUse: true, cacheSeconds: 60 });
 * // ConfigurationError: AUTHORIZER_CACHE_TTL_SECONDS (resultsCacheTtl) must be 0 with LIMITED_USE (limitedUse): ...
 * ```
 */
export function checkAuthorizerConfig(config: AuthorizerConfig, options: AuthorizerCheckOptions = {}): void {
  const known = (value: string) => !options.isUnresolved?.(value);
  const fail = (message: string): never => {
    throw new ConfigurationError(message);
  };
  const sameHeader = (a: string, b: string) => known(a) && known(b) && a.toLowerCase() === b.toLowerCase();
  const { tokenHeader, bindingHeader, requireBinding, requireProof, limitedUse, mode, cacheSeconds } = config;

  if (config.issuer === '') fail(`${SETTING.issuer} must not be empty`);
  if (known(config.tenantId) && !TENANT_ID_PATTERN.test(config.tenantId)) {
    fail(`${SETTING.tenantId} must match ${TENANT_ID_PATTERN.source}, got "${config.tenantId}"`);
  }
  if ((mode as string) !== 'enforce' && (mode as string) !== 'monitor') fail(`${SETTING.mode} must be enforce or monitor, got "${String(mode)}"`);

  // Headers: each its own, so that no value is read as two things.
  if (known(tokenHeader) && !HEADER_NAME.test(tokenHeader)) fail(`${SETTING.tokenHeader} must be an HTTP header name, got "${tokenHeader}"`);
  if (bindingHeader !== undefined) {
    if (known(bindingHeader) && !HEADER_NAME.test(bindingHeader)) fail(`${SETTING.bindingHeader} must be an HTTP header name, got "${bindingHeader}"`);
    if (!requireBinding) fail(`${SETTING.bindingHeader} is set but ${SETTING.requireBinding} is not: the binding header is read only when binding is required`);
  }
  const boundTo = bindingHeader ?? CONFIG_DEFAULTS.bindingHeader;
  if (requireBinding && sameHeader(boundTo, tokenHeader)) {
    fail(`${SETTING.tokenHeader} and ${SETTING.bindingHeader} name the same header (${boundTo}): a token cannot be bound to itself`);
  }
  if (requireProof && sameHeader(tokenHeader, PROOF_HEADER_NAME)) {
    fail(`${SETTING.tokenHeader} and ${SETTING.requireProof} conflict: ${PROOF_HEADER_NAME} is the proof header`);
  }
  if (requireProof && requireBinding && sameHeader(boundTo, PROOF_HEADER_NAME)) {
    fail(`${SETTING.bindingHeader} and ${SETTING.requireProof} conflict: ${PROOF_HEADER_NAME} is the proof header`);
  }

  // The same rule as the verify library's requireHardware option (hardware-requirement.ts).
  try {
    acceptedHardwareKinds(config.requireHardware);
  } catch (error) {
    if (!(error instanceof HardwareRequirementError)) throw error;
    fail(`${SETTING.requireHardware} ${error.message}`);
  }

  // The ledger: what single use and proofs record consumed ids in, and nothing else writes to.
  const enforcing = [...(limitedUse ? [SETTING.limitedUse] : []), ...(requireProof ? [SETTING.requireProof] : [])];
  if (enforcing.length > 0 && !config.tokenLedgerTable) {
    fail(`${SETTING.tokenLedgerTable} is required when ${enforcing.join(' and ')} ${enforcing.length > 1 ? 'are' : 'is'} true`);
  }
  if (enforcing.length === 0 && config.tokenLedgerTable !== undefined) {
    fail(`${SETTING.tokenLedgerTable} is set but neither ${SETTING.limitedUse} nor ${SETTING.requireProof} is: nothing would be written to it`);
  }

  const source = config.keySource;
  if (source.kind === 'kms') {
    if (!source.registryTable) fail(`${SETTING.registryTable} is required when KEY_SOURCE is kms`);
    if (known(source.tenantKeyAliasPrefix) && !source.tenantKeyAliasPrefix.startsWith('alias/')) {
      fail(`${SETTING.tenantKeyAliasPrefix} must begin with alias/, got "${source.tenantKeyAliasPrefix}"`);
    }
  } else if ((source.kind as string) === 'remote') {
    if (!source.apiUrl) fail(`${SETTING.apiUrl} is required when KEY_SOURCE is remote`);
    if (known(source.apiUrl) && !isServiceUrl(source.apiUrl)) fail(`${SETTING.apiUrl} ${SERVICE_URL_RULE}, got "${source.apiUrl}"`);
  } else {
    fail(`KEY_SOURCE (keySource) must be kms or remote, got "${String((source as { kind: unknown }).kind)}"`);
  }

  if (config.publicBaseUrl !== undefined) {
    if (!requireProof) fail(`${SETTING.publicBaseUrl} is set but ${SETTING.requireProof} is not: the base URL is used only to check proofs`);
    if (known(config.publicBaseUrl) && !isServiceUrl(config.publicBaseUrl)) fail(`${SETTING.publicBaseUrl} ${SERVICE_URL_RULE}, got "${config.publicBaseUrl}"`);
  }

  // A cached Allow outlives the token it was granted for by up to the TTL, and skips whatever the
  // function would check on the next request.
  if (!(Number.isInteger(cacheSeconds) && cacheSeconds >= 0 && cacheSeconds <= MAX_AUTHORIZER_CACHE_SECONDS)) {
    fail(`${SETTING.cacheSeconds} must be a whole number of seconds from 0 to ${MAX_AUTHORIZER_CACHE_SECONDS}, got ${cacheSeconds}`);
  }
  if (cacheSeconds > 0) {
    const mustBeZero = `${SETTING.cacheSeconds} must be 0 with`;
    if (limitedUse) fail(`${mustBeZero} ${SETTING.limitedUse}: a cached Allow would let a single-use token in again`);
    if (requireProof) fail(`${mustBeZero} ${SETTING.requireProof}: each request carries a new proof that must be checked`);
    if (mode === 'monitor') {
      fail(
        `${mustBeZero} ${SETTING.mode} monitor: caching needs identity sources, and API Gateway answers 401 itself to requests without them, ` +
          'which monitor mode must let through',
      );
    }
  }
}

const SERVICE_URL_RULE = 'must be an https URL (plain http only on this machine) without credentials, query or fragment';

/** https anywhere; plain http only on the local machine (the local cloud), never in front of real traffic. */
function isServiceUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  const local = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  const scheme = url.protocol === 'https:' || (url.protocol === 'http:' && local);
  return scheme && !url.username && !url.password && !url.search && !url.hash && !text.includes('#') && !text.includes('?');
}

export const AUTHORIZER_CONFIG: FunctionConfigContract<AuthorizerConfig> = /* @__PURE__ */ defineConfig({
  variables: [
    'ATTESTOR_ISSUER',
    'AUTHORIZER_TENANT',
    'ATTESTOR_DEFAULT_TENANT',
    'TOKEN_HEADER',
    'AUTHORIZER_MODE',
    'REQUIRE_BINDING',
    'BINDING_HEADER',
    'LIMITED_USE',
    'REQUIRE_PROOF',
    REQUIRE_HARDWARE_ENV,
    'TOKEN_LEDGER_TABLE',
    'KEY_SOURCE',
    'REGISTRY_TABLE',
    'TENANT_KEY_ALIAS_PREFIX',
    'DECOY_KEY_ID',
    'ATTESTOR_API_URL',
    'AUTHORIZER_CACHE_TTL_SECONDS',
    'PUBLIC_BASE_URL',
    'ACCEPT_TEST_TOKENS',
  ],
  toEnv: (c: AuthorizerConfig) => {
    const kms = c.keySource.kind === 'kms' ? c.keySource : undefined;
    return {
      ATTESTOR_ISSUER: c.issuer,
      AUTHORIZER_TENANT: c.tenantId,
      AUTHORIZER_MODE: c.mode,
      TOKEN_HEADER: c.tokenHeader,
      REQUIRE_BINDING: String(c.requireBinding),
      BINDING_HEADER: c.bindingHeader,
      LIMITED_USE: String(c.limitedUse),
      REQUIRE_PROOF: String(c.requireProof),
      [REQUIRE_HARDWARE_ENV]: hardwareRequirementText(c.requireHardware),
      TOKEN_LEDGER_TABLE: c.tokenLedgerTable,
      KEY_SOURCE: c.keySource.kind,
      REGISTRY_TABLE: kms?.registryTable,
      TENANT_KEY_ALIAS_PREFIX: kms && unlessDefault(kms.tenantKeyAliasPrefix, CONFIG_DEFAULTS.tenantKeyAliasPrefix),
      DECOY_KEY_ID: kms && unlessDefault(kms.decoyKeyId, CONFIG_DEFAULTS.decoyKeyId),
      ATTESTOR_API_URL: c.keySource.kind === 'remote' ? c.keySource.apiUrl : undefined,
      AUTHORIZER_CACHE_TTL_SECONDS: String(c.cacheSeconds),
      PUBLIC_BASE_URL: c.publicBaseUrl,
      // Written only when on: an authorizer's environment names test tokens only where it accepts them.
      ACCEPT_TEST_TOKENS: c.acceptTestTokens === true ? 'true' : undefined,
    };
  },
  fromEnv: (read): AuthorizerConfig => {
    const kind = read.oneOf('KEY_SOURCE', ['kms', 'remote'] as const, CONFIG_DEFAULTS.keySource);
    const keySource: AuthorizerKeySource =
      kind === 'kms'
        ? {
            kind,
            registryTable: read.text('REGISTRY_TABLE') ?? '',
            tenantKeyAliasPrefix: read.text('TENANT_KEY_ALIAS_PREFIX') ?? CONFIG_DEFAULTS.tenantKeyAliasPrefix,
            decoyKeyId: read.text('DECOY_KEY_ID') ?? CONFIG_DEFAULTS.decoyKeyId,
          }
        : { kind, apiUrl: read.text('ATTESTOR_API_URL') ?? '' };
    const config: AuthorizerConfig = {
      issuer: read.text('ATTESTOR_ISSUER') ?? CONFIG_DEFAULTS.issuer,
      // ATTESTOR_DEFAULT_TENANT: from when the authorizer shared the service's environment; writers set AUTHORIZER_TENANT.
      tenantId: read.text('AUTHORIZER_TENANT') ?? read.text('ATTESTOR_DEFAULT_TENANT') ?? CONFIG_DEFAULTS.defaultTenantId,
      mode: (read.text('AUTHORIZER_MODE') ?? CONFIG_DEFAULTS.authorizerMode) as AuthorizerMode,
      tokenHeader: read.text('TOKEN_HEADER') ?? CONFIG_DEFAULTS.tokenHeader,
      requireBinding: read.flag('REQUIRE_BINDING'),
      bindingHeader: read.text('BINDING_HEADER'),
      limitedUse: read.flag('LIMITED_USE'),
      requireProof: read.flag('REQUIRE_PROOF'),
      // checkAuthorizerConfig checks the kinds, in the construct's words.
      requireHardware: hardwareKindsInText(read.text(REQUIRE_HARDWARE_ENV)),
      tokenLedgerTable: read.text('TOKEN_LEDGER_TABLE'),
      keySource,
      publicBaseUrl: read.text('PUBLIC_BASE_URL'),
      cacheSeconds: read.number('AUTHORIZER_CACHE_TTL_SECONDS', CONFIG_DEFAULTS.cacheSeconds),
      // Present only when on, as the writers leave it out when off.
      ...(read.flag('ACCEPT_TEST_TOKENS') ? { acceptTestTokens: true } : {}),
    };
    checkAuthorizerConfig(config);
    // One spelling of each URL: the handler compares proofs' htu against the base, and fetches keys under the API URL.
    const apiUrl = keySource.kind === 'remote' ? new URL(keySource.apiUrl) : undefined;
    return {
      ...config,
      ...(apiUrl !== undefined ? { keySource: { kind: 'remote', apiUrl: `${apiUrl.origin}${apiUrl.pathname}` } } : {}),
      ...(config.publicBaseUrl !== undefined ? { publicBaseUrl: config.publicBaseUrl.replace(/\/+$/, '') } : {}),
    };
  },
});
