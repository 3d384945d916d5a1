import { AttestorError } from './errors';
import { loadOrCreateInstallKey, memoryKeyStore, type InstallKey, type KeyStore } from './install-key';
import type { PackageSource } from './package-source';
import { computeMeasurement, decodeB64u, encodeB64u, NONCE_BYTES, sha256, signInstallProof, utf8 } from './protocol';
import { SDK_VERSION } from './version';

/**
 * What the device reports about its own integrity. The service's policy decides which of them fail
 * an attestation (by default only `hooked`).
 * @example
 * ```ts
 * const signals: DeviceSignals = { rooted: false, emulator: true, debugger: false, hooked: false };
 * ```
 */
export interface DeviceSignals {
  readonly rooted: boolean;
  readonly emulator: boolean;
  readonly debugger: boolean;
  readonly hooked: boolean;
}

/**
 * Source of DeviceSignals, called once per attestation (so results may change while the app runs).
 * @example
 * ```ts
 * const signals: SignalProvider = { signals: async () => ({ ...(await jailMonkey.check()), hooked: false }) };
 * ```
 */
export interface SignalProvider {
  signals(): Promise<DeviceSignals>;
}

/**
 * Descriptive device fields, sent as `device.platform`, `device.osVersion` and `device.model`.
 * Longer values are cut to the protocol limits (32, 64 and 128 UTF-16 code units) rather than
 * rejected, so an unusual device name cannot lock an app out.
 * @example
 * ```ts
 * const device: DeviceInfo = { platform: 'android', osVersion: '14', model: 'Pixel 8' };
 * ```
 */
export interface DeviceInfo {
  readonly platform: string;
  readonly osVersion: string;
  readonly model: string;
}

/**
 * Options of AttestorClient.
 * @example
 * ```ts
 * const options: AttestorClientOptions = {
 *   endpoint: 'https://attest.example.com',
 *   appId: 'com.example.app',
 *   appVersion: '1.4.2',
 *   packageSource: bytesPackageSource(bundleBytes),
 *   keyStore: memoryKeyStore(),
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
  /** Digest of the running package; called once per client. */
  readonly packageSource: PackageSource;
  /** Where the install key lives. Defaults to memory: a new install key per client. */
  readonly keyStore?: KeyStore;
  /** Device integrity signals. Defaults to all false. */
  readonly signals?: SignalProvider;
  /** Defaults to platform, osVersion and model "unknown". */
  readonly device?: DeviceInfo;
  /** Limit for each HTTP request, in milliseconds. Default 10 000. */
  readonly timeoutMs?: number;
  /** Defaults to `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** Current time in milliseconds since the epoch, like `Date.now` (the default). Used only to age cached tokens. */
  readonly now?: () => number;
}

/**
 * Per-call options of `attest()`.
 * @example
 * ```ts
 * await client.attest({ bind: `Bearer ${accessToken}`, limitedUse: true });
 * ```
 */
export interface AttestOptions {
  /**
   * A value to bind the token to, e.g. the Authorization header of the request it will accompany.
   * The SDK sends only its SHA-256 (`binding`); the token carries it as claim `pay`.
   */
  readonly bind?: string | Uint8Array;
  /** Ask for a single-use token (claim `lut: true`). */
  readonly limitedUse?: boolean;
}

/**
 * A token as returned by the service.
 * @example
 * ```ts
 * const { token, expiresAt } = await client.attest();
 * ```
 */
export interface AttestationResult {
  /** Compact JWS to send in header `Attestor-Token`. */
  readonly token: string;
  /** Unix seconds (server clock) after which the token is rejected. */
  readonly expiresAt: number;
}

interface CachedToken extends AttestationResult {
  /** Local time the token arrived, in ms. */
  readonly receivedAtMs: number;
  /** exp - iat from the token itself, in ms: server clock against server clock, so local skew does not matter. */
  readonly lifetimeMs: number;
}

