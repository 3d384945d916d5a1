import { AttestorError, type AttestorErrorCode } from './errors';
import { hostAllowed, parseHostRule, type HostRule } from './hosts';
import { memoryKeyStore, resolveInstallKey, type InstallKey, type InstallKeyOutcome, type KeyStore, type StoredInstallKey } from './install-key';
import type { PackageSource } from './package-source';
import { APP_ID_PATTERN, MAX_APP_ID_CHARS, NONCE_BYTES, PROOF_HEADER_NAME, TOKEN_HEADER_NAME } from '@attestor/contracts/protocol';
import { createRequestProof } from './proof';
import { computeMeasurement, decodeB64u, encodeB64u, sha256, signInstallProof, utf8 } from './protocol';
import {
  backoffDelayMs,
  Circuit,
  isRetryable,
  parseRetryAfter,
  resolveCircuit,
  resolveRetry,
  type CircuitOptions,
  type CircuitState,
  type CircuitTicket,
  type RetryOptions,
  type RetryPolicy,
} from './resilience';
import { readSignals, type DeviceInfo, type DeviceSignals, type SignalProvider } from './signals';
import { SDK_VERSION } from './version';

/**
 * The HTTP header `AttestorClient.fetch` sets instead of a token when it could not get one, so
 * the backend can decide what to do with the request (the header is informative: anyone can
 * send it, so it must never let a request in by itself).
 * @example
 * ```ts
 * // On the server:
 * const why = request.headers.get(STATUS_HEADER); // 'no_network', 'service_error', …
 * ```
 */
export const STATUS_HEADER = 'Attestor-Status';

/**
 * Why a request went out without a token (the value of `Attestor-Status`).
 * - `no_network`: the service could not be reached (or its circuit is open after network failures).
 * - `timeout`: no token within `timeoutMs`.
 * - `rate_limited`: the service answered 429.
 * - `service_error`: the service answered with an error or something that does not follow the protocol.
 * - `client_error`: a fault on the device or in the integration: HTTP 400, a failing package
 *   source, key store or signal provider.
 * @example
 * ```ts
 * const retryLater: AttestorStatus[] = ['no_network', 'timeout', 'rate_limited', 'service_error'];
 * ```
 */
export type AttestorStatus = 'no_network' | 'timeout' | 'rate_limited' | 'service_error' | 'client_error';

/**
 * Maps a failure to the `Attestor-Status` value `fetch` sends for it.
 * @example
 * ```ts
 * attestorStatusOf(new AttestorError('network', 'fetch failed')); // 'no_network'
 * ```
 */
export function attestorStatusOf(error: unknown): AttestorStatus {
  if (!(error instanceof AttestorError)) return 'client_error';
  switch (error.code) {
    case 'network':
      return 'no_network';
    case 'timeout':
      return 'timeout';
    case 'rate_limited':
      return 'rate_limited';
    case 'service_error':
    case 'nonce_invalid':
      return 'service_error';
    case 'circuit_open':
      return error.cause instanceof AttestorError ? attestorStatusOf(error.cause) : 'service_error';
    default:
      return 'client_error';
  }
}

/**
 * What the client reports to `onEvent` listeners: for logs and metrics. Events never carry
 * tokens, nonces, proofs, bindings, the debug secret or key material.
 * - `token_issued`: an attestation finished (the client cannot tell whether it passed: PROTOCOL.md §5.3).
 * - `attestation_failed`: an attestation gave up; `code` says why.
 * - `retry`: an attempt failed and another follows after `delayMs`.
 * - `circuit`: the circuit breaker changed state (`retryAtMs`: when an open circuit lets a trial through).
 * - `install_key`: how the install key was obtained (see InstallKeyOutcome); `problem` explains `replaced` and `ephemeral`.
 * - `stale_token`: a refresh failed and a token with less than 20% of its life left, but not expired, was handed out instead.
 * - `request_without_token`: `fetch` sent a request to a configured host without a token, with `Attestor-Status: status`.
 * @example
 * ```ts
 * client.onEvent((event) => {
 *   if (event.type === 'attestation_failed') log.warn('attestation failed', event.code, event.message);
 * });
 * ```
 */
export type AttestorEvent =
  | { readonly type: 'token_issued'; readonly limitedUse: boolean; readonly bound: boolean; readonly background: boolean; readonly attempts: number; readonly durationMs: number }
  | {
      readonly type: 'attestation_failed';
      readonly code: AttestorErrorCode;
      readonly status?: number;
      readonly message: string;
      readonly background: boolean;
      readonly attempts: number;
      readonly durationMs: number;
    }
  | { readonly type: 'retry'; readonly attempt: number; readonly delayMs: number; readonly code: AttestorErrorCode; readonly status?: number }
  | { readonly type: 'circuit'; readonly state: CircuitState; readonly retryAtMs?: number }
  | { readonly type: 'install_key'; readonly outcome: InstallKeyOutcome; readonly problem?: string }
  | { readonly type: 'stale_token'; readonly code: AttestorErrorCode; readonly expiresInMs: number }
  | { readonly type: 'request_without_token'; readonly status: AttestorStatus; readonly code: AttestorErrorCode | 'unexpected'; readonly host: string };

