/**
 * A verifier that keeps its tenant's keys warm: keys are loaded once, reused for every request,
 * and refetched on an unknown kid at most once per `refetchIntervalSeconds`, so a flood of tokens
 * with made-up kids cannot turn into a flood of key lookups.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock, VerificationKeySource } from './ports';
import type { TokenClaims } from './token';
import { checkToken, decodeToken, type VerifyOptions } from './verify';

export interface AttestationVerifierOptions {
  readonly keys: VerificationKeySource;
  readonly tenantId: string;
  readonly issuer: string;
  readonly clock: Clock;
  /** @default 30 */
  readonly refetchIntervalSeconds?: number;
  /** After a failed key fetch, requests are denied without another fetch for this long. @default 5 */
  readonly failureBackoffSeconds?: number;
}

/** The key source failed recently; the verifier is backing off. Callers deny, as for any error. */
export class KeySourceUnavailableError extends Error {
  override readonly name = 'KeySourceUnavailableError';
  constructor() {
    super('verification keys are unavailable; retrying shortly');
  }
}

export class AttestationVerifier {
  private keys: ReadonlyMap<string, KeyObject> | undefined;
  private loading: Promise<ReadonlyMap<string, KeyObject>> | undefined;
  private lastFetch = Number.NEGATIVE_INFINITY;
  private lastFailure = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: AttestationVerifierOptions) {}

  async verify(token: string | undefined): Promise<TokenClaims> {
    const decoded = decodeToken(token);
    let keys = this.keys ?? (await this.load());
    if (!keys.has(decoded.kid) && this.options.clock.nowSeconds() - this.lastFetch >= (this.options.refetchIntervalSeconds ?? 30)) {
      keys = await this.load();
    }
    const verifyOptions: VerifyOptions = { issuer: this.options.issuer, audience: this.options.tenantId, nowSeconds: this.options.clock.nowSeconds() };
    return checkToken(decoded, keys.get(decoded.kid), verifyOptions);
  }

  /**
   * Single flight: concurrent cold requests share one key fetch. While the key source is failing,
   * requests fail fast (and so are denied) instead of each one trying the key source again.
   */
  private load(): Promise<ReadonlyMap<string, KeyObject>> {
    const now = this.options.clock.nowSeconds();
    if (!this.loading && now - this.lastFailure < (this.options.failureBackoffSeconds ?? 5)) {
      return Promise.reject(new KeySourceUnavailableError());
    }
    this.loading ??= this.options.keys
      .keys(this.options.tenantId)
      .then(
        (keys) => {
          this.keys = keys;
          this.lastFetch = this.options.clock.nowSeconds();
          return keys;
        },
        (error: unknown) => {
          this.lastFailure = this.options.clock.nowSeconds();
          throw error;
        },
      )
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
