/**
 * A KMS-compatible endpoint for the local cloud (implementation in local/kms/). There is no KMS
 * emulator to install (no LocalStack, no moto, no Docker), so this speaks enough of the AWS JSON
 * 1.1 protocol (`X-Amz-Target: TrentService.<Operation>`) for the real `KMSClient` to run the same
 * adapter code as in AWS.
 *
 * Served: CreateKey (ECC_NIST_P256 SIGN_VERIFY, and SYMMETRIC_DEFAULT ENCRYPT_DECRYPT, the
 * default), DescribeKey, ListKeys, ListResourceTags, DisableKey, ScheduleKeyDeletion,
 * EnableKeyRotation (symmetric keys; recorded only), CreateAlias, UpdateAlias, GetPublicKey, Sign
 * (ECDSA_SHA_256 over RAW messages), GenerateDataKeyWithoutPlaintext and Decrypt (AES-256-GCM, the
 * encryption context bound as additional authenticated data). Any other target is
 * UnknownOperationException.
 *
 * Enforced: AWS Signature Version 4 on every request (credential scope of this region and `kms`,
 * host and x-amz-date signed, the body hash, X-Amz-Date within 15 minutes), against the
 * credentials the caller configures (by default only S3RVER/S3RVER, the local cloud's service
 * credential); a credential's optional `authorize` hook models IAM and key policies per operation,
 * key and encryption context; key states (disabled, pending deletion) as KMS enforces them.
 *
 * Deliberate limits of a loopback development stand-in: key policies given to CreateKey are stored
 * but not evaluated (only `authorize` decides), grants do not exist, rotation is recorded but never
 * performed, session tokens are not checked, and one server process owns a data directory at a
 * time (nothing locks it).
 */
export {
  LOCAL_SERVICE_CREDENTIAL,
  startKmsServer,
  type KmsAuthorizationRequest,
  type KmsServer,
  type KmsServerOptions,
  type LocalKmsCredential,
} from './kms/server';
