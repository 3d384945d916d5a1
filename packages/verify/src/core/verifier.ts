/**
 * Verifiers that keep their tenant's keys warm and remember the tokens they have verified.
 *
 * Keys (es256 public keys and hs256 secrets): loaded once, refreshed in the background every
 * `refreshIntervalSeconds` (so a retired key drops out and a pre-published one comes in without any
 * request waiting), and refetched when a token meets no key it could have been signed with at most
 * once per `refetchIntervalSeconds`, so a flood of made-up tokens cannot turn into a flood of key
 * lookups. A load or a background refresh does not count against
 * that limit, so the first token signed by a freshly rotated key is let in at once.
 *
 * Keys are trusted only while current: a key is dropped at its `retiresAt` (plus clock skew) even
 * when the source cannot be reached to say that it retired, and the whole set is dropped once the
 * last successful load (or the source's last KMS confirmation of it) is SECRET_CACHE_SECONDS old,
 * so a verifier whose kms:Decrypt was revoked, or whose key source keeps failing, denies from then
 * on (fails closed) until a load succeeds.
 *
 * Requests: a token seen before skips parsing and the signature check (see token-cache.ts); the
 * request-specific checks (binding, proof of possession, single use) run for every request.
 */
import type { KeyObject } from 'node:crypto';
import { checkBinding } from './binding';
import type { Clock, VerificationKeys, VerificationKeySource } from './ports';
import { checkProof, PROOF_JTI_RETENTION_SECONDS } from './proof';
import { CLOCK_SKEW_SECONDS } from '@attestor/contracts/protocol';
import { proofLedgerId, tokenLedgerId, type ReplayLedger } from './replay';
import { SECRET_CACHE_SECONDS, type HardwareKind, type TokenClaims } from '@attestor/contracts/protocol';
import { acceptedHardwareKinds, HardwareRequirementError, type HardwareRequirement } from '@attestor/contracts/hardware-requirement';
import { VerifiedTokenCache } from './token-cache';
import { checkClaims, parseClaims, refuseTestToken, splitToken, TokenVerificationError, verifyingKey } from './verify';
import type { SplitToken, VerifyingKey, VerifyOptions } from './verify';

/** The key source failed recently, or gave keys too old to trust; the verifier is backing off. Callers deny, as for any error. */
export class KeySourceUnavailableError extends Error {
  override readonly name = 'KeySourceUnavailableError';
  constructor(message = 'verification keys are unavailable; retrying shortly', options?: ErrorOptions) {
    super(message, options);
  }
}

/** Unavailable because of `cause` (the key source's own error, so whoever logs the denial can say why). */
const unavailable = (cause?: unknown): Promise<never> => Promise.reject(new KeySourceUnavailableError(undefined, cause === undefined ? {} : { cause }));

/** Options of KeyRing. */
export interface KeyRingOptions {
  readonly source: VerificationKeySource;
  readonly tenantId: string;
  readonly clock: Clock;
  /** Unknown kids trigger at most one key refetch per this many seconds. @default 30 */
  readonly refetchIntervalSeconds?: number;
  /**
   * Keys older than this are refreshed in the background (requests keep using the current set
   * meanwhile). Shorter than the 60 s a rotated key is published before it signs
   * (KEY_PUBLICATION_SECONDS), so a verifier under traffic knows a new key before its first token
   * arrives and never waits on the key source for it. @default 30
   */
  readonly refreshIntervalSeconds?: number;
  /** After a failed key fetch, no other fetch is tried for this long. @default 5 */
  readonly failureBackoffSeconds?: number;
  /** Size of the verified-token cache. 0 turns it off. @default 5000 */
  readonly verifiedTokenCacheSize?: number;
  /** A key stays trusted this long past its `retiresAt`, for a verifier clock behind the service's. @default 60 */
  readonly clockSkewSeconds?: number;
}

/**
 * One tenant's trusted keys, kept warm, and the tokens verified with them. Several verifiers may
 * share a ring (the verify library shares one per key source), so its cache holds only what does not
 * depend on a verifier's options: which key a token's signature verified with.
 */
export class KeyRing {
  readonly verifiedTokens: VerifiedTokenCache;
  private keys: VerificationKeys | undefined;
  /** Every trusted key by kid, es256 and hs256 alike, for checking that a cached verification still stands. */
  private byKid: ReadonlyMap<string, KeyObject> = new Map();
  private loading: Promise<VerificationKeys> | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  /** From this time the loaded keys are not trusted (see the module comment). */
  private trustedUntil = Number.NEGATIVE_INFINITY;
  /** The earliest time (retiresAt + skew) at which a held key retires. */
  private nextRetirement = Number.POSITIVE_INFINITY;
  private lastFailure = Number.NEGATIVE_INFINITY;
  /** Why the last load failed: the cause of the errors requests get while the ring backs off. */
  private lastFailureCause: unknown;
  private lastUnknownKeyRefetch = Number.NEGATIVE_INFINITY;
  private readonly refetchInterval: number;
  private readonly refreshInterval: number;
  private readonly failureBackoff: number;
  private readonly skew: number;

