/**
 * Unwrapping an hs256 secret with KMS Decrypt: what every verifier on AWS does with the wrapped
 * secrets the admin API hands out (and attest, which mints with them). The caller's own IAM
 * permission decides: KMS refuses a role that may not Decrypt under the secret's encryption context.
 */
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { createSecretKey, type KeyObject } from 'node:crypto';

/** hs256 secrets: 256 bits, the HMAC-SHA256 key size RFC 7518 §3.2 asks for. */
export const SECRET_BYTES = 32;

/** KMS answered Decrypt with something that is not a secret (a wrapped blob of another kind). */
export class SecretIntegrityError extends Error {
  override readonly name = 'SecretIntegrityError';
}

/** The plaintext secret as a KeyObject; KMS errors (access denied, key disabled) are thrown as KMS threw them. */
export async function unwrapSecret(kms: KMSClient, wrappingKeyId: string, wrapped: Uint8Array, encryptionContext: Record<string, string>): Promise<KeyObject> {
  const { Plaintext: plaintext } = await kms.send(new DecryptCommand({ KeyId: wrappingKeyId, CiphertextBlob: wrapped, EncryptionContext: encryptionContext }));
  if (plaintext?.length !== SECRET_BYTES) throw new SecretIntegrityError(`KMS Decrypt with ${wrappingKeyId} did not return a ${SECRET_BYTES}-byte secret`);
  const key = createSecretKey(Buffer.from(plaintext));
  // The KeyObject holds its own copy; the SDK's buffer is not kept around.
  plaintext.fill(0);
  return key;
}
