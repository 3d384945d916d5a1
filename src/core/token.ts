/**
 * Attestation tokens (PROTOCOL.md §5.2): their two formats, their claims and how they are put
 * together. Both formats are compact JWS with the same claims; they differ in who can check them.
 *
 * - hs256 (the default): HMAC-SHA256 under a secret only the tenant's verifiers hold. A client
 *   cannot check its token, so it cannot tell a pass from a decoy (PROTOCOL.md §9).
 * - es256 (opt-in per tenant): ECDSA P-256 under a KMS key, verifiable by anyone with the JWKS,
 *   and therefore by the client too: in this format the verdict is not secret.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import { encodeB64u } from './base64url';

export type TokenFormat = 'hs256' | 'es256';
export const TOKEN_FORMATS: readonly TokenFormat[] = ['hs256', 'es256'];
/** What a tenant signs with until it chooses otherwise. */
export const DEFAULT_TOKEN_FORMAT: TokenFormat = 'hs256';

/** JWS `alg` of each format. */
export const TOKEN_ALGORITHMS = { hs256: 'HS256', es256: 'ES256' } as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[TokenFormat];

/** Signature length in bytes: HMAC-SHA256, and ECDSA P-256 as IEEE P1363 r||s. */
export const SIGNATURE_BYTES: Readonly<Record<TokenAlgorithm, number>> = { HS256: 32, ES256: 64 };

/**
 * Claims of an attestation token. Member order is fixed so that pass and decoy tokens have the same
 * size. No claim depends on the verdict, on the app's tenant (hs256) or on the app's policy.
 */
export interface TokenClaims {
  readonly iss: string;
  /** appId */
  readonly sub: string;
  /**
   * es256 only: the tenant id, which tells a verifier which JWKS applies. hs256 tokens have none:
   * the secret that verifies them already names the tenant, and an audience would tell an
   * unregistered app id from a registered one (PROTOCOL.md §9).
   */
  readonly aud?: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** appVersion */
  readonly ver: string;
  /** RFC 7638 thumbprint of the install key */
  readonly did: string;
  readonly cnf: { readonly jkt: string };
  /** b64u(SHA-256(binding value)), when the attest request carried a binding */
  readonly pay?: string;
  /** single-use token, when the attest request asked for limitedUse */
  readonly lut?: true;
}

export function encodeJson(value: unknown): string {
  return encodeB64u(Buffer.from(JSON.stringify(value), 'utf8'));
}

/** Every hs256 token has this header: nothing in it varies by tenant, key or verdict. */
export const HS256_HEADER = encodeJson({ alg: 'HS256', typ: 'JWT' });

/** The claims segment, members in the order of TokenClaims. */
export function encodeClaims(claims: TokenClaims): string {
  const ordered: Record<string, unknown> = { iss: claims.iss, sub: claims.sub };
  if (claims.aud !== undefined) ordered['aud'] = claims.aud;
  Object.assign(ordered, { iat: claims.iat, exp: claims.exp, jti: claims.jti, ver: claims.ver, did: claims.did, cnf: { jkt: claims.cnf.jkt } });
  if (claims.pay !== undefined) ordered['pay'] = claims.pay;
  if (claims.lut) ordered['lut'] = true;
  return encodeJson(ordered);
}

/** BASE64URL(header) "." BASE64URL(claims) of an es256 token: the header names the signing key. */
export function es256SigningInput(kid: string, claims: TokenClaims): string {
  return `${encodeJson({ alg: 'ES256', typ: 'JWT', kid })}.${encodeClaims(claims)}`;
}

/** HMAC-SHA256 over a token's signing input (its first two segments, ASCII). */
export function hs256Signature(secret: KeyObject, signingInput: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

/** A complete hs256 token. */
export function hs256Token(secret: KeyObject, claims: TokenClaims): string {
  const input = `${HS256_HEADER}.${encodeClaims(claims)}`;
  return `${input}.${encodeB64u(hs256Signature(secret, input))}`;
}