  constructor(private readonly options: KeyRingOptions) {
    this.refetchInterval = options.refetchIntervalSeconds ?? 30;
    this.refreshInterval = options.refreshIntervalSeconds ?? 30;
    this.failureBackoff = options.failureBackoffSeconds ?? 5;
    this.skew = options.clockSkewSeconds ?? CLOCK_SKEW_SECONDS;
    this.verifiedTokens = new VerifiedTokenCache(options.verifiedTokenCacheSize ?? 5000);
  }

  /**
   * The loaded keys that are still trusted, without waiting; starts a background refresh when they
   * are due. Undefined when none are loaded or the loaded ones are too old to trust: callers then
   * wait for a load (loaded()), and deny if it fails.
   */
  current(now = this.options.clock.nowSeconds()): VerificationKeys | undefined {
    if (this.keys === undefined) return undefined;
    if (now >= this.trustedUntil) return undefined;
    if (now >= this.nextRetirement) this.install(this.keys, now);
    if (now - this.fetchedAt >= this.refreshInterval) this.refreshInBackground();
    return this.keys;
  }

  /** True while `kid` still names exactly `key` among the trusted keys. */
  trusts(kid: string, key: KeyObject, now?: number): boolean {
    return this.current(now) !== undefined && this.byKid.get(kid) === key;
  }

  /** Starts loading the keys without waiting (e.g. at cold start, before the first request). */
  warm(): void {
    if (this.keys === undefined) this.load().catch(() => undefined);
  }

  /** The keys, loading them first if none are loaded (rejects while the key source fails). */
  async loaded(): Promise<VerificationKeys> {
    return this.current() ?? this.load().then(() => this.trusted());
  }

  /**
   * What current() trusts once a load has settled: a load's own result may already be out of date
   * when its caller resumes (a key retired meanwhile), so callers never use it directly.
   */
  private trusted(): VerificationKeys {
    const keys = this.current();
    if (keys === undefined) throw new KeySourceUnavailableError('the key source gave keys older than a verifier may trust');
    return keys;
  }

  /**
   * Fresh keys after a token met none it could have been signed with (an unknown kid, or an hs256
   * MAC no secret matched): at most one refetch per `refetchIntervalSeconds`, so made-up tokens
   * cannot turn into a flood of key fetches. Undefined when no fresher keys can be had now.
   */
  async refetch(): Promise<VerificationKeys | undefined> {
    // A fetch already under way (a background refresh, or another request's refetch) is as fresh as
    // a refetch would be: wait for it rather than fetch again.
    if (this.loading)
      return this.loading.then(
        () => this.current(),
        (error: unknown) => unavailable(error),
      );
    const now = this.options.clock.nowSeconds();
    if (now - this.lastUnknownKeyRefetch < this.refetchInterval) return undefined;
    const previous = this.lastUnknownKeyRefetch;
    this.lastUnknownKeyRefetch = now;
    // A failed refetch leaves the keys we have in use, and says that the key source failed, not that
    // the token is unknown: its caller answers "unavailable" (the authorizer's 503), so a genuine
    // token signed by a key rotated in during an outage is retried, not thrown away. It does not use
    // up the interval; load()'s failure backoff keeps made-up kids from hammering the failing source.
    return this.load().then(
      () => this.current(),
      (error: unknown) => {
        this.lastUnknownKeyRefetch = previous;
        return unavailable(error);
      },
    );
  }

  private refreshInBackground(): void {
    if (!this.loading) this.load().catch(() => undefined);
  }

