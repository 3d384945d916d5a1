/**
 * The KMS calls behind tenant keys and the decoy key, one function per job: create a key, claim an
 * alias for it race-safely, sign, read a public key, wrap and unwrap hs256 secrets, discard a key.
 * SDK errors are translated here (by name: `instanceof` breaks when a bundle carries two copies
 * of the SDK) so callers see the domain's errors.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetPublicKeyCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdateAliasCommand,
  type KeyMetadata,
  type KMSClient,
  type Tag,
} from '@aws-sdk/client-kms';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { SECRET_BYTES, SecretIntegrityError, unwrapSecret as unwrapWithKms } from '@attestor/verify/aws/unwrap-secret';
import { KEY_PENDING_DELETION } from '@attestor/contracts/metrics';
import { toLowS } from '@attestor/contracts/p256';
import { derToP1363 } from '../core/ecdsa';
import { DependencyUnavailableError, ServiceError } from '../core/errors';
import type { TenantKeyRecord } from '../core/ports';
import { jwkThumbprint } from '@attestor/verify/core/install-key';

/** Long enough for an operator's repair to be the likelier outcome than another refusal. */
const KEY_UNAVAILABLE_RETRY_SECONDS = 30;

/**
 * KMS does not have the key, or refuses to use it (disabled or pending deletion): nothing a client
 * can fix, and an operator may (re-enable the key, rotate), so it answers 503 like any dependency.
 * A key pending deletion has a code of its own (KEY_PENDING_DELETION), counted as that Dependency:
 * its alarm needs no CloudTrail to see this service use a key someone scheduled for deletion.
 */
export class SigningKeyUnavailableError extends DependencyUnavailableError {
  override readonly name = 'SigningKeyUnavailableError';
  constructor(
    readonly keyId: string,
    cause: unknown,
    /** The key is pending deletion: from KMS's refusal, or stated by a caller that read the key's state. */
    pendingDeletion = isPendingDeletion(cause),
  ) {
    super(`KMS key ${keyId} is unavailable: ${cause instanceof Error ? cause.name : 'unknown error'}`, {
      code: pendingDeletion ? KEY_PENDING_DELETION : 'signing_key_unavailable',
      retryAfterSeconds: KEY_UNAVAILABLE_RETRY_SECONDS,
      cause,
    });
  }
}

/** The registry's record does not match what KMS holds (a kid that is not the key's thumbprint, a secret of the wrong size). */
export class TenantKeyIntegrityError extends ServiceError {
  override readonly name = 'TenantKeyIntegrityError';
  override readonly code = 'tenant_key_integrity';
}

/** The shortest window KMS allows; a discarded candidate key was never used. */
const DISCARD_WINDOW_DAYS = 7;
export { SECRET_BYTES };

/**
 * KMS's refusal of a key scheduled for deletion: KMSInvalidStateException saying "<key ARN> is
 * pending deletion." (the message AWS's own CloudTrail alarm for this case matches).
 */
function isPendingDeletion(error: unknown): boolean {
  return isKmsError(error, 'KMSInvalidStateException') && /is pending deletion/i.test((error as Error).message);
}

export function isKmsError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

const UNAVAILABLE = ['NotFoundException', 'DisabledException', 'KMSInvalidStateException'];
/** KMS is over its request quota or cannot reach what it depends on: the same call succeeds a moment later. */
const TRANSIENT = ['ThrottlingException', 'DependencyTimeoutException', 'KMSInternalException'];

function translate(error: unknown, keyId: string): unknown {
  if (isKmsError(error, ...UNAVAILABLE)) return new SigningKeyUnavailableError(keyId, error);
  if (isKmsError(error, ...TRANSIENT)) {
    return new DependencyUnavailableError(`KMS refused a call with ${keyId}: ${(error as Error).name}`, { code: 'kms_unavailable', cause: error });
  }
  return error;
}

export interface PublicKeyInfo {
  readonly key: KeyObject;
  readonly kid: string;
}

