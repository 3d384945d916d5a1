/**
 * Local verification of attestation tokens: the part every request to a protected API pays for,
 * so it is synchronous, allocation-light and never touches the network. Key material arrives
 * through a lookup function the caller keeps warm.
 *
 * The ES256 verify dominates (about 80 µs); everything else here is kept to a few µs so that a
 * token seen for the first time costs little more than the bare signature check: headers (equal for
 * every token one key signs) are parsed once and remembered, and base64url is checked by decoding
 * and re-encoding rather than by a separate pattern match.
 */
import { verify, type KeyObject } from 'node:crypto';
import { decodeB64u } from './base64url';
import { CLOCK_SKEW_SECONDS, MAX_TOKEN_BYTES } from './protocol';
import type { TokenClaims } from './token';

/** Why a token (or the request carrying it) is not let in. Stable: callers branch on it, logs and metrics count it. */
export type VerifyErrorCode =
  | 'missing'
  | 'malformed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'unknown_kid'
  | 'binding_mismatch'
  | 'replayed'
  | 'proof_invalid';

/** Every code, in the order of the checks; for metrics dashboards and exhaustive tests. */
export const VERIFY_ERROR_CODES: readonly VerifyErrorCode[] = [
  'missing',
  'malformed',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_audience',
  'wrong_issuer',
  'unknown_kid',
  'binding_mismatch',
  'replayed',
  'proof_invalid',
];

/** A token that must not be let in. `code` is stable: callers branch on it, logs and metrics count it. */
export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError';
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a token must match besides its signature. */
export interface VerifyOptions {
  readonly issuer: string;
  /** Accepted `aud` values: the tenant id(s) this API belongs to. */
  readonly audience: string | readonly string[];
  readonly nowSeconds: number;
  /** @default 60 */
  readonly clockSkewSeconds?: number;
}

/** A token split and type-checked, not yet verified. */
export interface DecodedToken {
  readonly kid: string;
  readonly signingInput: Buffer;
  readonly signature: Buffer;
  readonly claims: TokenClaims;
}

const fail = (code: VerifyErrorCode, message: string): never => {
  throw new TokenVerificationError(code, message);
};

function parseJson(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeB64u(segment);
  if (!bytes) return fail('malformed', `${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return fail('malformed', `${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('malformed', `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** kids of recently seen, valid header segments. Only a successful parse is remembered, so a bad header is judged every time. */
const headerKids = new Map<string, string>();
const HEADER_CACHE_SIZE = 64;

function kidOf(segment: string): string {
  const known = headerKids.get(segment);
  if (known !== undefined) return known;
  const header = parseJson(segment, 'header');
  if (header['alg'] !== 'ES256') fail('malformed', 'alg must be ES256');
  if (header['typ'] !== undefined && header['typ'] !== 'JWT') fail('malformed', 'typ must be JWT');
  if (header['crit'] !== undefined) fail('malformed', 'crit is not supported');
  const kid = header['kid'];
  if (typeof kid !== 'string' || kid === '') return fail('malformed', 'kid is missing');
  // A flood of distinct headers only ever costs the parse it would have cost anyway.
  if (headerKids.size >= HEADER_CACHE_SIZE) headerKids.clear();
  headerKids.set(segment, kid);
  return kid;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * Splits and type-checks a compact JWS without verifying it. Only ES256 is accepted, so `none`,
 * HMAC-with-the-public-key and RSA confusion attacks die here; header members that name other keys
 * (jku, x5u, x5c, jwk) are ignored: keys come only from the verifier's own key source.
 */
export function decodeToken(token: string | undefined): DecodedToken {
  if (token === undefined || token === '') return fail('missing', 'no token');
  if (token.length > MAX_TOKEN_BYTES) fail('malformed', 'token is too large');
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) fail('malformed', 'token is not a compact JWS');
  const kid = kidOf(token.slice(0, first));
  const signature = decodeB64u(token.slice(second + 1));
  if (!signature || signature.length !== 64) fail('malformed', 'signature must be 64 bytes (r||s)');
  const c = parseJson(token.slice(first + 1, second), 'claims');
  if (
    !isString(c['iss']) ||
    !isString(c['sub']) ||
    !isString(c['aud']) ||
    !isNumber(c['iat']) ||
    !isNumber(c['exp']) ||
    !isString(c['jti']) ||
    !isString(c['ver']) ||
    !isString(c['did'])
  ) {
    fail('malformed', 'required claims are missing or of the wrong type');
  }
  const cnf = c['cnf'] as { jkt?: unknown } | undefined;
  if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string') fail('malformed', 'cnf.jkt is missing');
  if (c['nbf'] !== undefined && !isNumber(c['nbf'])) fail('malformed', 'nbf must be a number');
  if (c['pay'] !== undefined && !isString(c['pay'])) fail('malformed', 'pay must be a string');
  // The token is ASCII (it passed the base64url checks), so latin1 is an exact and cheap encoding.
  return { kid, signingInput: Buffer.from(token.slice(0, second), 'latin1'), signature: signature!, claims: c as unknown as TokenClaims };
}

/** True when the ES256 signature verifies; false for any other outcome, including a key of the wrong type. */
export function signatureVerifies(decoded: Pick<DecodedToken, 'signingInput' | 'signature'>, key: KeyObject): boolean {
  try {
    return verify('sha256', decoded.signingInput, { key, dsaEncoding: 'ieee-p1363' }, decoded.signature);
  } catch {
    return false;
  }
}

/**
 * The checks that depend on the verifier rather than on the signature: time (with skew), issuer
 * and audience. Cheap, so a cache of verified tokens runs them again on every hit.
 */
export function checkClaims(claims: TokenClaims, options: VerifyOptions): TokenClaims {
  const skew = options.clockSkewSeconds ?? CLOCK_SKEW_SECONDS;
  const now = options.nowSeconds;
  if (claims.exp <= now - skew) fail('expired', 'token has expired');
  if (claims.iat > now + skew) fail('not_yet_valid', 'token was issued in the future');
  const nbf = (claims as { nbf?: number }).nbf;
  if (nbf !== undefined && nbf > now + skew) fail('not_yet_valid', 'token is not valid yet');
  if (claims.iss !== options.issuer) fail('wrong_issuer', 'token was issued by someone else');
  const audience = options.audience;
  if (typeof audience === 'string' ? claims.aud !== audience : !audience.includes(claims.aud)) fail('wrong_audience', 'token is for another tenant');
  return claims;
}

/** Checks signature and claims of a decoded token. `key` is undefined when the kid is not trusted. */
export function checkToken(decoded: DecodedToken, key: KeyObject | undefined, options: VerifyOptions): TokenClaims {
  if (!key) return fail('unknown_kid', 'token is signed by a key this verifier does not trust');
  if (!signatureVerifies(decoded, key)) fail('bad_signature', 'signature does not verify');
  return checkClaims(decoded.claims, options);
}

/** decodeToken + checkToken with a synchronous key lookup. */
export function verifyTokenWithKeys(token: string | undefined, lookup: (kid: string) => KeyObject | undefined, options: VerifyOptions): TokenClaims {
  const decoded = decodeToken(token);
  return checkToken(decoded, lookup(decoded.kid), options);
}
