/**
 * Token binding (PROTOCOL.md §5.2, like Approov's `pay` claim): the client hashes a value that the
 * protected request also carries, typically its Authorization header, into the attest request; the
 * token carries the hash as `pay`; the verifier recomputes it from the request. A token lifted from
 * one request is then worthless on a request with another Authorization header.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeB64u } from '@attestor/contracts/base64url';
import type { TokenClaims } from '@attestor/contracts/protocol';
import { TokenVerificationError } from './verify';

/** `binding` for the attest request: b64u(SHA-256(UTF-8(value))). */
export function bindingOf(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/**
 * True when `pay` is the binding of `value`. Constant-time in the value (the Authorization header is
 * a secret of the user); false when either is missing or `pay` is not 32 bytes of base64url.
 */
export function bindingMatches(pay: string | undefined, value: string | undefined): boolean {
  if (pay === undefined || value === undefined) return false;
  const expected = decodeB64u(pay);
  if (expected?.length !== 32) return false;
  return timingSafeEqual(expected, createHash('sha256').update(value, 'utf8').digest());
}

/** Throws `binding_mismatch` unless the token is bound to `value`. */
export function checkBinding(claims: TokenClaims, value: string | undefined): void {
  if (!bindingMatches(claims.pay, value)) {
    throw new TokenVerificationError(
      'binding_mismatch',
      claims.pay === undefined
        ? 'token carries no binding (pay)'
        : value === undefined
          ? 'request lacks the bound header'
          : 'token is bound to another request',
    );
  }
}
