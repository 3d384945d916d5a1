/**
 * The hardware challenges of PROTOCOL.md §5.5, computed on the server exactly as clients compute
 * them (the SDK's protocol.ts; known answers in test/vectors/protocol-v2.json, `hardware`).
 */
import { createHash } from 'node:crypto';
import { HARDWARE_LABEL, MESSAGE_SEPARATOR } from '@attestor/contracts/protocol';
import { decodeB64u } from '@attestor/contracts/base64url';

const LABEL = Buffer.concat([Buffer.from(HARDWARE_LABEL, 'ascii'), Buffer.of(MESSAGE_SEPARATOR)]);

/** androidChallenge = SHA-256("attestor-hardware-v1" 0x00 nonce): what an Android install key was made with. */
export function androidChallenge(nonce: Uint8Array): Buffer {
  return createHash('sha256').update(LABEL).update(nonce).digest();
}

/**
 * clientDataHash = SHA-256("attestor-hardware-v1" 0x00 nonce thumbprint), the thumbprint as the 32
 * bytes `did` encodes: what App Attest attests or asserts, so the evidence covers the install key too.
 */
export function appAttestClientDataHash(nonce: Uint8Array, did: string): Buffer {
  const thumbprint = decodeB64u(did);
  if (thumbprint?.length !== 32) throw new Error('did must be base64url of 32 bytes');
  return createHash('sha256').update(LABEL).update(nonce).update(thumbprint).digest();
}
