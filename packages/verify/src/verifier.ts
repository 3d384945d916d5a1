/**
 * The verifier behind `@attestor/verify`: createVerifier and verifyToken over the core's
 * AttestationVerifier, with hs256 secrets (a secret set, or a function that fetches one) and/or
 * es256 public keys (a JWKS URL or a given JWKS).
 */
import type { KeyObject } from 'node:crypto';
import { systemClock, type Clock, type VerificationKeys } from './core/ports';
import { InMemoryReplayLedger, type ReplayLedger } from './core/replay';
import type { TokenClaims } from '@attestor/contracts/protocol';
import { acceptedHardwareKinds, HardwareRequirementError, type HardwareRequirement } from '@attestor/contracts/hardware-requirement';
import { AttestationVerifier, KeyRing } from './core/verifier';
import { JwksKeySource, jwksVerificationKeys, type FetchLike, type JsonWebKeySet } from './jwks';
import { secretSetKeys, type TokenSecretSet } from './secrets';

/** Verified claims of an attestation token (PROTOCOL.md §5.2). */
export type AttestationClaims = TokenClaims;

/** Options of createVerifier, verifyToken and attestorMiddleware. */
export interface VerifierOptions {
  /** The Attestor deployment's issuer (`ATTESTOR_ISSUER`, `attestor` unless changed). */
  readonly issuer: string;
  /**
   * hs256 (the default token format): the tenant's secrets, as `attestor keys secret --json` prints
   * them, or a function that returns them, called at start and then every `refreshIntervalSeconds`
   * (for example reading them from AWS Secrets Manager, or `attestorSecrets` from
   * `@attestor/verify/aws`), so a rotation reaches the verifier without a restart.
   */
  readonly secrets?: TokenSecretSet | (() => Promise<TokenSecretSet>);
  /**
   * Let test tokens in (`attestor token mint`, PROTOCOL.md §5.7): for a backend's CI, never in
   * production. Requires `testSecrets`. Off, a test token is refused with code `test_token`. @default false
   */
  readonly acceptTestTokens?: boolean;
  /**
   * The tenant's test secrets, as `attestor token secret --json` prints them (or a function returning
   * them): they verify test tokens and nothing else. Only with `acceptTestTokens: true`.
   */
  readonly testSecrets?: TokenSecretSet | (() => Promise<TokenSecretSet>);
  /** es256 only: your tenant id(s), the accepted `aud`. Required with jwksUrl or keys. */
  readonly audience?: string | readonly string[];
  /** es256 only: where the tenant's public keys are published. At most one of jwksUrl and keys. */
  readonly jwksUrl?: string | URL;
  /** es256 only: the tenant's public keys, e.g. the output of `attestor keys jwks`. At most one of jwksUrl and keys. */
  readonly keys?: JsonWebKeySet;
  /** fetch for the JWKS, e.g. one that signs with SigV4 for the IAM-authorized admin route. @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** Require the token's `pay` to be the binding of the request's bound header. @default false */
  readonly requireBinding?: boolean;
  /** Let each token in at most once. @default false */
  readonly limitedUse?: boolean;
  /** Require an Attestor-Proof by the token's install key on every request. @default false */
  readonly requireProof?: boolean;
  /**
   * Require tokens that rest on hardware evidence the service verified (the `hw` claim, PROTOCOL.md
   * §5.5): `true` for either kind, or the kinds accepted, e.g. `['app-attest']`. A token without an
   * accepted `hw` is refused with code `hardware_missing`. @default false
   */
  readonly requireHardware?: HardwareRequirement;
  /**
   * Records used token ids and proof jtis. @default an in-memory ledger: correct for one process;
   * several processes or servers need a shared one (e.g. DynamoDbTokenLedger from src/adapters).
   */
  readonly replayStore?: ReplayLedger;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Tolerated clock difference for exp, iat and nbf. @default 60 */
  readonly clockSkewSeconds?: number;
  /** How many verified tokens to remember (until they expire). 0 turns the cache off. @default 5000 */
  readonly cacheSize?: number;
  /**
   * The JWKS is fetched again in the background once it is this old (requests never wait for it);
   * an unknown kid also triggers a fetch, at most once per 30 s. @default 30
   */
  readonly refreshIntervalSeconds?: number;
}

/** Facts about the request a token came with; each matters only where the verifier enforces it. */
export interface RequestFacts {
  /** Value of the bound header (usually Authorization), for requireBinding. */
  readonly binding?: string | undefined;
  /** The Attestor-Proof header, for requireProof. */
  readonly proof?: string | undefined;
  /** HTTP method, for requireProof. */
  readonly method?: string;
  /** Absolute URL the client addressed (query ignored), for requireProof. */
  readonly url?: string;
}

