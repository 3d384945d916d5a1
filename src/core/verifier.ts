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
}

export class AttestationVerifier {
  private keys: ReadonlyMap<string, KeyObject> | undefined;
  private loading: Promise<ReadonlyMap<string, KeyObject>> | undefined;
  private lastFetch = Number.NEGATIVE_INFINITY;

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

  /** Single flight: concurrent cold requests share one key fetch. */
  private load(): Promise<ReadonlyMap<string, KeyObject>> {
    this.loading ??= this.options.keys
      .keys(this.options.tenantId)
      .then((keys) => {
        this.keys = keys;
        this.lastFetch = this.options.clock.nowSeconds();
        return keys;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }
}
