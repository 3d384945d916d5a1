/**
 * The verifier behind `attestor/verify`: createVerifier and verifyToken over the core's
 * AttestationVerifier, with keys from a JWKS URL or a given JWKS.
 */
import type { KeyObject } from 'node:crypto';
import { systemClock, type Clock } from '../core/ports';
import { InMemoryReplayLedger, type ReplayLedger } from '../core/replay';
import type { TokenClaims } from '../core/token';
import { AttestationVerifier, KeyRing } from '../core/verifier';
import { JwksKeySource, parseJwks, type FetchLike, type JsonWebKeySet } from './jwks';

/** Verified claims of an attestation token (PROTOCOL.md §5.2). */
export type AttestationClaims = TokenClaims;

/** Options of createVerifier, verifyToken and attestorMiddleware. */
export interface VerifierOptions {
  /** The Attestor deployment's issuer (`ATTESTOR_ISSUER`, `attestor` unless changed). */
  readonly issuer: string;
  /** Your tenant id(s): the accepted `aud`. */
  readonly audience: string | readonly string[];
  /** Where the tenant's public keys are published. Exactly one of jwksUrl and keys. */
  readonly jwksUrl?: string | URL;
  /** The tenant's public keys, e.g. the output of `attestor keys jwks`. Exactly one of jwksUrl and keys. */
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

/** Key rings by JWKS URL, so verifiers (and verifyToken calls) for one URL share fetches and verified tokens. */
const sharedRings = new Map<string, KeyRing>();
const MAX_SHARED_RINGS = 32;

function keyRingFor(options: VerifierOptions, clock: Clock): KeyRing {
  const hasUrl = options.jwksUrl !== undefined;
  if (hasUrl === (options.keys !== undefined)) throw new TypeError('pass exactly one of jwksUrl and keys');
  const ringOptions = {
    ...(options.cacheSize !== undefined ? { verifiedTokenCacheSize: options.cacheSize } : {}),
    ...(options.refreshIntervalSeconds !== undefined ? { refreshIntervalSeconds: options.refreshIntervalSeconds } : {}),
  };
  if (!hasUrl) {
    const keys: ReadonlyMap<string, KeyObject> = parseJwks(options.keys);
    return new KeyRing({ source: { keys: async () => keys }, tenantId: '', clock, ...ringOptions });
  }
  const url = new URL(options.jwksUrl!).toString();
  // A ring is shared only when nothing about it is caller-specific.
  const shareable = options.fetch === undefined && options.clock === undefined && Object.keys(ringOptions).length === 0;
  const shared = shareable ? sharedRings.get(url) : undefined;
  if (shared) return shared;
  const ring = new KeyRing({ source: new JwksKeySource({ url, ...(options.fetch ? { fetch: options.fetch } : {}) }), tenantId: '', clock, ...ringOptions });
  if (shareable && sharedRings.size < MAX_SHARED_RINGS) sharedRings.set(url, ring);
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
 * const verifier = createVerifier({ issuer: 'attestor', audience: 'acme', jwksUrl: 'https://keys.example.com/jwks.json' });
 * const claims = await verifier.verify(req.headers['attestor-token']);
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new TypeError('issuer is required');
  const audience = options.audience;
  if (typeof audience === 'string' ? audience === '' : !Array.isArray(audience) || audience.length === 0) throw new TypeError('audience is required');
  const clock = options.clock ?? systemClock;
  const needsLedger = options.limitedUse === true || options.requireProof === true;
  const verifier = new AttestationVerifier({
    keyRing: keyRingFor(options, clock),
    issuer: options.issuer,
    audience,
    clock,
    ...(options.clockSkewSeconds !== undefined ? { clockSkewSeconds: options.clockSkewSeconds } : {}),
    requireBinding: options.requireBinding === true,
    limitedUse: options.limitedUse === true,
    requireProof: options.requireProof === true,
    ...(needsLedger ? { ledger: options.replayStore ?? defaultLedgerFor(clock) } : {}),
  });
  return {
    verify: (token, request = {}) => verifier.verifyRequest({ token, ...request }),
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
 * const ATTESTATION = { issuer: 'attestor', audience: 'acme', jwksUrl: 'https://keys.example.com/jwks.json' };
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
