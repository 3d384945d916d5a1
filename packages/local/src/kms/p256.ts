/**
 * P-256 key pairs without node:crypto's key generation jobs.
 *
 * On Node 20 (seen on 20.20.2) exporting a freshly generated key can deadlock the process: the
 * export holds the key's mutex while allocating, the allocation triggers a garbage collection, and
 * the collection finalises the now unreachable generateKeyPair(Sync) job, whose destructor takes
 * the same mutex (main thread parked in futex_wait under KeyGenJob::~KeyGenJob during ExportJWK).
 * Keys built from an ECDH scalar through createPrivateKey have no such job behind them, so the
 * local KMS endpoint and the tests generate keys this way.
 */
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

export interface P256KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateP256KeyPair(): P256KeyPair {
  const ecdh = createECDH('prime256v1');
  const point = ecdh.generateKeys(); // uncompressed: 0x04 || X || Y
  const scalar = ecdh.getPrivateKey();
  // getPrivateKey drops leading zero bytes; JWK's d is the fixed 32-byte big-endian scalar.
  const d = Buffer.concat([Buffer.alloc(32 - scalar.length), scalar]);
  const members = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') };
  return {
    privateKey: createPrivateKey({ key: { ...members, d: d.toString('base64url') }, format: 'jwk' }),
    publicKey: createPublicKey({ key: members, format: 'jwk' }),
  };
}
