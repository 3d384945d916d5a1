/**
 * Proof of possession (RFC 9449 style): a stolen token is worthless without the install key it was
 * issued to. Each request carries a fresh JWS signed by that key over the method, the URL, the time
 * and a hash of the token; the token names the key by thumbprint (`cnf.jkt`). Format and rules are
 * in docs/ENFORCEMENT.md. Every failure is `proof_invalid`, except a jti seen before (`replayed`,
 * decided by the caller's ReplayLedger once everything here passed).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeB64u } from '@attestor/contracts/base64url';
import { es256Verifies } from './es256';
import { importInstallKey, jwkThumbprint } from './install-key';
import { MAX_PROOF_CHARS, MAX_PROOF_JTI_CHARS, PROOF_MAX_AGE_SECONDS, PROOF_TYPE, type TokenClaims } from '@attestor/contracts/protocol';
import { TokenVerificationError } from './verify';

/** A proof's jti is remembered this long after its iat: past the whole window it could be accepted in, on either side. */
export const PROOF_JTI_RETENTION_SECONDS = 2 * PROOF_MAX_AGE_SECONDS;

/** What the request looked like to the verifier. */
export interface ProofTarget {
  /** HTTP method as received. */
  readonly method: string;
  /** Absolute URL of the request as the client addressed it; query and fragment are ignored. */
  readonly url: string;
}

/** A proof that passed every check but the jti's single use, which the caller records. */
export interface CheckedProof {
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
}

const invalid = (message: string): never => {
  throw new TokenVerificationError('proof_invalid', message);
};

function jsonSegment(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeB64u(segment) ?? invalid(`proof ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return invalid(`proof ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(`proof ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

const is32Bytes = (value: unknown): value is string => typeof value === 'string' && decodeB64u(value)?.length === 32;

/**
 * scheme://host[:port]/path of an absolute http(s) URL, normalised the WHATWG way (lower-case scheme
 * and host, default port dropped, dot segments resolved); undefined for anything else. Query and
 * fragment are dropped, as RFC 9449 §4.3 does for htu.
 */
export function normaliseHtu(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  if (parsed.username || parsed.password) return undefined;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Checks an Attestor-Proof for `token` (whose verified claims are `claims`) against the request.
 * Throws `proof_invalid`; returns what the caller needs to record the jti.
 */
export function checkProof(proof: string | undefined, token: string, claims: TokenClaims, target: ProofTarget, nowSeconds: number): CheckedProof {
  if (proof === undefined || proof === '') return invalid('no proof of possession');
  if (proof.length > MAX_PROOF_CHARS) invalid('proof is too large');
  const [h, p, s, extra] = proof.split('.');
  if (h === undefined || p === undefined || s === undefined || extra !== undefined) return invalid('proof is not a compact JWS');

  const header = jsonSegment(h, 'header');
  if (header['typ'] !== PROOF_TYPE) invalid(`proof typ must be ${PROOF_TYPE}`);
  if (header['alg'] !== 'ES256') invalid('proof alg must be ES256');
  if (header['crit'] !== undefined) invalid('proof crit is not supported');
  const jwk = header['jwk'] as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return invalid('proof jwk is missing');
  if (jwk['kty'] !== 'EC' || jwk['crv'] !== 'P-256' || !is32Bytes(jwk['x']) || !is32Bytes(jwk['y'])) invalid('proof jwk must be a P-256 public key');
  if (jwk['d'] !== undefined) invalid('proof jwk must not contain a private key');
  const publicJwk = { kty: 'EC', crv: 'P-256', x: jwk['x'] as string, y: jwk['y'] as string } as const;

  const signature = decodeB64u(s);
  if (!signature || signature.length !== 64) invalid('proof signature must be 64 bytes (r||s)');
  const claimsOfProof = jsonSegment(p, 'claims');

  // The key check comes before the signature check: a proof by another install is rejected without
  // spending an import and a verify on it.
  if (!sameText(jwkThumbprint(publicJwk), claims.cnf.jkt)) invalid('proof is signed by another key than the token was issued to');
  const key = importInstallKey(publicJwk) ?? invalid('proof jwk is not a point on P-256');
  if (!es256Verifies(Buffer.from(`${h}.${p}`, 'latin1'), key, signature!)) invalid('proof signature does not verify (or is not in low-s form)');

  const { htm, htu, iat, ath, jti } = claimsOfProof;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_PROOF_JTI_CHARS) invalid(`proof jti must be 1 to ${MAX_PROOF_JTI_CHARS} characters`);
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return invalid('proof iat must be a number');
  if (Math.abs(nowSeconds - iat) > PROOF_MAX_AGE_SECONDS) invalid(`proof iat is more than ${PROOF_MAX_AGE_SECONDS} s away from now`);
  if (typeof htm !== 'string' || htm !== target.method) invalid('proof htm does not match the request method');
  const expectedUrl = normaliseHtu(target.url);
  const provenUrl = typeof htu === 'string' ? normaliseHtu(htu) : undefined;
  if (expectedUrl === undefined || provenUrl === undefined || provenUrl !== expectedUrl) invalid('proof htu does not match the request URL');
  const athBytes = typeof ath === 'string' ? decodeB64u(ath) : undefined;
  if (!athBytes || athBytes.length !== 32 || !timingSafeEqual(athBytes, createHash('sha256').update(token, 'latin1').digest())) {
    invalid('proof ath does not match the token');
  }
  return { jkt: claims.cnf.jkt, jti: jti as string, iat };
}