export async function kmsSign(kms: KMSClient, keyId: string, message: Uint8Array): Promise<Uint8Array> {
  let signature: Uint8Array | undefined;
  try {
    ({ Signature: signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })));
  } catch (error) {
    throw translate(error, keyId);
  }
  if (!signature) throw new Error(`KMS Sign with ${keyId} returned no signature`);
  // KMS returns either s; verifiers accept only the low one (PROTOCOL.md §4.4), and decoys must look
  // like passes, so every signature is normalised here.
  return toLowS(derToP1363(signature));
}

export async function fetchPublicKey(kms: KMSClient, keyId: string): Promise<PublicKeyInfo> {
  let der: Uint8Array | undefined;
  try {
    ({ PublicKey: der } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId })));
  } catch (error) {
    throw translate(error, keyId);
  }
  if (!der) throw new Error(`KMS GetPublicKey of ${keyId} returned no key`);
  const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TenantKeyIntegrityError(`KMS key ${keyId} is not a P-256 key`);
  }
  const { x, y } = key.export({ format: 'jwk' });
  return { key, kid: jwkThumbprint({ kty: 'EC', crv: 'P-256', x: x!, y: y! }) };
}

/**
 * Tenant keys' public keys, each read from KMS once: a KMS key's public key never changes. A failed
 * read is not kept, so the next call tries again.
 */
export class PublicKeyCache {
  private readonly loaded = new Map<string, Promise<PublicKeyInfo>>();

  constructor(private readonly kms: KMSClient) {}

  get(keyId: string): Promise<PublicKeyInfo> {
    let info = this.loaded.get(keyId);
    if (!info) {
      const loading = fetchPublicKey(this.kms, keyId);
      info = loading;
      this.loaded.set(keyId, loading);
      loading.catch(() => {
        if (this.loaded.get(keyId) === loading) this.loaded.delete(keyId);
      });
    }
    return info;
  }

  /** The public key of a tenant key record, refused (TenantKeyIntegrityError) unless KMS's key has the record's kid. */
  async verified(record: Pick<TenantKeyRecord, 'tenantId' | 'kid' | 'keyId'>): Promise<KeyObject> {
    const info = await this.get(record.keyId);
    if (info.kid !== record.kid) {
      throw new TenantKeyIntegrityError(`registry kid ${record.kid} of tenant ${record.tenantId} does not match KMS key ${record.keyId} (kid ${info.kid})`);
    }
    return info.key;
  }
}

/**
 * A new hs256 secret, as KMS returns it: encrypted under the tenant's secrets key and never seen in
 * plaintext by the caller (GenerateDataKeyWithoutPlaintext), so the admin function that makes it
 * cannot leak it.
 */
export async function generateWrappedSecret(kms: KMSClient, wrappingKeyId: string, encryptionContext: Record<string, string>): Promise<Uint8Array> {
  let blob: Uint8Array | undefined;
  try {
    ({ CiphertextBlob: blob } = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: wrappingKeyId, NumberOfBytes: SECRET_BYTES, EncryptionContext: encryptionContext }),
    ));
  } catch (error) {
    throw translate(error, wrappingKeyId);
  }
  if (!blob) throw new Error(`KMS GenerateDataKeyWithoutPlaintext with ${wrappingKeyId} returned no ciphertext`);
  return blob;
}

/** The plaintext hs256 secret, for the functions that mint and verify. KMS refuses a wrong key or context. */
export async function unwrapSecret(kms: KMSClient, wrappingKeyId: string, wrapped: Uint8Array, encryptionContext: Record<string, string>): Promise<KeyObject> {
  try {
    return await unwrapWithKms(kms, wrappingKeyId, wrapped, encryptionContext);
  } catch (error) {
    if (error instanceof SecretIntegrityError) throw new TenantKeyIntegrityError(error.message);
    throw translate(error, wrappingKeyId);
  }
}

export async function describeIfExists(kms: KMSClient, keyRef: string): Promise<KeyMetadata | undefined> {
  try {
    return (await kms.send(new DescribeKeyCommand({ KeyId: keyRef }))).KeyMetadata;
  } catch (error) {
    if (isKmsError(error, 'NotFoundException')) return undefined;
    throw error;
  }
}

