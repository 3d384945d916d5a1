/**
 * The one ES256 check of install proofs, proofs of possession and es256 tokens: IEEE P1363 r‖s of
 * 64 bytes, s in its low form (PROTOCOL.md §4.4), then the signature itself. Refusing the high-s
 * twin of a genuine signature keeps each signature's bytes unique, which the replay ledger and the
 * verified-token cache rely on.
 */
import { verify, type KeyObject } from 'node:crypto';
import { isLowS } from '@attestor/contracts/p256';

/** True when `signature` is a low-s ES256 signature of `message` by `key`; false for anything else. Never throws. */
export function es256Verifies(message: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  if (!isLowS(signature)) return false;
  try {
    return verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