/** A verifier for one API, from createVerifier. */
export interface Verifier {
  /**
   * Resolves to the token's claims, or rejects with a TokenVerificationError whose `code` says why
   * (any other error means the keys or the replay store could not be reached: deny as well).
   */
  verify(token: string | undefined, request?: RequestFacts): Promise<AttestationClaims>;
  /** Starts fetching the keys now rather than at the first request. */
  warm(): void;
}

/**
 * Key rings shared by verifiers (and verifyToken calls) over one key source, so that they share
 * fetches and verified tokens: by JWKS URL, or by the secrets value or function given.
 */
const ringsByUrl = new Map<string, KeyRing>();
const ringsBySecrets = new WeakMap<object, KeyRing>();
const MAX_SHARED_RINGS = 32;

/**
 * Loads the keys of every source the options name, together: a failure of either fails the load,
 * and the ring keeps what it had until it is too old to trust (core/verifier.ts KeyRing).
 */
function sourceOf(options: VerifierOptions): () => Promise<VerificationKeys> {
  const secrets = options.secrets !== undefined ? secretSetKeys(options.secrets) : undefined;
  let publicKeys: (() => Promise<VerificationKeys>) | undefined;
  if (options.keys !== undefined) {
    const parsed = jwksVerificationKeys(options.keys);
    publicKeys = async () => parsed;
  } else if (options.jwksUrl !== undefined) {
    const url = new URL(options.jwksUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`jwksUrl must be an http(s) URL, got ${url.protocol}`);
    const jwks = new JwksKeySource({ url: url.toString(), ...(options.fetch ? { fetch: options.fetch } : {}) });
    publicKeys = () => jwks.keys();
  }
  const testSecrets = options.testSecrets !== undefined ? secretSetKeys(options.testSecrets, 'test-tokens') : undefined;
  if (!testSecrets) {
    if (!secrets) return publicKeys!;
    if (!publicKeys) return secrets;
  }
  const none = async (): Promise<VerificationKeys | undefined> => undefined;
  return async () => {
    const [a, b, t] = await Promise.all([(secrets ?? none)(), (publicKeys ?? none)(), (testSecrets ?? none)()]);
    const retiresAt = new Map([...(a?.retiresAt ?? []), ...(b?.retiresAt ?? []), ...(t?.retiresAt ?? [])]);
    return {
      publicKeys: b?.publicKeys ?? new Map(),
      secrets: a?.secrets ?? [],
      // A test set's secrets become test secrets: they never verify an attestation's token.
      ...(t !== undefined ? { testSecrets: t.secrets } : {}),
      ...(retiresAt.size > 0 ? { retiresAt } : {}),
    };
  };
}

function keyRingFor(options: VerifierOptions, clock: Clock): KeyRing {
  if (options.jwksUrl !== undefined && options.keys !== undefined) throw new TypeError('pass at most one of jwksUrl and keys');
  if (options.secrets === undefined && options.jwksUrl === undefined && options.keys === undefined && options.testSecrets === undefined) {
    throw new TypeError('pass secrets (hs256 tokens, the default), or jwksUrl or keys (es256 tokens)');
  }
  const ringOptions = {
    ...(options.cacheSize !== undefined ? { verifiedTokenCacheSize: options.cacheSize } : {}),
    ...(options.refreshIntervalSeconds !== undefined ? { refreshIntervalSeconds: options.refreshIntervalSeconds } : {}),
    ...(options.clockSkewSeconds !== undefined ? { clockSkewSeconds: options.clockSkewSeconds } : {}),
  };
  // A ring is shared only when nothing about it is caller-specific and it has one source.
  const oneSource = (options.secrets !== undefined) !== (options.jwksUrl !== undefined || options.keys !== undefined);
  const shareable =
    oneSource &&
    options.testSecrets === undefined &&
    options.keys === undefined &&
    options.fetch === undefined &&
    options.clock === undefined &&
    Object.keys(ringOptions).length === 0;
  const url = options.jwksUrl !== undefined ? new URL(options.jwksUrl).toString() : undefined;
  const secrets = options.secrets as object | undefined;
  const shared = !shareable ? undefined : secrets !== undefined ? ringsBySecrets.get(secrets) : ringsByUrl.get(url!);
  if (shared) return shared;
  const source = sourceOf(options);
  const ring = new KeyRing({ source: { keys: source }, tenantId: '', clock, ...ringOptions });
  if (shareable && secrets !== undefined) ringsBySecrets.set(secrets, ring);
  else if (shareable && ringsByUrl.size < MAX_SHARED_RINGS) ringsByUrl.set(url!, ring);
  return ring;
}

