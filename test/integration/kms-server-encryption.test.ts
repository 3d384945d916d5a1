/**
 * Symmetric keys of the local KMS endpoint: GenerateDataKeyWithoutPlaintext and Decrypt through the
 * real KMSClient, with the guarantees callers rely on from KMS: the exact encryption context is
 * required, tampering is detected, the key in the ciphertext is the only one that decrypts it.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DisabledException,
  DisableKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetPublicKeyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidKeyUsageException,
  KMSClient,
  KMSInvalidStateException,
  ScheduleKeyDeletionCommand,
  UnsupportedOperationException,
} from '@aws-sdk/client-kms';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsServer, type KmsServer } from '../../packages/local/src/kms-server';

const TENANT_CONTEXT = { 'attestor:tenant': 'acme', 'attestor:purpose': 'install-secret' };

let dir: string;
let server: KmsServer;
let kms: KMSClient;

async function newSymmetricKey(): Promise<{ keyId: string; arn: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'data key wrapping' }));
  return { keyId: KeyMetadata!.KeyId!, arn: KeyMetadata!.Arn! };
}

async function dataKey(keyId: string, context: Record<string, string> = TENANT_CONTEXT): Promise<Uint8Array> {
  const { CiphertextBlob } = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }));
  return CiphertextBlob!;
}

const decrypt = (blob: Uint8Array, context?: Record<string, string>, keyId?: string) =>
  kms.send(new DecryptCommand({ CiphertextBlob: blob, ...(context ? { EncryptionContext: context } : {}), ...(keyId ? { KeyId: keyId } : {}) }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-server-encryption-test-'));
  server = await startKmsServer({ dataDir: dir });
  kms = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, maxAttempts: 1 });
});

afterAll(async () => {
  kms?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('symmetric keys', () => {
  it('are what CreateKey makes without a KeySpec, as in AWS', async () => {
    // Act
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));

    // Assess
    expect(KeyMetadata).toMatchObject({
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      KeyState: 'Enabled',
    });
    expect(KeyMetadata).not.toHaveProperty('SigningAlgorithms');
  });

  it('have no public key, and signing keys make no data keys', async () => {
    // Prepare
    const { keyId } = await newSymmetricKey();
    const { KeyMetadata: signing } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));

    // Act / Assess
    await expect(kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(UnsupportedOperationException);
    await expect(dataKey(signing!.KeyId!)).rejects.toBeInstanceOf(InvalidKeyUsageException);
  });
});

describe('GenerateDataKeyWithoutPlaintext and Decrypt', () => {
  it('round-trip a fresh 32-byte data key, whatever the order of the context’s entries', async () => {
    // Prepare
    const { keyId, arn } = await newSymmetricKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/test/wrapping', TargetKeyId: keyId }));

    // Act
    const generated = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({ KeyId: 'alias/test/wrapping', KeySpec: 'AES_256', EncryptionContext: TENANT_CONTEXT }),
    );
    const reordered = Object.fromEntries(Object.entries(TENANT_CONTEXT).reverse());
    const decrypted = await decrypt(generated.CiphertextBlob!, reordered);
    const other = await decrypt(await dataKey(keyId), TENANT_CONTEXT);

    // Assess
    expect(generated.KeyId).toBe(arn);
    expect(generated).not.toHaveProperty('Plaintext');
    expect(decrypted).toMatchObject({ KeyId: arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' });
    expect(decrypted.Plaintext).toHaveLength(32);
    expect(Buffer.from(decrypted.Plaintext!).equals(Buffer.from(other.Plaintext!))).toBe(false);
    expect(Buffer.from(generated.CiphertextBlob!).includes(Buffer.from(decrypted.Plaintext!))).toBe(false);
  });

  it('makes data keys of NumberOfBytes or AES_128, and refuses both or neither', async () => {
    // Prepare
    const { keyId } = await newSymmetricKey();

    // Act
    const { CiphertextBlob: blob64 } = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 64 }));
    const { CiphertextBlob: blob16 } = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_128' }));

    // Assess
    expect((await decrypt(blob64!)).Plaintext).toHaveLength(64);
    expect((await decrypt(blob16!)).Plaintext).toHaveLength(16);
    await expect(kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_256', NumberOfBytes: 32 }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, NumberOfBytes: 1025 }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('decrypts only with exactly the encryption context used to encrypt', async () => {
    // Prepare
    const { keyId } = await newSymmetricKey();
    const blob = await dataKey(keyId);
    const contexts: Array<Record<string, string> | undefined> = [
      undefined,
      {},
      { 'attestor:tenant': 'acme' },
      { ...TENANT_CONTEXT, 'attestor:tenant': 'globex' },
      { ...TENANT_CONTEXT, extra: 'entry' },
      { 'attestor:tenant': 'acme', 'attestor:purpose': 'install-secreT' },
    ];

    // Act
    const outcomes = await Promise.all(contexts.map((context) => decrypt(blob, context).catch((e: unknown) => e)));

    // Assess
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(InvalidCiphertextException);
    await expect(decrypt(blob, { ...TENANT_CONTEXT })).resolves.toHaveProperty('Plaintext');
    // A data key made without a context needs none, and refuses one.
    const bare = await dataKey(keyId, {});
    await expect(decrypt(bare)).resolves.toHaveProperty('Plaintext');
    await expect(decrypt(bare, { 'attestor:tenant': 'acme' })).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it('detects a changed byte anywhere in the ciphertext, and a truncated one', async () => {
    // Prepare
    const { keyId } = await newSymmetricKey();
    const blob = Buffer.from(await dataKey(keyId));
    const tampered = Array.from({ length: blob.length }, (_, i) => {
      const copy = Buffer.from(blob);
      copy[i] = copy[i]! ^ 0x01;
      return copy;
    });

    // Act
    const outcomes = await Promise.all(tampered.map((copy) => decrypt(copy, TENANT_CONTEXT).then(() => 'decrypted', (e: unknown) => (e as Error).name)));

    // Assess
    expect(new Set(outcomes)).toEqual(new Set(['InvalidCiphertextException']));
    await expect(decrypt(blob.subarray(0, blob.length - 1), TENANT_CONTEXT)).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(decrypt(blob, TENANT_CONTEXT)).resolves.toHaveProperty('Plaintext');
  });

  it('refuses a KeyId other than the key in the ciphertext', async () => {
    // Prepare
    const { keyId, arn } = await newSymmetricKey();
    const { keyId: otherKeyId } = await newSymmetricKey();
    const blob = await dataKey(keyId);

    // Act
    const refused = await decrypt(blob, TENANT_CONTEXT, otherKeyId).catch((e: unknown) => e);

    // Assess
    expect(refused).toBeInstanceOf(IncorrectKeyException);
    await expect(decrypt(blob, TENANT_CONTEXT, arn)).resolves.toMatchObject({ KeyId: arn });
  });

  it('refuses data keys and decryption with a disabled key or one pending deletion', async () => {
    // Prepare
    const disabled = await newSymmetricKey();
    const doomed = await newSymmetricKey();
    const disabledBlob = await dataKey(disabled.keyId);
    const doomedBlob = await dataKey(doomed.keyId);

    // Act
    await kms.send(new DisableKeyCommand({ KeyId: disabled.keyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.keyId, PendingWindowInDays: 7 }));

    // Assess
    await expect(decrypt(disabledBlob, TENANT_CONTEXT)).rejects.toBeInstanceOf(DisabledException);
    await expect(dataKey(disabled.keyId)).rejects.toBeInstanceOf(DisabledException);
    await expect(decrypt(doomedBlob, TENANT_CONTEXT)).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(dataKey(doomed.keyId)).rejects.toBeInstanceOf(KMSInvalidStateException);
  });
});
