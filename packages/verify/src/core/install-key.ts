import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { encodeB64u } from '@attestor/contracts/base64url';
import { INSTALL_PROOF_LABEL } from '@attestor/contracts/protocol';
import { es256Verifies } from './es256';

/** The install key's public half as sent by the SDK: an EC P-256 JWK. */
export interface InstallPublicJwk {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
}

/** RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no whitespace. */
export function jwkThumbprint(jwk: InstallPublicJwk): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return encodeB64u(createHash('sha256').update(canonical, 'utf8').digest());
}

/** Imports the JWK; returns undefined when it is not a valid point on P-256. */
export function importInstallKey(jwk: InstallPublicJwk): KeyObject | undefined {
  try {
    return createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** The bytes the install key signs: "attestor-install-v1" 0x00 nonce measurement. */
export function installProofMessage(nonce: Uint8Array, measurement: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(INSTALL_PROOF_LABEL, 'utf8'), Buffer.from([0]), nonce, measurement]);
}

/** Verifies an ES256 (IEEE P1363 r||s, low s) install proof. Never throws. */
export function verifyInstallProof(key: KeyObject | undefined, nonce: Uint8Array, measurement: Uint8Array, proof: Uint8Array): boolean {
  return key !== undefined && es256Verifies(installProofMessage(nonce, measurement), key, proof);
}