/**
 * The in-memory ledger used when no replayStore is given: one per clock, shared by every verifier
 * in the process. A ledger per verifier would forget earlier uses whenever a caller builds a new
 * options object per request (the natural way to pass request facts), letting a single-use token
 * or a captured proof through again. Ledger ids are namespaced by audience and install key, so
 * sharing cannot make unrelated ids collide.
 */
const defaultLedgers = new WeakMap<Clock, InMemoryReplayLedger>();
function defaultLedgerFor(clock: Clock): InMemoryReplayLedger {
  let ledger = defaultLedgers.get(clock);
  if (!ledger) {
    ledger = new InMemoryReplayLedger({ clock });
    defaultLedgers.set(clock, ledger);
  }
  return ledger;
}

/**
 * A verifier for one API. Create it once (at module scope) and reuse it: it keeps the keys and the
 * tokens it has verified.
 *
 * @example
 * ```ts
 * // The set `attestor keys secret --json` printed, kept in your secret store (here: an environment variable).
 * const verifier = createVerifier({ issuer: 'attestor', secrets: JSON.parse(process.env.ATTESTOR_SECRETS!) });
 * const claims = await verifier.verify(req.headers['attestor-token']);
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new TypeError('issuer is required');
  const audience = options.audience;
  const es256 = options.jwksUrl !== undefined || options.keys !== undefined;
  if (audience !== undefined && (typeof audience === 'string' ? audience === '' : !Array.isArray(audience) || audience.length === 0)) {
    throw new TypeError('audience must be a tenant id or a non-empty list of them');
  }
  if (es256 && audience === undefined) throw new TypeError('audience (your tenant id) is required with jwksUrl or keys: es256 tokens name their tenant');
  let hardware: ReturnType<typeof acceptedHardwareKinds>;
  try {
    hardware = acceptedHardwareKinds(options.requireHardware);
  } catch (error) {
    if (error instanceof HardwareRequirementError) throw new TypeError(`requireHardware ${error.message}`);
    throw error;
  }
  if (options.acceptTestTokens === true && options.testSecrets === undefined) {
    throw new TypeError('acceptTestTokens needs testSecrets: the test secrets `attestor token secret --json` prints');
  }
  if (options.testSecrets !== undefined && options.acceptTestTokens !== true) {
    throw new TypeError('testSecrets are used only with acceptTestTokens: true (test tokens are refused otherwise)');
  }
  const clock = options.clock ?? systemClock;
  const needsLedger = options.limitedUse === true || options.requireProof === true;
  const verifier = new AttestationVerifier({
    keyRing: keyRingFor(options, clock),
    issuer: options.issuer,
    ...(audience !== undefined ? { audience } : {}),
    clock,
    ...(options.clockSkewSeconds !== undefined ? { clockSkewSeconds: options.clockSkewSeconds } : {}),
    requireBinding: options.requireBinding === true,
    limitedUse: options.limitedUse === true,
    requireProof: options.requireProof === true,
    ...(hardware !== undefined ? { requireHardware: hardware } : {}),
    ...(options.acceptTestTokens === true ? { acceptTestTokens: true } : {}),
    ...(needsLedger ? { ledger: options.replayStore ?? defaultLedgerFor(clock) } : {}),
  });
  return {
    // No spread of an empty object on the path every request takes.
    verify: (token, request) => verifier.verifyRequest(request === undefined ? { token } : { token, ...request }),
    warm: () => verifier.warm(),
  };
}

const verifiers = new WeakMap<VerifierOptions, Verifier>();

/**
 * Verifies one token. Verifiers are remembered per options object, and JWKS fetches are shared per
 * URL, so calling this per request with options defined once costs no more than createVerifier.
 * Pass the request's facts (binding value, proof, method, URL) as the third argument so the options
 * object stays the same from call to call.
 *
 * @example
 * ```ts
 * const ATTESTATION = { issuer: 'attestor', secrets: JSON.parse(process.env.ATTESTOR_SECRETS!) };
 * try {
 *   const claims = await verifyToken(token, ATTESTATION);
 * } catch (error) {
 *   if (error instanceof TokenVerificationError) deny(error.code);
 * }
 * ```
 */
export function verifyToken(
  token: string | undefined,
  options: VerifierOptions & { readonly request?: RequestFacts },
  request: RequestFacts | undefined = options.request,
): Promise<AttestationClaims> {
  let verifier = verifiers.get(options);
  if (!verifier) {
    verifier = createVerifier(options);
    verifiers.set(options, verifier);
  }
  return verifier.verify(token, request);
}
