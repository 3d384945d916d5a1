/**
 * Local verification of attestation tokens: the part every request to a protected API pays for,
 * so it is synchronous, allocation-light and never touches the network. Key material arrives
 * through a lookup function the caller keeps warm.
 */
import { verify, type KeyObject } from 'node:crypto';
import { decodeB64u } from './base64url';
import { CLOCK_SKEW_SECONDS, MAX_TOKEN_BYTES } from './protocol';
import type { TokenClaims } from './token';

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

export interface VerifyOptions {
  readonly issuer: string;
  /** Accepted `aud` values: the tenant id(s) this API belongs to. */
  readonly audience: string | readonly string[];
  readonly nowSeconds: number;
  readonly clockSkewSeconds?: number;
}

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

/**
 * Splits and type-checks a compact JWS without verifying it. Only ES256 is accepted, so `none`,
 * HMAC-with-the-public-key and RSA confusion attacks die here; header members that name other keys
 * (jku, x5u, x5c, jwk) are ignored: keys come only from the verifier's own key source.
 */
export function decodeToken(token: string | undefined): DecodedToken {
  if (token === undefined || token === '') return fail('missing', 'no token');
  if (token.length > MAX_TOKEN_BYTES) fail('malformed', 'token is too large');
  const parts = token.split('.');
  if (parts.length !== 3) fail('malformed', 'token is not a compact JWS');
  const [h, p, s] = parts as [string, string, string];
  const header = parseJson(h, 'header');
  if (header['alg'] !== 'ES256') fail('malformed', 'alg must be ES256');
  if (header['typ'] !== undefined && header['typ'] !== 'JWT') fail('malformed', 'typ must be JWT');
  if (header['crit'] !== undefined) fail('malformed', 'crit is not supported');
  const kid = header['kid'];
  if (typeof kid !== 'string' || kid === '') return fail('malformed', 'kid is missing');
  const signature = decodeB64u(s);
  if (!signature || signature.length !== 64) fail('malformed', 'signature must be 64 bytes (r||s)');
  const c = parseJson(p, 'claims');
  const str = (k: string) => typeof c[k] === 'string';
  const num = (k: string) => typeof c[k] === 'number' && Number.isFinite(c[k]);
  if (!str('iss') || !str('sub') || !str('aud') || !num('iat') || !num('exp') || !str('jti') || !str('ver') || !str('did')) {
    fail('malformed', 'required claims are missing or of the wrong type');
  }
  const cnf = c['cnf'] as { jkt?: unknown } | undefined;
  if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string') fail('malformed', 'cnf.jkt is missing');
  if (c['nbf'] !== undefined && !num('nbf')) fail('malformed', 'nbf must be a number');
  if (c['pay'] !== undefined && !str('pay')) fail('malformed', 'pay must be a string');
  return { kid, signingInput: Buffer.from(`${h}.${p}`, 'ascii'), signature: signature!, claims: c as unknown as TokenClaims };
}

/** Checks signature and claims of a decoded token. `key` is undefined when the kid is not trusted. */
export function checkToken(decoded: DecodedToken, key: KeyObject | undefined, options: VerifyOptions): TokenClaims {
  if (!key) return fail('unknown_kid', 'token is signed by a key this verifier does not trust');
  let valid = false;
  try {
    valid = verify('sha256', decoded.signingInput, { key, dsaEncoding: 'ieee-p1363' }, decoded.signature);
  } catch {
    valid = false;
  }
  if (!valid) fail('bad_signature', 'signature does not verify');
  const claims = decoded.claims;
  const skew = options.clockSkewSeconds ?? CLOCK_SKEW_SECONDS;
  const now = options.nowSeconds;
  if (claims.exp <= now - skew) fail('expired', 'token has expired');
  if (claims.iat > now + skew) fail('not_yet_valid', 'token was issued in the future');
  const nbf = (claims as { nbf?: number }).nbf;
  if (nbf !== undefined && nbf > now + skew) fail('not_yet_valid', 'token is not valid yet');
  if (claims.iss !== options.issuer) fail('wrong_issuer', 'token was issued by someone else');
  const audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!audiences.includes(claims.aud)) fail('wrong_audience', 'token is for another tenant');
  return claims;
}

/** decodeToken + checkToken with a synchronous key lookup. */
export function verifyTokenWithKeys(token: string | undefined, lookup: (kid: string) => KeyObject | undefined, options: VerifyOptions): TokenClaims {
  const decoded = decodeToken(token);
  return checkToken(decoded, lookup(decoded.kid), options);
}