/**
 * A snapshot of the client for diagnostics screens and health logs.
 * @example
 * ```ts
 * const { circuit, token, lastError } = client.status();
 * ```
 */
export interface AttestorClientStatus {
  /** The circuit breaker: `open` means attestations fail at once until `retryAtMs`. */
  readonly circuit: CircuitState;
  readonly retryAtMs?: number;
  /**
   * The cached (unbound) token: `fresh`, `refresh_due` (a background refresh is due, more than 20%
   * of its life left), `expiring` (20% or less left: the next getToken waits for a new one) or `none`.
   */
  readonly token: 'none' | 'fresh' | 'refresh_due' | 'expiring';
  /** Consecutive failed attestations. */
  readonly consecutiveFailures: number;
  /** The most recent failure, with the local time it happened. */
  readonly lastError?: { readonly code: AttestorErrorCode; readonly status?: number; readonly atMs: number };
}

/**
 * Options of AttestorClient.
 * @example
 * ```ts
 * const options: AttestorClientOptions = {
 *   endpoint: 'https://attest.example.com',
 *   appId: 'com.example.app',
 *   appVersion: '1.4.2',
 *   packageSource: filePackageSource(process.execPath),
 *   keyStore: fileKeyStore(path.join(dataDir, 'attestor-install-key.json')),
 *   hosts: ['api.example.com'],
 *   onEvent: (event) => log.info('attestor', event),
 * };
 * ```
 */