  /**
   * Single flight: concurrent requests share one key fetch. While the key source is failing,
   * requests fail fast instead of each trying again; keys already loaded stay in use until
   * current() stops trusting them.
   */
  private load(): Promise<VerificationKeys> {
    if (this.loading) return this.loading;
    const startedAt = this.options.clock.nowSeconds();
    if (startedAt - this.lastFailure < this.failureBackoff) return unavailable(this.lastFailureCause);
    const loading = this.fetch()
      // Keys confirmed too long ago by the time they arrive (the process was frozen, or a caching
      // source answered just before refreshing them) are asked for once more before the load fails.
      .then((fetched) => (this.trustedUntilFor(fetched) > this.options.clock.nowSeconds() ? fetched : this.fetch()))
      .then((fetched) => {
        const now = this.options.clock.nowSeconds();
        const trustedUntil = this.trustedUntilFor(fetched);
        if (trustedUntil <= now) throw new KeySourceUnavailableError('the key source gave keys older than a verifier may trust');
        this.trustedUntil = trustedUntil;
        this.fetchedAt = now;
        return this.install(this.stable(fetched), now);
      })
      .catch((error: unknown) => {
        this.lastFailure = this.options.clock.nowSeconds();
        this.lastFailureCause = error;
        throw error;
      });
    this.loading = loading;
    void loading.then(
      () => this.settle(loading),
      () => this.settle(loading),
    );
    return loading;
  }

  private fetch(): Promise<VerificationKeys> {
    try {
      return this.options.source.keys(this.options.tenantId);
    } catch (error) {
      // A source that throws instead of rejecting is handled as a failed fetch, not as a crash.
      return Promise.reject(error);
    }
  }

  /**
   * Until when keys just fetched may be trusted: SECRET_CACHE_SECONDS from when their source last
   * confirmed them (KmsTenantKeys says; others confirm them now).
   */
  private trustedUntilFor(fetched: VerificationKeys): number {
    const now = this.options.clock.nowSeconds();
    return Math.min(fetched.confirmedAt ?? now, now) + SECRET_CACHE_SECONDS;
  }

  private settle(loading: Promise<unknown>): void {
    if (this.loading === loading) this.loading = undefined;
  }

  /** Holds `keys` without those retired at `now` (their retiresAt plus skew passed), and notes when the next one retires. */
  private install(keys: VerificationKeys, now: number): VerificationKeys {
    const retiresAt = keys.retiresAt;
    let next = Number.POSITIVE_INFINITY;
    let trusted = keys;
    if (retiresAt !== undefined && retiresAt.size > 0) {
      const live = (kid: string): boolean => {
        const at = retiresAt.get(kid);
        if (at === undefined) return true;
        if (at + this.skew <= now) return false;
        next = Math.min(next, at + this.skew);
        return true;
      };
      trusted = {
        publicKeys: new Map([...keys.publicKeys].filter(([kid]) => live(kid))),
        secrets: keys.secrets.filter((s) => live(s.kid)),
        ...(keys.testSecrets !== undefined ? { testSecrets: keys.testSecrets.filter((s) => live(s.kid)) } : {}),
        retiresAt,
      };
    }
    this.keys = trusted;
    const secrets = [...trusted.secrets, ...(trusted.testSecrets ?? [])];
    this.byKid = new Map([...trusted.publicKeys, ...secrets.map((s): [string, KeyObject] => [s.kid, s.key])]);
    this.nextRetirement = next;
    return trusted;
  }

  /**
   * Keeps the previous KeyObject for a kid whose key did not change, so verified-token cache entries
   * (which name the object they verified with) survive a refresh; a changed or removed key ends them.
   */
  private stable(fetched: VerificationKeys): VerificationKeys {
    const same = (kid: string, key: KeyObject): KeyObject => {
      const old = this.byKid.get(kid);
      return old !== undefined && (old === key || old.equals(key)) ? old : key;
    };
    return {
      publicKeys: new Map([...fetched.publicKeys].map(([kid, key]): [string, KeyObject] => [kid, same(kid, key)])),
      secrets: fetched.secrets.map((secret) => ({ kid: secret.kid, key: same(secret.kid, secret.key) })),
      ...(fetched.testSecrets !== undefined
        ? { testSecrets: fetched.testSecrets.map((secret) => ({ kid: secret.kid, key: same(secret.kid, secret.key) })) }
        : {}),
      ...(fetched.retiresAt !== undefined ? { retiresAt: fetched.retiresAt } : {}),
    };
  }
}

/** What a request presents to a verifier; everything but the token only matters where enforced. */
export interface AttestedRequest {
  /** The attestation token (the Attestor-Token header). */
  readonly token: string | undefined;
  /** The value of the bound header (by default Authorization), for `requireBinding`. */
  readonly binding?: string | undefined;
  /** The Attestor-Proof header, for `requireProof`. */
  readonly proof?: string | undefined;
  /** HTTP method, for `requireProof`. */
  readonly method?: string;
  /** Absolute URL of the request as the client addressed it, for `requireProof`. */
  readonly url?: string;
}

