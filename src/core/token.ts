import { encodeB64u } from './base64url';

export interface TokenHeader {
  readonly alg: 'ES256';
  readonly typ: 'JWT';
  readonly kid: string;
}

/** Claims of an attestation token (PROTOCOL.md §5). Member order is fixed so pass and decoy tokens match in size. */
export interface TokenClaims {
  readonly iss: string;
  /** appId */
  readonly sub: string;
  /** tenant id */
  readonly aud: string;
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

/** BASE64URL(header) "." BASE64URL(claims): the JWS signing input. */
export function signingInput(header: TokenHeader, claims: TokenClaims): string {
  const ordered: Record<string, unknown> = {
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    iat: claims.iat,
    exp: claims.exp,
    jti: claims.jti,
    ver: claims.ver,
    did: claims.did,
    cnf: { jkt: claims.cnf.jkt },
  };
  if (claims.pay !== undefined) ordered['pay'] = claims.pay;
  if (claims.lut) ordered['lut'] = true;
  return `${encodeJson({ alg: header.alg, typ: header.typ, kid: header.kid })}.${encodeJson(ordered)}`;
}
