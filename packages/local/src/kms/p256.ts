/**
 * P-256 key pairs for the local KMS (and the tests that need keys of the same kind).
 *
 * On Node 20 exporting a freshly generated key could deadlock the process (seen on 20.20.2: the
 * export held the key's mutex while allocating, the allocation triggered a garbage collection,
 * and the collection finalised the generateKeyPair job, whose destructor took the same mutex), so
 * keys were built from an ECDH scalar instead. The local cloud now requires Node 24 (its engines,
 * and the repository's own node devDependency), so node:crypto's generator serves again. The SDK,
 * which still runs on Node 20, generates its install keys itself.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface P256KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function generateP256KeyPair(): P256KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}
