/**
 * AttestorClient, the SDK's one stateful object: it composes the checked options (options.ts),
 * the device's evidence (evidence.ts) and hardware keys (hardware-keys.ts), attestations with retries under the circuit breaker
 * (attester.ts, resilience.ts), the token cache (token-slots.ts) and request decoration (fetch.ts),
 * and owns the event listeners.
 */
import { Attester } from './attester';
import { AttestorError } from './errors';
import type { AttestorClientStatus, AttestorEvent } from './events';
import { LocalEvidence } from './evidence';
import { attestedFetch, type AttestorRequestInit, type FetchContext } from './fetch';
import { HardwareKeys } from './hardware-keys';
import { resolveClientOptions, type AttestorClientOptions, type ClientSettings } from './options';
import { Circuit } from './resilience';
import { TokenSlots } from './token-slots';

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
  private readonly settings: ClientSettings;
  private readonly circuit: Circuit;
  private readonly attester: Attester;
  private readonly tokens: TokenSlots;
  private readonly requests: FetchContext;
  private readonly listeners = new Set<(event: AttestorEvent) => void>();

  /**
   * Checks the options (throws AttestorError `invalid_request` naming the field) but does no I/O.
   * @example
   * ```ts
   * const client = new AttestorClient({ endpoint, appId: 'com.example.app', appVersion: '1.0.0', packageSource });
   * ```
   */
  constructor(options: AttestorClientOptions) {
    const settings = resolveClientOptions(options);
    const emit = (event: AttestorEvent) => this.emit(event);
    this.settings = settings;
    this.circuit = new Circuit(settings.circuit, settings.random, (state, retryAtMs) =>
      this.emit({ type: 'circuit', state, ...(retryAtMs !== undefined ? { retryAtMs } : {}) }),
    );
    const hardware = settings.hardware && new HardwareKeys(settings.hardware, settings, emit);
    const evidence = new LocalEvidence(settings.packageSource, settings.installKeySource, hardware, settings.signalProviders, emit);
    this.attester = new Attester(settings, this.circuit, evidence, emit);
    this.tokens = new TokenSlots((binding, background) => this.attester.attest({ binding, limitedUse: false, background }), this.circuit, settings.now, emit);
    this.requests = { settings, tokens: this.tokens, attester: this.attester, emit };
    if (settings.onEvent) this.listeners.add(settings.onEvent);
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
    const token = this.tokens.fresh(binding);
    if (token !== undefined) return Promise.resolve(token);
    return this.tokens.cachedEntry(binding).then((e) => e.token);
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
    return (await this.attester.attest({ binding, limitedUse: true, background: false })).token;
  }

  /**
   * A drop-in `fetch`: requests to the configured `hosts` get an `Attestor-Token` header (and
   * `Attestor-Proof` when asked); requests elsewhere go out untouched. When no token can be had,
   * the request still goes out, without a token and with `Attestor-Status` saying why, so the
   * backend decides. It rejects only where the platform fetch would (network failure, abort); an
   * abort signal also ends the wait for a token. A request that already has an `Attestor-Token`
   * header is left as it is. Redirects are followed by the SDK, which checks every hop against
   * `hosts` and sends the token and proof to none outside them (docs/SDK.md §3).
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
  readonly fetch = (input: RequestInfo | URL, init?: AttestorRequestInit): Promise<Response> => attestedFetch(this.requests, input, init);

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
    await this.tokens.cachedEntry(undefined).then(ignore, ignore);
    await this.tokens.unboundInflight()?.then(ignore, ignore);
  }

  /**
   * Forgets every cached token, so the next getToken attests again (e.g. after the API rejected one).
   * @example
   * ```ts
   * if (response.status === 403) client.invalidate();
   * ```
   */
  invalidate(): void {
    this.tokens.invalidate();
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
    const now = this.settings.now();
    const token = this.tokens.state(now);
    const circuit = this.circuit.state(now);
    const retryAtMs = this.circuit.retryAtMs();
    const lastError = this.attester.lastError();
    return {
      circuit,
      ...(circuit !== 'closed' && retryAtMs !== undefined ? { retryAtMs } : {}),
      token,
      consecutiveFailures: this.circuit.consecutiveFailures(),
      ...(lastError ? { lastError } : {}),
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
}