/** What a protected API enforces beyond a valid token. */
export interface EnforcementOptions {
  /**
   * Deny unless the token rests on hardware evidence the service verified (its `hw` claim): `true`
   * accepts either kind, a list only those kinds (PROTOCOL.md §5.5). @default false
   */
  readonly requireHardware?: HardwareRequirement;
  /** Deny unless the token's `pay` is the binding of the request's bound header. @default false */
  readonly requireBinding?: boolean;
  /** Let each token in at most once (its jti is consumed in `ledger`). @default false */
  readonly limitedUse?: boolean;
  /** Deny unless the request carries a valid Attestor-Proof by the token's install key. @default false */
  readonly requireProof?: boolean;
  /** Where single-use token ids and proof jtis are recorded; required with limitedUse or requireProof. */
  readonly ledger?: ReplayLedger;
  /**
   * Let test tokens (PROTOCOL.md §5.7) in, verified with the key source's test secrets: for a
   * backend's CI, never in production. Off, a test token is refused as test_token. @default false
   */
  readonly acceptTestTokens?: boolean;
}

interface CommonVerifierOptions extends EnforcementOptions {
  readonly issuer: string;
  /** Accepted `aud` values of es256 tokens (hs256 tokens carry none). @default tenantId */
  readonly audience?: string | readonly string[];
  readonly clock: Clock;
  /** @default 60 */
  readonly clockSkewSeconds?: number;
}

/** A verifier with its own key ring over `keys`... */
export interface OwnKeyRingOptions extends CommonVerifierOptions, Omit<KeyRingOptions, 'source' | 'clock'> {
  readonly keys: VerificationKeySource;
}

/** ...or one sharing a ring (and so its key fetches and verified tokens) with other verifiers. */
export interface SharedKeyRingOptions extends CommonVerifierOptions {
  readonly keyRing: KeyRing;
  /** Accepted `aud` of es256 tokens; absent, es256 tokens are refused (hs256 tokens carry none). */
  readonly audience?: string | readonly string[];
}

/** Options of AttestationVerifier: its own key ring, or a shared one. */
export type AttestationVerifierOptions = OwnKeyRingOptions | SharedKeyRingOptions;

/** A verifier was configured with single use or proofs but nowhere to record used ids. */
export class EnforcementConfigurationError extends Error {
  override readonly name = 'EnforcementConfigurationError';
}

const replayed = (message: string): never => {
  throw new TokenVerificationError('replayed', message);
};

/**
 * The token's `hw` must be one of `accepted`. A verified token's claims are what the service minted,
 * so a `hw` there means the service verified that evidence; a decoy never gets this far.
 */
function checkHardware(claims: TokenClaims, accepted: readonly HardwareKind[]): void {
  const hw = claims.hw;
  if (hw !== undefined && accepted.includes(hw)) return;
  const restsOn = hw === undefined ? 'no hardware evidence' : `${String(hw)} evidence`;
  throw new TokenVerificationError('hardware_missing', `token rests on ${restsOn}; this API requires ${accepted.join(' or ')}`);
}

/**
 * Verifies tokens for one API: the token itself (src/core/verify.ts), then what the API enforces
 * about the request carrying it. Create one per API and keep it: it holds the warm keys and the
 * verified tokens.
 */
export class AttestationVerifier {
  private readonly ring: KeyRing;
  private readonly audience: string | readonly string[] | undefined;
  private readonly skew: number;
  /** The `hw` claims let in; undefined when hardware is not required. */
  private readonly hardware: readonly HardwareKind[] | undefined;

  constructor(private readonly options: AttestationVerifierOptions) {
    this.ring =
      'keyRing' in options
        ? options.keyRing
        : new KeyRing({
            source: options.keys,
            tenantId: options.tenantId,
            clock: options.clock,
            ...(options.refetchIntervalSeconds !== undefined ? { refetchIntervalSeconds: options.refetchIntervalSeconds } : {}),
            ...(options.refreshIntervalSeconds !== undefined ? { refreshIntervalSeconds: options.refreshIntervalSeconds } : {}),
            ...(options.failureBackoffSeconds !== undefined ? { failureBackoffSeconds: options.failureBackoffSeconds } : {}),
            ...(options.verifiedTokenCacheSize !== undefined ? { verifiedTokenCacheSize: options.verifiedTokenCacheSize } : {}),
            ...(options.clockSkewSeconds !== undefined ? { clockSkewSeconds: options.clockSkewSeconds } : {}),
          });
    this.audience = options.audience ?? ('keyRing' in options ? undefined : options.tenantId);
    this.skew = options.clockSkewSeconds ?? CLOCK_SKEW_SECONDS;
    if ((options.limitedUse || options.requireProof) && !options.ledger) {
      throw new EnforcementConfigurationError('limitedUse and requireProof need a ledger to record used token ids and proof jtis');
    }
    try {
      this.hardware = acceptedHardwareKinds(options.requireHardware);
    } catch (error) {
      if (error instanceof HardwareRequirementError) throw new EnforcementConfigurationError(`requireHardware ${error.message}`);
      throw error;
    }
  }

