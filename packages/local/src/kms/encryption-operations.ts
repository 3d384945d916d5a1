/** GenerateDataKeyWithoutPlaintext and Decrypt, with SYMMETRIC_DEFAULT keys (AES-256-GCM). */
import { randomBytes } from 'node:crypto';
import { invalidCiphertext, open, parseEnvelope, seal } from './envelope';
import { KmsError, validationError } from './errors';
import { acceptGrantTokens, checkDryRun, optBoolean, optEncryptionContext, optEnum, optInteger, optString, reqBlob, reqString } from './input';
import type { Operation } from './operation';

const DATA_KEY_SPECS = ['AES_128', 'AES_256'] as const;
const DATA_KEY_BYTES: Readonly<Record<(typeof DATA_KEY_SPECS)[number], number>> = { AES_128: 16, AES_256: 32 };
const ENCRYPTION_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE', 'SYMMETRIC_DEFAULT'] as const;
/** KMS's bound on CiphertextBlob. */
const MAX_CIPHERTEXT_BYTES = 6144;

const generateDataKeyWithoutPlaintext: Operation = (kms, input) => {
  const keyRef = reqString(input, 'KeyId');
  const encryptionContext = optEncryptionContext(input);
  const keySpec = optEnum(input, 'KeySpec', DATA_KEY_SPECS);
  const numberOfBytes = optInteger(input, 'NumberOfBytes', 1, 1024);
  acceptGrantTokens(input);
  optBoolean(input, 'DryRun');
  if (keySpec !== undefined && numberOfBytes !== undefined) throw new KmsError('ValidationException', 'Specify either KeySpec or NumberOfBytes, not both');
  const size = keySpec !== undefined ? DATA_KEY_BYTES[keySpec] : numberOfBytes;
  if (size === undefined) throw validationError('KeySpec', null, 'Specify either KeySpec or NumberOfBytes');
  const key = kms.resolve(keyRef, true);
  return {
    key,
    encryptionContext,
    execute: () => {
      const { material } = key;
      if (material.keySpec !== 'SYMMETRIC_DEFAULT') {
        throw new KmsError(
          'InvalidKeyUsageException',
          `${kms.arn(key.keyId)} has KeyUsage ${material.keyUsage}; GenerateDataKeyWithoutPlaintext needs a symmetric ENCRYPT_DECRYPT key`,
        );
      }
      kms.requireUsable(key);
      checkDryRun(input);
      const dataKey = randomBytes(size);
      try {
        return { KeyId: kms.arn(key.keyId), CiphertextBlob: seal(key.keyId, material.secret, dataKey, encryptionContext).toString('base64') };
      } finally {
        dataKey.fill(0);
      }
    },
  };
};

const decrypt: Operation = (kms, input) => {
  const envelope = parseEnvelope(reqBlob(input, 'CiphertextBlob', MAX_CIPHERTEXT_BYTES));
  const keyRef = optString(input, 'KeyId');
  const encryptionContext = optEncryptionContext(input);
  const algorithm = optEnum(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  acceptGrantTokens(input);
  optBoolean(input, 'DryRun');
  if (input['Recipient'] !== undefined && input['Recipient'] !== null) {
    throw new KmsError('UnsupportedOperationException', 'This local KMS has no Nitro Enclaves: Recipient is not supported');
  }
  // As in KMS, a KeyId names the key the caller expects; it never selects a different one.
  if (keyRef !== undefined) {
    const expected = kms.resolve(keyRef, true);
    if (expected.keyId !== envelope.keyId) {
      throw new KmsError(
        'IncorrectKeyException',
        `The key ID in the request does not identify the KMS key that was used to encrypt the ciphertext (${kms.arn(envelope.keyId)})`,
      );
    }
  }
  // The blob is opaque to clients: a key id that names nothing means a blob nobody made here,
  // or one whose key has been deleted.
  const key = kms.find(envelope.keyId);
  if (!key || key.material.keySpec !== 'SYMMETRIC_DEFAULT') throw invalidCiphertext();
  const { secret } = key.material;
  return {
    key,
    encryptionContext,
    execute: () => {
      kms.requireUsable(key);
      if (algorithm !== 'SYMMETRIC_DEFAULT')
        throw new KmsError('InvalidKeyUsageException', `EncryptionAlgorithm ${algorithm} is not valid for a symmetric key; use SYMMETRIC_DEFAULT`);
      checkDryRun(input);
      const plaintext = open(envelope, secret, encryptionContext);
      return { KeyId: kms.arn(key.keyId), Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
  };
};

export const ENCRYPTION_OPERATIONS: ReadonlyArray<readonly [string, Operation]> = [
  ['GenerateDataKeyWithoutPlaintext', generateDataKeyWithoutPlaintext],
  ['Decrypt', decrypt],
];