/** A token is reused while more than this fraction of its life is left. */
const REFRESH_AT_REMAINING = 0.2;
const DEFAULT_TIMEOUT_MS = 10_000;
const APP_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$/;
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const ALL_CLEAR: DeviceSignals = { rooted: false, emulator: false, debugger: false, hooked: false };
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

/**
 * Client of the Attestor service: measures the app, proves possession of its install key and
 * returns short-lived tokens for the `Attestor-Token` header.
 *
 * The client never learns whether an attestation passed: a failing one gets a token of the same
 * shape that the protected API rejects (PROTOCOL.md §5).
 * @example
 * ```ts
 * const client = new AttestorClient({
 *   endpoint: 'https://attest.example.com',
 *   appId: 'com.example.app',
 *   appVersion: '1.4.2',
 *   packageSource: filePackageSource(process.execPath),
 *   keyStore: fileKeyStore(`${userData}/attestor-key.json`),
 * });
 * const response = await fetch('https://api.example.com/orders', {
 *   headers: { 'Attestor-Token': await client.getToken() },
 * });
 * ```
 */
export class AttestorClient {
  private readonly endpoint: string;
  private readonly appId: string;
  private readonly appVersion: string;
  private readonly packageSource: PackageSource;
  private readonly keyStore: KeyStore;
  private readonly signalProvider: SignalProvider | undefined;
  private readonly device: DeviceInfo;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;

