/** GetPublicKey and Sign, for ECC_NIST_P256 keys and ECDSA_SHA_256 over RAW messages. */
import { sign } from 'node:crypto';
import { toLowS } from '@attestor/contracts/p256';
import { p1363ToDer } from '@attestor/service/core/ecdsa';
import { KmsError } from './errors';
import { acceptGrantTokens, checkDryRun, optBoolean, optEnum, reqBlob, reqEnum, reqString } from './input';
import type { LiveKey } from './key';
import type { Operation } from './operation';
import type { LocalKms } from './store';

const SIGNING_ALGORITHMS = [
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'ED25519_PH_SHA_512',
  'ED25519_SHA_512',
  'ML_DSA_SHAKE_256',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'SM2DSA',
] as const;
const MESSAGE_TYPES = ['DIGEST', 'EXTERNAL_MU', 'RAW'] as const;
/** KMS's limit for RAW messages. */
const MAX_RAW_MESSAGE_BYTES = 4096;

const getPublicKey: Operation = (kms, input) => {
  const key = kms.resolve(reqString(input, 'KeyId'), true);
  acceptGrantTokens(input);
  return {
    key,
    execute: () => {
      const { material } = key;
      if (material.keySpec !== 'ECC_NIST_P256') {
        throw new KmsError('UnsupportedOperationException', `${kms.arn(key.keyId)} is a symmetric key; GetPublicKey is only for asymmetric keys`);
      }
      kms.requireUsable(key);
      return {
        KeyId: kms.arn(key.keyId),
        PublicKey: material.spki.toString('base64'),
        CustomerMasterKeySpec: material.keySpec,
        KeySpec: material.keySpec,
        KeyUsage: material.keyUsage,
        SigningAlgorithms: ['ECDSA_SHA_256'],
      };
    },
  };
};

function signingKey(kms: LocalKms, key: LiveKey) {
  const { material } = key;
  if (material.keySpec !== 'ECC_NIST_P256')
    throw new KmsError('InvalidKeyUsageException', `${kms.arn(key.keyId)} has KeyUsage ${material.keyUsage}; Sign needs a SIGN_VERIFY key`);
  return material.privateKey;
}

const signOperation: Operation = (kms, input) => {
  const keyRef = reqString(input, 'KeyId');
  const message = reqBlob(input, 'Message', MAX_RAW_MESSAGE_BYTES);
  const algorithm = reqEnum(input, 'SigningAlgorithm', SIGNING_ALGORITHMS);
  const messageType = optEnum(input, 'MessageType', MESSAGE_TYPES) ?? 'RAW';
  acceptGrantTokens(input);
  optBoolean(input, 'DryRun');
  // node:crypto cannot sign a prehashed message with an EC key, and Attestor signs only RAW
  // messages; an endpoint that refuses DIGEST beats carrying curve arithmetic nothing uses.
  if (messageType === 'DIGEST') {
    throw new KmsError(
      'UnsupportedOperationException',
      'This local KMS signs RAW messages only; send the message itself with MessageType RAW (at most 4096 bytes), not its digest',
    );
  }
  if (messageType === 'EXTERNAL_MU') throw new KmsError('InvalidKeyUsageException', 'MessageType EXTERNAL_MU is supported only for ML-DSA keys');
  const key = kms.resolve(keyRef, true);
  return {
    key,
    execute: () => {
      const privateKey = signingKey(kms, key);
      kms.requireUsable(key);
      if (algorithm !== 'ECDSA_SHA_256') {
        throw new KmsError('InvalidKeyUsageException', `Signing algorithm ${algorithm} is not supported for a ${key.material.keySpec} key; use ECDSA_SHA_256`);
      }
      checkDryRun(input);
      // DER, as KMS returns ECDSA signatures. Real KMS returns either s; this one only the low one, so
      // nothing it signs is ever the high-s form that verifiers refuse (PROTOCOL.md §4.4).
      const signature = p1363ToDer(toLowS(sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })));
      return { KeyId: kms.arn(key.keyId), Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
    },
  };
};

export const SIGNING_OPERATIONS: ReadonlyArray<readonly [string, Operation]> = [
  ['GetPublicKey', getPublicKey],
  ['Sign', signOperation],
];
