/**
 * Minting attestation tokens (PROTOCOL.md §5.2; formats and claims in @attestor/contracts/protocol):
 * how they are put together. Both formats are compact JWS with the same claims; they differ in who can check them.
 *
 * - hs256 (the default): HMAC-SHA256 under a secret only the tenant's verifiers hold. A client
 *   cannot check its token, so it cannot tell a pass from a decoy (PROTOCOL.md §9).
 * - es256 (opt-in per tenant): ECDSA P-256 under a KMS key, verifiable by anyone with the JWKS,
 *   and therefore by the client too: in this format the verdict is not secret.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import { HS256_HEADER, type TokenClaims } from '@attestor/contracts/protocol';
import { encodeB64u } from '@attestor/contracts/base64url';

export function encodeJson(value: unknown): string {
  return encodeB64u(Buffer.from(JSON.stringify(value), 'utf8'));
}


/** The claims segment, members in the order of TokenClaims. */
export function encodeClaims(claims: TokenClaims): string {
  const ordered: Record<string, unknown> = { iss: claims.iss, sub: claims.sub };
  if (claims.aud !== undefined) ordered['aud'] = claims.aud;
  Object.assign(ordered, { iat: claims.iat, exp: claims.exp, jti: claims.jti, ver: claims.ver, did: claims.did });
  // After did, before cnf (PROTOCOL.md §5.5): present exactly when the request carried evidence, pass or decoy.
  if (claims.hw !== undefined) ordered['hw'] = claims.hw;
  ordered['cnf'] = { jkt: claims.cnf.jkt };
  if (claims.pay !== undefined) ordered['pay'] = claims.pay;
  if (claims.lut) ordered['lut'] = true;
  // Last, and only in a test token (PROTOCOL.md §5.7): the service never puts it in an attestation's token.
  if (claims.test) ordered['test'] = true;
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