export interface AttestorClientOptions {
  /** Base URL of the Attestor API; `/v1/challenge` and `/v1/attest` are appended. */
  readonly endpoint: string;
  /** Reverse-DNS app id as registered, e.g. `com.example.app`. */
  readonly appId: string;
  /** Version string as registered, e.g. `1.4.2`. */
  readonly appVersion: string;
  /** Digest of the running package; asked once per client. */
  readonly packageSource: PackageSource;
  /** Where the install key lives. @default memoryKeyStore(): a new install key per client */
  readonly keyStore?: KeyStore;
  /** Device integrity signals, from one provider or several (a signal is true if any says so). @default none: all false */
  readonly signals?: SignalProvider | readonly SignalProvider[];
  /** @default platform, osVersion and model "unknown" */
  readonly device?: DeviceInfo;
  /** Budget of one attestation in ms: local preparation, every request and every retry. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * A debug secret from `attestor devices add --debug` (base64url of 32 bytes), for CI and
   * emulators: lets this install pass and shows it as debug in the attestation log. Never ship it
   * in a release build.
   */
  readonly debugSecret?: string;
  /**
   * Where `fetch` attaches tokens (see parseHostRule for the forms: `api.example.com`,
   * `*.example.com`, `https://api.example.com:8443`, `http://10.0.2.2:3000`). Requests to other
   * hosts go out untouched. @default the endpoint's origin
   */
  readonly hosts?: readonly string[];
  /** Add `Attestor-Proof` (proof of possession of the install key) to every request `fetch` decorates. @default false */
  readonly proof?: boolean;
  /** Bind the tokens `fetch` attaches to each request's Authorization header (claim `pay`). @default no binding */
  readonly bindTo?: 'authorization';
  readonly retry?: RetryOptions;
  readonly circuit?: CircuitOptions;
  /** Listener for every AttestorEvent; more can be added with onEvent(). */
  readonly onEvent?: (event: AttestorEvent) => void;
  /** The transport. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Local time in ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Waits between retries. @default a setTimeout promise */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Per-call options of getToken and getLimitedUseToken.
 * @example
 * ```ts
 * const token = await client.getToken({ binding: `Bearer ${accessToken}` });
 * ```
 */
export interface TokenOptions {
  /**
   * A value the token is bound to, typically the Authorization header of the request it will
   * accompany. The SDK sends only `base64url(SHA-256(value))` as `binding`; the token carries it
   * as claim `pay`. Each distinct value gets its own token.
   */
  readonly binding?: string;
}

/**
 * Per-request options of `fetch`, passed as `init.attestor`; each overrides the client's option.
 * @example
 * ```ts
 * await client.fetch(url, { method: 'POST', body, attestor: { limitedUse: true, proof: true } });
 * ```
 */
export interface RequestAttestation {
  /** Add `Attestor-Proof`. */
  readonly proof?: boolean;
  /** `'authorization'` binds the token to this request's Authorization header; `'none'` sends an unbound token. */
  readonly bindTo?: 'authorization' | 'none';
  /** Use a fresh single-use token (getLimitedUseToken) for this request. */
  readonly limitedUse?: boolean;
}

/**
 * RequestInit plus the SDK's per-request options.
 * @example
 * ```ts
 * const init: AttestorRequestInit = { method: 'DELETE', attestor: { limitedUse: true } };
 * ```
 */
export interface AttestorRequestInit extends RequestInit {
  readonly attestor?: RequestAttestation;
}

interface CachedToken {
  readonly token: string;
  /** Local time the token arrived, in ms. */
  readonly receivedAtMs: number;
  /** exp - iat from the token itself, in ms: server clock against server clock, so local skew does not matter. */
  readonly lifetimeMs: number;
  /** Age after which a background refresh starts. */
  readonly backgroundAfterMs: number;
  /** Age after which getToken waits for a new token. */
  readonly refreshAfterMs: number;
  /** The install key that attested; a proof must be signed by it to match the token's cnf.jkt. */
  readonly key: InstallKey;
}

interface TokenSlot {
  entry?: CachedToken;
  inflight?: Promise<CachedToken>;
}

interface Prepared {
  readonly digest: Uint8Array;
  readonly key: InstallKey;
  readonly signals: DeviceSignals;
  readonly binding: string | undefined;
  readonly limitedUse: boolean;
}

/** A token is handed out while more than this fraction of its life is left. */
const REFRESH_AT_REMAINING = 0.2;
/** Below this fraction left, getToken still answers from the cache but refreshes in the background. */
const BACKGROUND_REFRESH_AT_REMAINING = 1 / 3;
/** Bound tokens kept per client; apps rotate a handful of Authorization values at most. */
const MAX_BOUND_SLOTS = 8;
const DEFAULT_TIMEOUT_MS = 10_000;
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const UNKNOWN_DEVICE: DeviceInfo = { platform: 'unknown', osVersion: 'unknown', model: 'unknown' };

/** Cuts to `max` UTF-16 code units (the unit the service counts) without splitting a surrogate pair. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Platform fetch says only "fetch failed"; the cause's code (ECONNREFUSED, ENOTFOUND) is what helps.
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}

/** Reads iat from the token's claims; the client does not verify the token (it cannot: see PROTOCOL.md §6). */
function tokenIssuedAt(token: string): number | undefined {
  const payload = token.split('.')[1];
  const bytes = payload === undefined ? undefined : decodeB64u(payload);
  if (!bytes) return undefined;
  try {
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return isRecord(claims) && typeof claims['iat'] === 'number' ? claims['iat'] : undefined;
  } catch {
    return undefined;
  }
}

function localFailure(what: string): (error: unknown) => never {
  return (error) => {
    throw error instanceof AttestorError ? error : new AttestorError('local_error', `${what} failed: ${describe(error)}`, { cause: error });
  };
}

/** Rejects as soon as `signal` aborts; the underlying work goes on (it may be shared with other callers). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

type RequestLike = { readonly url: string; readonly method: string; readonly headers: Headers; readonly signal?: AbortSignal };

function asRequest(input: RequestInfo | URL): RequestLike | undefined {
  return typeof input === 'object' && !('href' in input) && typeof (input as RequestLike).url === 'string' ? (input as RequestLike) : undefined;
}

/**
 * Client of the Attestor service: measures the app, proves possession of its install key and
 * returns short-lived tokens for the `Attestor-Token` header, or attaches them itself through
 * `fetch`.
 *
 * The client never learns whether an attestation passed: a failing one gets a token of the same
 * shape that the protected API rejects (PROTOCOL.md §5.3).
 * @example
 * ```ts
 * const attestor = new AttestorClient({
 *   endpoint: 'https://attest.example.com',
 *   appId: 'com.example.app',
 *   appVersion: '1.4.2',
 *   packageSource: filePackageSource(process.execPath),
 *   keyStore: fileKeyStore(path.join(dataDir, 'attestor-install-key.json')),
 *   hosts: ['api.example.com'],
 * });
 * void attestor.prefetch();
 * const response = await attestor.fetch('https://api.example.com/orders');
 * ```
 */
export class AttestorClient {
  private readonly endpoint: string;
  private readonly appId: string;
  private readonly appVersion: string;
  private readonly packageSource: PackageSource;
  private readonly keyStore: KeyStore;
  private readonly signalProviders: readonly SignalProvider[];
  private readonly device: DeviceInfo;
  private readonly timeoutMs: number;
  private readonly debugSecret: string | undefined;
  private readonly hostRules: readonly HostRule[];
  private readonly proof: boolean;
  private readonly bindTo: 'authorization' | undefined;
  private readonly retry: RetryPolicy;
  private readonly circuit: Circuit;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly listeners = new Set<(event: AttestorEvent) => void>();

  private digest: Promise<Uint8Array> | undefined;
  private installKey: Promise<InstallKey> | undefined;
  /** A key in use but not saved (the store failed); saved or reused on the next try, so the install keeps one identity. */
  private unsavedKey: StoredInstallKey | undefined;
  private readonly unbound: TokenSlot = {};
  private readonly bound = new Map<string, TokenSlot>();
  private lastError: AttestorClientStatus['lastError'];