  private digest: Promise<Uint8Array> | undefined;
  private installKey: Promise<InstallKey> | undefined;
  private cached: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;

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
    if (!/^https?:\/\/[^/]/.test(options.endpoint)) throw invalid('endpoint', 'must be an http(s) URL');
    if (options.appId.length > 255 || !APP_ID_PATTERN.test(options.appId)) throw invalid('appId', 'must be reverse-DNS style (e.g. com.example.app), at most 255 characters');
    if (options.appVersion.length > 64 || !VERSION_PATTERN.test(options.appVersion)) throw invalid('appVersion', 'must be 1-64 characters of letters, digits and . _ + -, starting with a letter or digit');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw invalid('timeoutMs', 'must be a positive number of milliseconds');
    const globalFetch = globalThis.fetch as typeof fetch | undefined;
    if (options.fetch === undefined && typeof globalFetch !== 'function') throw invalid('fetch', 'is required on platforms without a global fetch');

    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.appId = options.appId;
    this.appVersion = options.appVersion;
    this.packageSource = options.packageSource;
    this.keyStore = options.keyStore ?? memoryKeyStore();
    this.signalProvider = options.signals;
    const device = options.device ?? UNKNOWN_DEVICE;
    this.device = { platform: clip(device.platform, 32), osVersion: clip(device.osVersion, 64), model: clip(device.model, 128) };
    this.timeoutMs = timeoutMs;
    // Bound so a platform fetch that checks its `this` (browsers, some polyfills) keeps working.
    this.fetchFn = options.fetch ?? globalFetch!.bind(globalThis);
    this.now = options.now ?? Date.now;
  }

  /**
   * Returns a token for the `Attestor-Token` header. A token is reused while more than 20% of its
   * life is left and replaced by a new attestation after that; concurrent callers share one
   * attestation. A failure is thrown to every waiting caller and not remembered: the next call
   * tries again.
   * @example
   * ```ts
   * headers['Attestor-Token'] = await client.getToken();
   * ```
   */
  async getToken(): Promise<string> {
    const cached = this.cached;
    if (cached && this.isFresh(cached)) return cached.token;
    this.inflight ??= this.exchange({})
      .then((token) => {
        this.cached = token;
        return token;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return (await this.inflight).token;
  }

  /**
   * Runs one full exchange (challenge, measurement, proof, attest) and returns its token. Never
   * reads or fills getToken's cache: use it for bound or single-use tokens.
   * @example
   * ```ts
   * const { token } = await client.attest({ bind: authorizationHeader, limitedUse: true });
   * ```
   */
  async attest(options: AttestOptions = {}): Promise<AttestationResult> {
    const { token, expiresAt } = await this.exchange(options);
    return { token, expiresAt };
  }

  /**
   * Forgets the cached token, so the next getToken attests again (e.g. after the API answered 401).
   * @example
   * ```ts
   * if (response.status === 401) client.invalidate();
   * ```
   */
  invalidate(): void {
    this.cached = undefined;
  }

  private isFresh(token: CachedToken): boolean {
    const elapsed = this.now() - token.receivedAtMs;
    // A clock that went backwards says nothing about the token's age: attest again.
    return elapsed >= 0 && elapsed < token.lifetimeMs * (1 - REFRESH_AT_REMAINING);
  }

  private async exchange(options: AttestOptions): Promise<CachedToken> {
    // Everything slow and local happens before the challenge, so the 60 s nonce lifetime is spent
    // only on two HTTP round trips and two cheap crypto operations.
    const [digest, key, signals, binding] = await Promise.all([
      this.packageDigest(),
      this.loadInstallKey(),
      this.readSignals(),
      options.bind === undefined ? undefined : sha256(typeof options.bind === 'string' ? utf8(options.bind) : options.bind),
    ]);

    const challenge = await this.post('/v1/challenge', { appId: this.appId });
    const nonceText = challenge['nonce'];
    const nonce = typeof nonceText === 'string' ? decodeB64u(nonceText) : undefined;
    if (nonce?.length !== NONCE_BYTES || typeof challenge['expiresAt'] !== 'number') {
      throw new AttestorError('service_error', 'challenge response does not follow the protocol');
    }

    const measurement = await computeMeasurement(nonce, this.appId, this.appVersion, digest);
    const proof = await signInstallProof(key.privateKey, nonce, measurement);
    const answer = await this.post('/v1/attest', {
      nonce: nonceText,
      appId: this.appId,
      appVersion: this.appVersion,
      measurement: encodeB64u(measurement),
      installKey: key.publicJwk,
      installProof: encodeB64u(proof),
      device: { ...this.device, signals },
      sdkVersion: SDK_VERSION,
      ...(binding ? { binding: encodeB64u(binding) } : {}),
      ...(options.limitedUse ? { limitedUse: true } : {}),
    });
    const receivedAtMs = this.now();
    const token = answer['token'];
    const expiresAt = answer['expiresAt'];
    const issuedAt = typeof token === 'string' ? tokenIssuedAt(token) : undefined;
    if (typeof token !== 'string' || typeof expiresAt !== 'number' || issuedAt === undefined || expiresAt <= issuedAt) {
      throw new AttestorError('service_error', 'attest response does not follow the protocol');
    }
    return { token, expiresAt, receivedAtMs, lifetimeMs: (expiresAt - issuedAt) * 1000 };
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
      const pending = loadOrCreateInstallKey(this.keyStore);
      this.installKey = pending;
      pending.catch(() => {
        if (this.installKey === pending) this.installKey = undefined;
      });
    }
    return this.installKey;
  }

  private async readSignals(): Promise<DeviceSignals> {
    if (!this.signalProvider) return ALL_CLEAR;
    const s = await this.signalProvider.signals();
    // Strict booleans: the service rejects anything else, and a truthy string must not read as "clear".
    return { rooted: s.rooted === true, emulator: s.emulator === true, debugger: s.debugger === true, hooked: s.hooked === true };
  }

  /** POSTs JSON and maps every outcome other than 200 with a JSON object body to an AttestorError. */
  private async post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
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
        if (timedOut) throw new AttestorError('timeout', `POST ${path} took longer than ${this.timeoutMs} ms`, { cause: error });
        throw new AttestorError('network', `POST ${path} failed: ${(error as Error)?.message ?? 'network error'}`, { cause: error });
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
      const code = typeof errorBody['error'] === 'string' ? ` (${errorBody['error']})` : '';
      throw new AttestorError('service_error', `POST ${path} answered HTTP ${status}${code}`, { status });
    } finally {
      clearTimeout(timer);
    }
  }
}
