/**
 * ES256 as the protocol wants it from a signer: IEEE P1363 r‖s with s in its low form (PROTOCOL.md
 * §4.4). node:crypto returns either s, and verifiers refuse the high one, so every test and bench
 * that signs a proof or token for a verifier signs through this.
 */
import { sign, type KeyObject } from 'node:crypto';
import { toLowS } from '../../packages/contracts/src/p256';

export function signEs256(message: Uint8Array, key: KeyObject): Buffer {
  return Buffer.from(toLowS(sign('sha256', message, { key, dsaEncoding: 'ieee-p1363' })));
}

/** The other signature of the same message by the same key: (r, n − s), which verifies as well (high s when `signature` is low). */
export function highSTwin(signature: Uint8Array): Buffer {
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`);
  return Buffer.concat([Buffer.from(signature.subarray(0, 32)), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')]);
}