  /**
   * Checks the options (throws AttestorError `invalid_request` naming the field) but does no I/O.
   * @example
   * ```ts
   * const client = new AttestorClient({ endpoint, appId: 'com.example.app', appVersion: '1.0.0', packageSource });
   * ```
   */
  constructor(options: AttestorClientOptions) {
    const invalid = (field: string, message: string) => new AttestorError('invalid_request', `${field} ${message}`, { field });
    // Checked here with the service's own rules so a typo fails at start-up, not as a wasted nonce.
    let endpointUrl: URL;
    try {
      endpointUrl = new URL(options.endpoint);
    } catch {
      throw invalid('endpoint', 'must be an http(s) URL');
    }
    if (!/^https?:\/\/[^/]/.test(options.endpoint) || endpointUrl.search || endpointUrl.hash) throw invalid('endpoint', 'must be an http(s) URL without query or fragment');
    if (typeof options.appId !== 'string' || options.appId.length > MAX_APP_ID_CHARS || !APP_ID_PATTERN.test(options.appId)) {
      throw invalid('appId', 'must be reverse-DNS style (e.g. com.example.app), at most 255 characters');
    }
    if (typeof options.appVersion !== 'string' || options.appVersion.length > 64 || !VERSION_PATTERN.test(options.appVersion)) {
      throw invalid('appVersion', 'must be 1-64 characters of letters, digits and . _ + -, starting with a letter or digit');
    }
    if (typeof options.packageSource?.digest !== 'function') throw invalid('packageSource', 'must have a digest() method');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw invalid('timeoutMs', 'must be a positive number of milliseconds');
    // The secret itself never appears in the message.
    if (options.debugSecret !== undefined && (typeof options.debugSecret !== 'string' || decodeB64u(options.debugSecret)?.length !== 32)) {
      throw invalid('debugSecret', 'must be base64url of 32 bytes (43 characters), as printed by `attestor devices add --debug`');
    }
    const hostEntries = options.hosts ?? [endpointUrl.origin];
    const hostRules = hostEntries.map((entry) => {
      const rule = parseHostRule(entry);
      if (!rule) throw invalid('hosts', `entry ${JSON.stringify(String(entry))} must be a host (api.example.com), a wildcard (*.example.com) or an origin (https://api.example.com:8443)`);
      return rule;
    });
    if (options.bindTo !== undefined && options.bindTo !== 'authorization') throw invalid('bindTo', 'must be "authorization" when set');
    const retry = resolveRetry(options.retry);
    if (typeof retry === 'string') throw invalid(retry, 'is out of range');
    const circuit = resolveCircuit(options.circuit);
    if (typeof circuit === 'string') throw invalid(circuit, 'is out of range');
    const globalFetch = globalThis.fetch as typeof fetch | undefined;
    if (options.fetch === undefined && typeof globalFetch !== 'function') throw invalid('fetch', 'is required on platforms without a global fetch');

    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.appId = options.appId;
    this.appVersion = options.appVersion;
    this.packageSource = options.packageSource;
    this.keyStore = options.keyStore ?? memoryKeyStore();
    this.signalProviders = options.signals === undefined ? [] : Array.isArray(options.signals) ? [...options.signals] : [options.signals as SignalProvider];
    const device = options.device ?? UNKNOWN_DEVICE;
    this.device = { platform: clip(device.platform, 32), osVersion: clip(device.osVersion, 64), model: clip(device.model, 128) };
    this.timeoutMs = timeoutMs;
    this.debugSecret = options.debugSecret;
    this.hostRules = hostRules;
    this.proof = options.proof === true;
    this.bindTo = options.bindTo;
    this.retry = retry;
    // Bound so a platform fetch that checks its `this` (browsers, some polyfills) keeps working.
    this.fetchFn = options.fetch ?? globalFetch!.bind(globalThis);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.circuit = new Circuit(circuit, this.random, (state, retryAtMs) => this.emit({ type: 'circuit', state, ...(retryAtMs !== undefined ? { retryAtMs } : {}) }));
    if (options.onEvent) this.listeners.add(options.onEvent);
  }

  /**
   * Returns a token for the `Attestor-Token` header. A cached token is returned while more than
   * 20% of its life is left (its age measured on the local clock from its arrival); once a third
   * or less is left, the cached token is still returned and a new one is fetched in the
   * background. Concurrent callers share one attestation. A new `binding` value gets its own token.
   *
   * If a refresh fails while the cached token has not yet expired, that token is returned (event
   * `stale_token`): the API still checks `exp`, and a valid token beats none. Otherwise the failure
   * (an AttestorError) goes to every waiting caller and is not remembered: the next call tries
   * again, unless the circuit is open.
   * @example
   * ```ts
   * headers.set('Attestor-Token', await client.getToken());
   * headers.set('Attestor-Token', await client.getToken({ binding: headers.get('Authorization')! }));
   * ```
   */
  getToken(options?: TokenOptions): Promise<string> {
    // The hot path: no allocation but the promise, no await (a cached token costs well under a microsecond).
    const binding = options?.binding;
    const entry = (binding === undefined ? this.unbound : this.bound.get(binding))?.entry;
    if (entry !== undefined) {
      const age = this.now() - entry.receivedAtMs;
      if (age >= 0 && age < entry.backgroundAfterMs) return Promise.resolve(entry.token);
    }
    return this.cachedEntry(binding).then((e) => e.token);
  }