export type KeyKind = 'signing' | 'secrets';

/**
 * A new KMS key: an ECC_NIST_P256 signing key (es256 tokens, the decoy), or a symmetric key that
 * wraps a tenant's hs256 secrets, with automatic yearly rotation of its key material (old wrapped
 * secrets still unwrap). A key whose rotation cannot be turned on is discarded, so every key this
 * returns is complete.
 */
export async function createKey(kms: KMSClient, kind: KeyKind, description: string, tags: Tag[], policy?: string): Promise<KeyMetadata> {
  const { KeyMetadata: metadata } = await kms.send(
    new CreateKeyCommand({
      ...(kind === 'signing' ? { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' } : { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' }),
      Description: description,
      Tags: tags,
      // The safety check refuses a policy that would not let the caller change it later. The
      // caller (the admin role) is deliberately no key administrator, and the policy keeps the
      // account's own statement, so the key stays manageable (see kms-key-policy.ts).
      ...(policy !== undefined ? { Policy: policy, BypassPolicyLockoutSafetyCheck: true } : {}),
    }),
  );
  if (!metadata?.KeyId) throw new Error('KMS CreateKey returned no key id');
  if (kind === 'secrets') {
    try {
      await kms.send(new EnableKeyRotationCommand({ KeyId: metadata.KeyId }));
    } catch (error) {
      await discardKey(kms, metadata.KeyId);
      throw error;
    }
  }
  return metadata;
}

/**
 * Points a new alias at `candidate`. If another caller got there first, the candidate is discarded
 * and the alias's key is returned instead.
 */
export async function claimAlias(kms: KMSClient, aliasName: string, candidate: KeyMetadata): Promise<KeyMetadata> {
  try {
    await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: candidate.KeyId }));
    return candidate;
  } catch (error) {
    await discardKey(kms, candidate.KeyId!);
    if (!isKmsError(error, 'AlreadyExistsException')) throw error;
  }
  const winner = await describeIfExists(kms, aliasName);
  if (!winner?.KeyId) throw new SigningKeyUnavailableError(aliasName, new Error('alias was deleted while being claimed'));
  return winner;
}

export async function createAliasIfAbsent(kms: KMSClient, aliasName: string, targetKeyId: string): Promise<void> {
  try {
    await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: targetKeyId }));
  } catch (error) {
    if (!isKmsError(error, 'AlreadyExistsException')) throw error;
  }
}

/**
 * Best effort: a key that lost a race was never used, and one that cannot be scheduled for
 * deletion now stays findable by its attestor:* tags and missing alias. Failing the caller over
 * it would not help, since its retry would find the winner and never revisit this key.
 */
export async function discardKey(kms: KMSClient, keyId: string): Promise<void> {
  try {
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: DISCARD_WINDOW_DAYS }));
  } catch {
    // see above
  }
}

/**
 * Makes sure `aliasName` names an enabled signing key, creating key and alias if needed; returns
 * the key id. Idempotent and safe to run concurrently (the local cloud's bootstrap uses it). The
 * decoy signs the decoys of es256 tenants; hs256 decoys need no KMS key.
 */
export async function ensureDecoyKey(kms: KMSClient, aliasName: string): Promise<string> {
  const existing = await describeIfExists(kms, aliasName);
  if (existing?.KeyState === 'Enabled') return existing.KeyId!;
  const description = 'Attestor decoy key: signs es256 tokens of failed attestations';
  const candidate = await createKey(kms, 'signing', description, [{ TagKey: 'attestor:purpose', TagValue: 'decoy' }]);
  if (!existing) return (await claimAlias(kms, aliasName, candidate)).KeyId!;
  // The alias points at a disabled or deleted-soon key: move it to the new one.
  await kms.send(new UpdateAliasCommand({ AliasName: aliasName, TargetKeyId: candidate.KeyId }));
  const now = await describeIfExists(kms, aliasName);
  if (now?.KeyId !== candidate.KeyId) await discardKey(kms, candidate.KeyId!);
  if (!now) throw new SigningKeyUnavailableError(aliasName, new Error('alias vanished while being repaired'));
  return now.KeyId!;
}