  /** Starts loading the keys without waiting for them. */
  warm(): void {
    this.ring.warm();
  }

  /**
   * The trusted key the token's signature verifies with. Warm keys answer without waiting. A token
   * no loaded key could have signed (an unknown kid, an hs256 MAC no secret matches) may have met a
   * rotation this verifier has not seen yet, so the keys are refetched once (as the ring's limit
   * allows) before it is refused; keys loaded for this very request are as fresh as that already.
   */
  private verifiedBy(split: SplitToken, now: number): VerifyingKey | Promise<VerifyingKey> {
    const warm = this.ring.current(now);
    if (!warm) return this.ring.loaded().then((keys) => verifyingKey(split, keys));
    try {
      return verifyingKey(split, warm);
    } catch (error) {
      const code = (error as TokenVerificationError).code;
      if (code !== 'unknown_kid' && !(code === 'bad_signature' && split.alg === 'HS256')) throw error;
      return this.ring.refetch().then((fresher) => {
        if (!fresher) throw error;
        return verifyingKey(split, fresher);
      });
    }
  }

  /** Whether this verifier requires binding (`requireBinding`): a caller then refuses a bound header it cannot tell apart, e.g. one sent twice. */
  get requiresBinding(): boolean {
    return this.options.requireBinding === true;
  }

  /** Verifies a token on its own: equivalent to verifyRequest({ token }). */
  verify(token: string | undefined): Promise<TokenClaims> {
    return this.verifyRequest({ token });
  }

  /**
   * Verifies the token and everything this verifier enforces about the request carrying it.
   * Resolves to the token's claims; rejects with TokenVerificationError (a stable `code`) or, when
   * the keys or the ledger cannot be reached, another error. Either way the caller denies.
   */
  async verifyRequest(request: AttestedRequest): Promise<TokenClaims> {
    const token = request.token;
    const now = this.options.clock.nowSeconds();
    // One shape for every request (no conditional spread): this runs for every request.
    const options: VerifyOptions = {
      issuer: this.options.issuer,
      audience: this.audience,
      nowSeconds: now,
      clockSkewSeconds: this.skew,
      acceptTestTokens: this.options.acceptTestTokens === true,
    };
    const cache = this.ring.verifiedTokens;
    const hit = token ? cache.get(token) : undefined;
    let claims: TokenClaims;
    if (hit !== undefined && this.ring.trusts(hit.kid, hit.key, now)) {
      try {
        claims = checkClaims(hit.claims, options);
      } catch (error) {
        if ((error as TokenVerificationError).code === 'expired') cache.delete(token!);
        throw error;
      }
    } else {
      // An entry whose key is no longer trusted (retired, or the keys too old) is verified anew or not at all.
      if (hit !== undefined) cache.delete(token!);
      const split = splitToken(token);
      // Before any key is looked at: a test token here must not cost a key refetch.
      if (split.test && options.acceptTestTokens !== true) refuseTestToken();
      // es256: claims are checked before the costly signature; hs256: the cheap MAC first, so a
      // forged token costs no parse and a verified segment needs no second encoding check.
      const early = split.alg === 'ES256' ? parseClaims(split) : undefined;
      const pending = this.verifiedBy(split, now);
      const verified = pending instanceof Promise ? await pending : pending;
      claims = checkClaims(early ?? parseClaims(split, true), options);
      Object.freeze(claims.cnf);
      Object.freeze(claims);
      if (cache.admit(split.signatureSegment)) cache.set(token!, { claims, key: verified.key, kid: verified.kid });
    }
    // Before binding, proof and single use: a token this API refuses anyway consumes nothing in the ledger.
    if (this.hardware !== undefined) checkHardware(claims, this.hardware);
    if (this.options.requireBinding) checkBinding(claims, request.binding);
    if (this.options.requireProof) {
      const proof = checkProof(request.proof, token!, claims, { method: request.method ?? '', url: request.url ?? '' }, options.nowSeconds);
      if (!(await this.options.ledger!.consume(proofLedgerId(proof.jkt, proof.jti), proof.iat + PROOF_JTI_RETENTION_SECONDS)))
        replayed('proof was used before');
    }
    if (this.options.limitedUse) {
      if (!(await this.options.ledger!.consume(tokenLedgerId(claims), claims.exp + this.skew))) replayed('token was used before');
    }
    return claims;
  }
}