  /**
   * Runs a fresh attestation for a single-use token (`limitedUse: true`, claim `lut`), never
   * cached: for sensitive calls that the API accepts at most once per token.
   * @example
   * ```ts
   * const token = await client.getLimitedUseToken();
   * await fetch('https://api.example.com/transfer', { method: 'POST', headers: { 'Attestor-Token': token }, body });
   * ```
   */
  async getLimitedUseToken(options?: TokenOptions): Promise<string> {
    const binding = options?.binding;
    if (binding !== undefined && typeof binding !== 'string') throw new AttestorError('invalid_request', 'binding must be a string', { field: 'binding' });
    return (await this.attestation({ binding, limitedUse: true, background: false })).token;
  }

  /**
   * A drop-in `fetch`: requests to the configured `hosts` get an `Attestor-Token` header (and
   * `Attestor-Proof` when asked); requests elsewhere go out untouched. When no token can be had,
   * the request still goes out, without a token and with `Attestor-Status` saying why, so the
   * backend decides. It rejects only where the platform fetch would (network failure, abort); an
   * abort signal also ends the wait for a token. A request that already has an `Attestor-Token`
   * header is left as it is.
   * @example
   * ```ts
   * const response = await client.fetch('https://api.example.com/orders', {
   *   method: 'POST',
   *   headers: { authorization: `Bearer ${session}`, 'content-type': 'application/json' },
   *   body: JSON.stringify(order),
   *   attestor: { bindTo: 'authorization', proof: true },
   * });
   * ```
   */
  readonly fetch = async (input: RequestInfo | URL, init?: AttestorRequestInit): Promise<Response> => {
    let outgoing: RequestInit | undefined;
    try {
      outgoing = await this.decorate(input, init);
    } catch {
      // A fault of the SDK itself must not cost the app its request.
      outgoing = init === undefined ? undefined : withoutAttestor(init);
      this.emit({ type: 'request_without_token', status: 'client_error', code: 'unexpected', host: safeHost(asRequest(input)?.url ?? String(input)) });
    }
    return this.fetchFn(input, outgoing);
  };

  /**
   * Starts hashing the package, loading the install key and attesting now, so the first request
   * does not wait; call it at app start. Resolves when that work (or a refresh already running) is
   * done. Never rejects: failures go to `onEvent`.
   * @example
   * ```ts
   * app.whenReady().then(() => void attestor.prefetch());
   * ```
   */
  async prefetch(): Promise<void> {
    const ignore = () => undefined;
    await this.cachedEntry(undefined).then(ignore, ignore);
    await this.unbound.inflight?.then(ignore, ignore);
  }

  /**
   * Forgets every cached token, so the next getToken attests again (e.g. after the API rejected one).
   * @example
   * ```ts
   * if (response.status === 403) client.invalidate();
   * ```
   */
  invalidate(): void {
    this.unbound.entry = undefined;
    for (const slot of this.bound.values()) slot.entry = undefined;
  }

