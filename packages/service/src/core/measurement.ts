import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { MEASUREMENT_LABEL } from '@attestor/contracts/protocol';

const SEP = Buffer.from([0]);

/** packageDigest = SHA-256(package bytes). */
export function packageDigest(packageBytes: Uint8Array): Buffer {
  return createHash('sha256').update(packageBytes).digest();
}

/**
 * measurement = HMAC-SHA256(key = nonce, "attestor-measurement-v1" 0x00 appId 0x00 appVersion 0x00 packageDigest).
 * Keying with the fresh nonce is what makes a captured measurement useless for the next challenge.
 */
export function computeMeasurement(nonce: Uint8Array, appId: string, appVersion: string, digest: Uint8Array): Buffer {
  return createHmac('sha256', nonce)
    .update(MEASUREMENT_LABEL)
    .update(SEP)
    .update(appId, 'utf8')
    .update(SEP)
    .update(appVersion, 'utf8')
    .update(SEP)
    .update(digest)
    .digest();
}

/** Constant-time equality for secrets and measurements; unequal lengths are simply unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    // Still spend a comparison so the early exit does not reveal much beyond the length.
    timingSafeEqual(Buffer.from(a), Buffer.from(a));
    return false;
  }
  return timingSafeEqual(a, b);
}