  /**
   * Adds an event listener; returns a function that removes it. Listeners are called
   * synchronously; one that throws is ignored.
   * @example
   * ```ts
   * const stop = client.onEvent((event) => console.log('[attestor]', JSON.stringify(event)));
   * ```
   */
  onEvent(listener: (event: AttestorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * The client's state right now (no I/O).
   * @example
   * ```ts
   * console.log(client.status()); // { circuit: 'closed', token: 'fresh', consecutiveFailures: 0 }
   * ```
   */
  status(): AttestorClientStatus {
    const now = this.now();
    const entry = this.unbound.entry;
    const age = entry ? now - entry.receivedAtMs : -1;
    let token: AttestorClientStatus['token'] = 'none';
    if (entry && age >= 0) {
      if (age < entry.backgroundAfterMs) token = 'fresh';
      else if (age < entry.refreshAfterMs) token = 'refresh_due';
      else if (age < entry.lifetimeMs) token = 'expiring';
    }
    const circuit = this.circuit.state(now);
    const retryAtMs = this.circuit.retryAtMs();
    return {
      circuit,
      ...(circuit !== 'closed' && retryAtMs !== undefined ? { retryAtMs } : {}),
      token,
      consecutiveFailures: this.circuit.consecutiveFailures(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private emit(event: AttestorEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken logger must not break attestation.
      }
    }
  }

  private slotFor(binding: string | undefined): TokenSlot {
    if (binding === undefined) return this.unbound;
    let slot = this.bound.get(binding);
    if (!slot) {
      if (this.bound.size >= MAX_BOUND_SLOTS) this.bound.delete(this.bound.keys().next().value!);
      slot = {};
      this.bound.set(binding, slot);
    }
    return slot;
  }

  private async cachedEntry(binding: string | undefined): Promise<CachedToken> {
    if (binding !== undefined && typeof binding !== 'string') throw new AttestorError('invalid_request', 'binding must be a string', { field: 'binding' });
    const slot = this.slotFor(binding);
    const entry = slot.entry;
    const age = entry ? this.now() - entry.receivedAtMs : -1;
    if (entry && age >= 0) {
      if (age < entry.backgroundAfterMs) return entry;
      if (age < entry.refreshAfterMs) {
        // While the circuit is open a refresh would only fail (and report it) on every call.
        if (this.circuit.state(this.now()) !== 'open') this.refresh(slot, binding, true).catch(() => undefined);
        return entry;
      }
    }
    try {
      return await this.refresh(slot, binding, false);
    } catch (error) {
      const current = slot.entry;
      const currentAge = current ? this.now() - current.receivedAtMs : -1;
      if (current && currentAge >= 0 && currentAge < current.lifetimeMs) {
        this.emit({ type: 'stale_token', code: error instanceof AttestorError ? error.code : 'local_error', expiresInMs: current.lifetimeMs - currentAge });
        return current;
      }
      throw error;
    }
  }

  private refresh(slot: TokenSlot, binding: string | undefined, background: boolean): Promise<CachedToken> {
    slot.inflight ??= this.attestation({ binding, limitedUse: false, background })
      .then((entry) => {
        slot.entry = entry;
        return entry;
      })
      .finally(() => {
        slot.inflight = undefined;
      });
    return slot.inflight;
  }

  /** One attestation with retries, under the circuit breaker and one deadline. */
  private async attestation(request: { binding: string | undefined; limitedUse: boolean; background: boolean }): Promise<CachedToken> {
    const startedMs = this.now();
    const deadlineMs = startedMs + this.timeoutMs;
    let attempts = 0;
    const fail = (error: AttestorError): never => {
      this.lastError = { code: error.code, ...(error.status !== undefined ? { status: error.status } : {}), atMs: this.now() };
      this.emit({
        type: 'attestation_failed',
        code: error.code,
        ...(error.status !== undefined ? { status: error.status } : {}),
        message: error.message,
        background: request.background,
        attempts,
        durationMs: this.now() - startedMs,
      });
      throw error;
    };

    let prepared: Prepared;
    try {
      prepared = await this.withDeadline(this.prepare(request.binding, request.limitedUse), deadlineMs);
    } catch (error) {
      return fail(error instanceof AttestorError ? error : new AttestorError('local_error', describe(error), { cause: error }));
    }

    const admission = this.circuit.admit(this.now());
    if ('refused' in admission) return fail(admission.refused);
    const ticket: CircuitTicket = admission.ticket;
    for (;;) {
      attempts++;
      let error: AttestorError;
      try {
        const entry = await this.exchange(prepared, deadlineMs);
        this.circuit.succeeded(ticket);
        this.emit({
          type: 'token_issued',
          limitedUse: request.limitedUse,
          bound: request.binding !== undefined,
          background: request.background,
          attempts,
          durationMs: this.now() - startedMs,
        });
        return entry;
      } catch (caught) {
        error = caught instanceof AttestorError ? caught : new AttestorError('local_error', describe(caught), { cause: caught });
      }
      const delayMs = this.retryDelay(error, attempts, deadlineMs);
      if (delayMs === undefined) {
        if (error.code === 'local_error') {
          this.circuit.released(ticket);
        } else {
          this.circuit.failed(ticket, error, this.now());
          if (error.retryAtMs !== undefined && error.retryAtMs > this.now()) this.circuit.holdUntil(error.retryAtMs, error);
        }
        return fail(error);
      }
      this.emit({ type: 'retry', attempt: attempts, delayMs, code: error.code, ...(error.status !== undefined ? { status: error.status } : {}) });
      if (delayMs > 0) await this.sleep(delayMs);
    }
  }

  /** The wait before the next attempt, or undefined to give up. */
  private retryDelay(error: AttestorError, attempts: number, deadlineMs: number): number | undefined {
    if (!isRetryable(error) || attempts >= this.retry.maxAttempts) return undefined;
    const now = this.now();
    // A 409 means the nonce is gone: a new challenge can follow at once.
    const delayMs = error.code === 'nonce_invalid' ? 0 : error.retryAtMs !== undefined ? Math.max(0, error.retryAtMs - now) : backoffDelayMs(this.retry, attempts, this.random);
    return now + delayMs < deadlineMs ? delayMs : undefined;
  }

  /** Everything slow and local, done before the challenge so the 60 s nonce life is spent only on the exchange. */
  private async prepare(binding: string | undefined, limitedUse: boolean): Promise<Prepared> {
    const [digest, key, signals, bindingHash] = await Promise.all([
      this.packageDigest().catch(localFailure('the package source')),
      this.loadInstallKey().catch(localFailure('the install key')),
      readSignals(this.signalProviders).catch(localFailure('a signal provider')),
      binding === undefined ? undefined : sha256(utf8(binding)),
    ]);
    return { digest, key, signals, binding: bindingHash ? encodeB64u(bindingHash) : undefined, limitedUse };
  }

  private withDeadline<T>(work: Promise<T>, deadlineMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new AttestorError('timeout', `preparing the attestation (package digest, install key, signals) took longer than ${this.timeoutMs} ms`)),
        Math.max(0, deadlineMs - this.now()),
      );
      work.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }

  /** One challenge and one attest. Throws AttestorError only. */
  private async exchange(prepared: Prepared, deadlineMs: number): Promise<CachedToken> {
    const challenge = await this.post('/v1/challenge', { appId: this.appId }, deadlineMs);
    const nonceText = challenge['nonce'];
    const nonce = typeof nonceText === 'string' ? decodeB64u(nonceText) : undefined;
    if (nonce?.length !== NONCE_BYTES || typeof challenge['expiresAt'] !== 'number') {
      throw new AttestorError('service_error', 'challenge response does not follow the protocol');
    }

    let measurement: Uint8Array;
    let proof: Uint8Array;
    try {
      measurement = await computeMeasurement(nonce, this.appId, this.appVersion, prepared.digest);
      proof = await signInstallProof(prepared.key.privateKey, nonce, measurement);
    } catch (error) {
      throw new AttestorError('local_error', `signing the attestation failed: ${describe(error)}`, { cause: error });
    }
    const answer = await this.post(
      '/v1/attest',
      {
        nonce: nonceText,
        appId: this.appId,
        appVersion: this.appVersion,
        measurement: encodeB64u(measurement),
        installKey: prepared.key.publicJwk,
        installProof: encodeB64u(proof),
        device: { ...this.device, signals: prepared.signals },
        sdkVersion: SDK_VERSION,
        ...(prepared.binding !== undefined ? { binding: prepared.binding } : {}),
        ...(prepared.limitedUse ? { limitedUse: true } : {}),
        ...(this.debugSecret !== undefined ? { debugSecret: this.debugSecret } : {}),
      },
      deadlineMs,
    );
    const receivedAtMs = this.now();
    const token = answer['token'];
    const expiresAt = answer['expiresAt'];
    const issuedAt = typeof token === 'string' ? tokenIssuedAt(token) : undefined;
    if (typeof token !== 'string' || typeof expiresAt !== 'number' || issuedAt === undefined || expiresAt <= issuedAt) {
      throw new AttestorError('service_error', 'attest response does not follow the protocol');
    }
    const lifetimeMs = (expiresAt - issuedAt) * 1000;
    return {
      token,
      receivedAtMs,
      lifetimeMs,
      backgroundAfterMs: lifetimeMs * (1 - BACKGROUND_REFRESH_AT_REMAINING),
      refreshAfterMs: lifetimeMs * (1 - REFRESH_AT_REMAINING),
      key: prepared.key,
    };
  }

  /** Hashing a package can take seconds, so it happens once per client; a failure is retried next time. */
  private packageDigest(): Promise<Uint8Array> {
    if (!this.digest) {
      const pending = Promise.resolve()
        .then(() => this.packageSource.digest())
        .then((digest) => {
          if (!(digest instanceof Uint8Array) || digest.length !== 32) throw new TypeError('PackageSource.digest() must return the 32-byte SHA-256 of the package');
          return digest;
        });
      this.digest = pending;
      pending.catch(() => {
        if (this.digest === pending) this.digest = undefined;
      });
    }
    return this.digest;
  }

  private loadInstallKey(): Promise<InstallKey> {
    // Shared so two concurrent first attestations cannot each generate (and save) a different key.
    if (!this.installKey) {
      const pending = resolveInstallKey(this.keyStore, this.unsavedKey).then((resolved) => {
        this.emit({ type: 'install_key', outcome: resolved.outcome, ...(resolved.problem !== undefined ? { problem: resolved.problem } : {}) });
        this.unsavedKey = resolved.unsaved;
        // An in-memory key stands in only until the store works again: ask it again next time.
        if (resolved.outcome === 'ephemeral' && this.installKey === pending) this.installKey = undefined;
        return resolved.key;
      });
      this.installKey = pending;
      pending.catch(() => {
        if (this.installKey === pending) this.installKey = undefined;
      });
    }
    return this.installKey;
  }

  /** POSTs JSON and maps every outcome other than 200 with a JSON object body to an AttestorError. */
  private async post(path: string, body: Record<string, unknown>, deadlineMs: number): Promise<Record<string, unknown>> {
    const remainingMs = deadlineMs - this.now();
    const timeoutError = (cause?: unknown) => new AttestorError('timeout', `the attestation took longer than ${this.timeoutMs} ms (at POST ${path})`, cause === undefined ? {} : { cause });
    if (remainingMs <= 0) throw timeoutError();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, remainingMs);
    try {
      let response: Response;
      let payload: unknown;
      try {
        response = await this.fetchFn(`${this.endpoint}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
        payload = await response.json().catch((error: unknown) => {
          if (timedOut) throw error;
          return undefined;
        });
      } catch (error) {
        if (timedOut) throw timeoutError(error);
        throw new AttestorError('network', `POST ${path} failed: ${describe(error)}`, { cause: error });
      }
      const status = response.status;
      const errorBody = isRecord(payload) ? payload : {};
      if (status === 200 && isRecord(payload)) return payload;
      if (status === 400) {
        const field = typeof errorBody['field'] === 'string' ? errorBody['field'] : undefined;
        const detail = typeof errorBody['message'] === 'string' ? errorBody['message'] : 'request rejected';
        throw new AttestorError('invalid_request', `service rejected POST ${path}: ${detail}`, { status, ...(field !== undefined ? { field } : {}) });
      }
      if (status === 409) throw new AttestorError('nonce_invalid', 'nonce was unknown, already used or expired', { status });
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after'), this.now()) : undefined;
      const retryAt = retryAfterMs === undefined ? {} : { retryAtMs: this.now() + retryAfterMs };
      if (status === 429) throw new AttestorError('rate_limited', `POST ${path} answered HTTP 429`, { status, ...retryAt });
      const code = typeof errorBody['error'] === 'string' ? ` (${errorBody['error']})` : '';
      throw new AttestorError('service_error', `POST ${path} answered HTTP ${status}${code}`, { status, ...retryAt });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Works out the headers `fetch` sends; throws only on an SDK bug (the caller then sends the request as given). */
  private async decorate(input: RequestInfo | URL, init: AttestorRequestInit | undefined): Promise<RequestInit | undefined> {
    const rest = init === undefined ? undefined : withoutAttestor(init);
    const perRequest = init?.attestor;
    const request = asRequest(input);
    const url = targetUrl(input, request);
    if (!url || !hostAllowed(this.hostRules, url)) return rest;
    const headers = new Headers(rest?.headers ?? request?.headers);
    if (headers.has(TOKEN_HEADER_NAME)) return rest;
    const method = (rest?.method ?? request?.method ?? 'GET').toUpperCase();
    const bindTo = perRequest?.bindTo ?? this.bindTo;
    const binding = bindTo === 'authorization' ? (headers.get('authorization') ?? undefined) : undefined;
    const signal = rest?.signal ?? request?.signal;
    let sentMethod: string | undefined;
    try {
      const pending = perRequest?.limitedUse ? this.attestation({ binding, limitedUse: true, background: false }) : this.cachedEntry(binding);
      pending.catch(() => undefined);
      const entry = await untilAborted(pending, signal);
      headers.set(TOKEN_HEADER_NAME, entry.token);
      if (perRequest?.proof ?? this.proof) {
        headers.set(PROOF_HEADER_NAME, await createRequestProof(entry.key, { method, url, token: entry.token, nowSeconds: this.now() / 1000 }));
        // fetch upper-cases only the six standard methods; sending `patch` while the proof says
        // PATCH would fail the verifier's exact comparison.
        sentMethod = method;
      }
    } catch (error) {
      // The platform fetch rejects an aborted request itself, exactly as it would without the SDK.
      if (signal?.aborted) return rest;
      headers.delete(TOKEN_HEADER_NAME);
      headers.delete(PROOF_HEADER_NAME);
      const status = attestorStatusOf(error);
      headers.set(STATUS_HEADER, status);
      this.emit({ type: 'request_without_token', status, code: error instanceof AttestorError ? error.code : 'unexpected', host: url.host });
    }
    return { ...rest, headers, ...(sentMethod !== undefined ? { method: sentMethod } : {}) };
  }
}

function withoutAttestor(init: AttestorRequestInit): RequestInit {
  if (!('attestor' in init)) return init;
  const { attestor: _ignored, ...rest } = init;
  return rest;
}

function targetUrl(input: RequestInfo | URL, request: RequestLike | undefined): URL | undefined {
  try {
    const raw = typeof input === 'string' ? input : request ? request.url : (input as URL).href;
    // Relative URLs resolve against the page in browsers and Electron renderers, as fetch does.
    const base = (globalThis as { location?: { href?: unknown } }).location?.href;
    return new URL(raw, typeof base === 'string' ? base : undefined);
  } catch {
    return undefined;
  }
}

function safeHost(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return '';
  }
}
