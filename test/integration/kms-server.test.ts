/**
 * The local KMS endpoint's keys, signatures, aliases, lifecycle and persistence, driven by the real
 * KMSClient over HTTP: if the SDK can talk to it, the adapters can. Symmetric encryption is in
 * kms-server-encryption.test.ts, authentication and raw protocol errors in kms-server-protocol.test.ts.
 */
import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GetPublicKeyCommand,
  InvalidAliasNameException,
  InvalidKeyUsageException,
  InvalidMarkerException,
  KMSClient,
  KMSInvalidStateException,
  KMSServiceException,
  ListKeysCommand,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UnsupportedOperationException,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsServer, type KmsServer } from '../../packages/local/src/kms-server';
import { generateP256KeyPair } from '../../packages/local/src/kms/p256';
import { isLowS } from '../../packages/contracts/src/p256';
import { derToP1363 } from '../../packages/service/src/core/ecdsa';

/** The local cloud's service credential, the only one the endpoint knows by default. */
const SERVICE_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

const clientFor = (endpoint: string) => new KMSClient({ endpoint, region: 'us-east-1', credentials: SERVICE_CREDENTIALS, maxAttempts: 1 });

async function newKey(kms: KMSClient, extra: Partial<ConstructorParameters<typeof CreateKeyCommand>[0]> = {}): Promise<string> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', ...extra }));
  return KeyMetadata!.KeyId!;
}

async function publicKeyOf(kms: KMSClient, keyId: string): Promise<KeyObject> {
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
}

const rawSign = (kms: KMSClient, keyId: string, message: Uint8Array) =>
  kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));

/** A server of its own on `dataDir` for the length of `use`, closed even when `use` fails. */
async function withServer<T>(dataDir: string, use: (client: KMSClient) => Promise<T>): Promise<T> {
  const own = await startKmsServer({ dataDir });
  const client = clientFor(own.endpoint);
  try {
    return await use(client);
  } finally {
    client.destroy();
    await own.close();
  }
}

let dir: string;
let server: KmsServer;
let kms: KMSClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-server-test-'));
  server = await startKmsServer({ dataDir: join(dir, 'main') });
  kms = clientFor(server.endpoint);
});

afterAll(async () => {
  kms?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('signing keys', () => {
  it('returns only low-s signatures (PROTOCOL.md §4.4), which verify', async () => {
    // Prepare: 64 signatures leave a high s by chance with probability 2^-64 if nothing normalised.
    const keyId = await newKey(kms);
    const publicKey = await publicKeyOf(kms, keyId);
    const message = Buffer.from('header.claims', 'ascii');

    // Act
    const signatures = await Promise.all(Array.from({ length: 64 }, async () => Buffer.from((await rawSign(kms, keyId, message)).Signature!)));

    // Assess
    for (const der of signatures) {
      const p1363 = derToP1363(der);
      expect(isLowS(p1363)).toBe(true);
      expect(verify('sha256', message, publicKey, der)).toBe(true);
    }
  });

  it('creates a P-256 signing key whose RAW signatures are DER and verify with node:crypto', async () => {
    // Prepare
    const created = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Description: 'test key' }));
    const keyId = created.KeyMetadata!.KeyId!;
    const message = Buffer.from('header.claims', 'ascii');

    // Act
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const signed = await rawSign(kms, keyId, message);

    // Assess
    expect(created.KeyMetadata).toMatchObject({
      Arn: `arn:aws:kms:us-east-1:000000000000:key/${keyId}`,
      AWSAccountId: '000000000000',
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      KeyState: 'Enabled',
      Enabled: true,
      Description: 'test key',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    expect(created.KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(created.KeyMetadata!.CreationDate!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(pub).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    const publicKey = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(signed.KeyId).toBe(created.KeyMetadata!.Arn);
    expect(signed.Signature![0]).toBe(0x30); // DER SEQUENCE, as KMS returns it
    expect(verify('sha256', message, publicKey, signed.Signature!)).toBe(true);
    expect(verify('sha256', Buffer.from('header.claimz'), publicKey, signed.Signature!)).toBe(false);
  });

  it('refuses MessageType DIGEST, saying that it signs RAW messages only', async () => {
    // Prepare
    const keyId = await newKey(kms);

    // Act
    const refused = await kms
      .send(new SignCommand({ KeyId: keyId, Message: Buffer.alloc(32, 7), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))
      .catch((e: unknown) => e);

    // Assess
    expect(refused).toBeInstanceOf(UnsupportedOperationException);
    expect((refused as Error).message).toMatch(/RAW messages only/);
  });

  it('enforces the message limit and the key’s algorithm and usage', async () => {
    // Prepare
    const keyId = await newKey(kms);
    const { KeyMetadata: symmetric } = await kms.send(new CreateKeyCommand({}));

    // Act / Assess
    await expect(rawSign(kms, keyId, Buffer.alloc(4096, 1))).resolves.toHaveProperty('Signature');
    await expect(rawSign(kms, keyId, Buffer.alloc(4097, 1))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).rejects.toBeInstanceOf(
      InvalidKeyUsageException,
    );
    await expect(rawSign(kms, symmetric!.KeyId!, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyUsageException);
  });

  it('creates ECC_NIST_P256 SIGN_VERIFY and SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys and nothing else', async () => {
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).rejects.toBeInstanceOf(UnsupportedOperationException);
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' }))).rejects.toBeInstanceOf(UnsupportedOperationException);
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'NOT_A_SPEC' as 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('keySpec'),
    });
    await expect(kms.send(new CreateKeyCommand({ MultiRegion: true }))).rejects.toBeInstanceOf(UnsupportedOperationException);
  });

  it('reports unknown keys and aliases as NotFoundException, with the SDK’s exception classes', async () => {
    await expect(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'not-a-key-id' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(rawSign(kms, 'arn:aws:kms:eu-west-1:000000000000:key/00000000-0000-4000-8000-000000000000', Buffer.from('x'))).rejects.toBeInstanceOf(
      NotFoundException,
    );
    const error = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundException);
    expect(error).toBeInstanceOf(KMSServiceException);
    expect((error as NotFoundException).$metadata.httpStatusCode).toBe(400);
    expect((error as NotFoundException).message).toContain('alias/missing');
  });
});

describe('aliases', () => {
  it('resolve wherever AWS accepts them: Sign, GetPublicKey, DescribeKey, by name and by ARN', async () => {
    // Prepare
    const keyId = await newKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/test/resolve', TargetKeyId: keyId }));
    const aliasArn = 'arn:aws:kms:us-east-1:000000000000:alias/test/resolve';
    const direct = (await publicKeyOf(kms, keyId)).export({ format: 'der', type: 'spki' });

    // Act
    const described = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/test/resolve' }));
    const byAlias = (await publicKeyOf(kms, 'alias/test/resolve')).export({ format: 'der', type: 'spki' });
    const byArn = (await publicKeyOf(kms, aliasArn)).export({ format: 'der', type: 'spki' });
    const signed = await rawSign(kms, aliasArn, Buffer.from('via alias'));

    // Assess
    expect(described.KeyMetadata!.KeyId).toBe(keyId);
    expect(byAlias.equals(direct)).toBe(true);
    expect(byArn.equals(direct)).toBe(true);
    expect(verify('sha256', Buffer.from('via alias'), await publicKeyOf(kms, keyId), signed.Signature!)).toBe(true);
  });

  it('are unique, validated and updatable', async () => {
    // Prepare
    const first = await newKey(kms);
    const second = await newKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/test/moving', TargetKeyId: first }));

    // Act
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/test/moving', TargetKeyId: second }));

    // Assess
    expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/test/moving' }))).KeyMetadata!.KeyId).toBe(second);
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/test/moving', TargetKeyId: first }))).rejects.toBeInstanceOf(AlreadyExistsException);
    for (const bad of ['test/no-prefix', 'alias/aws/reserved', 'alias/bad.char', 'alias/']) {
      await expect(kms.send(new CreateAliasCommand({ AliasName: bad, TargetKeyId: first }))).rejects.toBeInstanceOf(InvalidAliasNameException);
    }
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/test/chained', TargetKeyId: 'alias/test/moving' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(kms.send(new UpdateAliasCommand({ AliasName: 'alias/test/never-created', TargetKeyId: first }))).rejects.toBeInstanceOf(NotFoundException);
  });
});

describe('key lifecycle and tags', () => {
  it('refuses Sign and GetPublicKey while a key is pending deletion, and when disabled', async () => {
    // Prepare
    const doomed = await newKey(kms);
    const disabled = await newKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/test/doomed', TargetKeyId: doomed }));

    // Act
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed, PendingWindowInDays: 7 }));
    await kms.send(new DisableKeyCommand({ KeyId: disabled }));

    // Assess
    expect(scheduled).toMatchObject({ KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate!.getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    await expect(rawSign(kms, doomed, Buffer.from('x'))).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(rawSign(kms, 'alias/test/doomed', Buffer.from('x'))).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(kms.send(new GetPublicKeyCommand({ KeyId: doomed }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: doomed }))).KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(kms.send(new DisableKeyCommand({ KeyId: doomed }))).rejects.toBeInstanceOf(KMSInvalidStateException);

    await expect(rawSign(kms, disabled, Buffer.from('x'))).rejects.toBeInstanceOf(DisabledException);
    await expect(kms.send(new GetPublicKeyCommand({ KeyId: disabled }))).rejects.toBeInstanceOf(DisabledException);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: disabled }))).KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: disabled, PendingWindowInDays: 3 }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('keeps the tags given to CreateKey, listed in key order', async () => {
    // Prepare
    const tags = [
      { TagKey: 'attestor:tenant', TagValue: 't1' },
      { TagKey: 'attestor:purpose', TagValue: 'token-signing' },
    ];

    // Act
    const keyId = await newKey(kms, { Tags: tags });
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));

    // Assess
    expect(Tags).toEqual([tags[1], tags[0]]);
    await expect(newKey(kms, { Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] })).rejects.toMatchObject({ name: 'TagException' });
  });

  it('lists keys with pagination', async () => {
    // Prepare
    const mine = [await newKey(kms), await newKey(kms), await newKey(kms)];

    // Act
    const listed: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await kms.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
      expect(page.Keys!.length).toBeLessThanOrEqual(2);
      for (const key of page.Keys!) {
        expect(key.KeyArn).toBe(`arn:aws:kms:us-east-1:000000000000:key/${key.KeyId}`);
        listed.push(key.KeyId!);
      }
      marker = page.Truncated ? page.NextMarker : undefined;
      pages++;
    } while (marker);

    // Assess
    expect(listed).toEqual(expect.arrayContaining(mine));
    expect(new Set(listed).size).toBe(listed.length);
    expect(pages).toBe(Math.ceil(listed.length / 2));
    await expect(kms.send(new ListKeysCommand({ Marker: 'garbage!' }))).rejects.toBeInstanceOf(InvalidMarkerException);
  });

  it('enables rotation of symmetric keys only', async () => {
    // Prepare
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const signingKey = await newKey(kms);

    // Act
    await kms.send(new EnableKeyRotationCommand({ KeyId: KeyMetadata!.Arn }));

    // Assess: recorded in the key's file (GetKeyRotationStatus is not served)
    const file = JSON.parse(await readFile(join(dir, 'main', 'keys', `${KeyMetadata!.KeyId}.json`), 'utf8')) as { rotationPeriodInDays?: number };
    expect(file.rotationPeriodInDays).toBe(365);
    await expect(kms.send(new EnableKeyRotationCommand({ KeyId: signingKey }))).rejects.toBeInstanceOf(UnsupportedOperationException);
    await expect(kms.send(new EnableKeyRotationCommand({ KeyId: KeyMetadata!.KeyId, RotationPeriodInDays: 30 }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });
});

describe('persistence and concurrency', () => {
  it('keeps keys, aliases, states and ciphertexts across a restart, and loads key files of the previous endpoint', async () => {
    // Prepare: a key file exactly as the previous endpoint wrote it (file version 1)...
    const dataDir = join(dir, 'restart');
    const legacyId = randomUUID();
    const legacyKey = generateP256KeyPair();
    await mkdir(join(dataDir, 'keys'), { recursive: true });
    const legacyFile = {
      version: 1,
      keyId: legacyId,
      createdAt: Date.now() - 86_400_000,
      description: 'written by the previous endpoint',
      keySpec: 'ECC_NIST_P256',
      keyUsage: 'SIGN_VERIFY',
      state: 'Enabled',
      tags: { 'attestor:purpose': 'decoy' },
      privateKeyPem: legacyKey.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    };
    await writeFile(join(dataDir, 'keys', `${legacyId}.json`), `${JSON.stringify(legacyFile, null, 2)}\n`, { mode: 0o600 });
    // ...and keys of both kinds made through the API.
    const context = { 'attestor:tenant': 'acme' };
    const made = await withServer(dataDir, async (client) => {
      const keyId = await newKey(client, { Tags: [{ TagKey: 'k', TagValue: 'v' }] });
      const doomed = await newKey(client);
      const { KeyMetadata: symmetric } = await client.send(new CreateKeyCommand({ Description: 'data keys' }));
      await client.send(new CreateAliasCommand({ AliasName: 'alias/test/persisted', TargetKeyId: keyId }));
      await client.send(new CreateAliasCommand({ AliasName: 'alias/test/data', TargetKeyId: symmetric!.KeyId }));
      await client.send(new ScheduleKeyDeletionCommand({ KeyId: doomed, PendingWindowInDays: 7 }));
      const { CiphertextBlob } = await client.send(
        new GenerateDataKeyWithoutPlaintextCommand({ KeyId: 'alias/test/data', KeySpec: 'AES_256', EncryptionContext: context }),
      );
      const { Plaintext } = await client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }));
      const publicKey = (await publicKeyOf(client, keyId)).export({ format: 'der', type: 'spki' });
      return { keyId, doomed, symmetricId: symmetric!.KeyId!, ciphertext: CiphertextBlob!, dataKey: Buffer.from(Plaintext!), publicKey };
    });

    // Act
    const seen = await withServer(dataDir, async (client) => ({
      publicKey: (await publicKeyOf(client, 'alias/test/persisted')).export({ format: 'der', type: 'spki' }),
      signature: (await rawSign(client, 'alias/test/persisted', Buffer.from('after restart'))).Signature!,
      legacySignature: (await rawSign(client, legacyId, Buffer.from('legacy'))).Signature!,
      legacy: (await client.send(new DescribeKeyCommand({ KeyId: legacyId }))).KeyMetadata,
      dataKey: Buffer.from(
        (await client.send(new DecryptCommand({ CiphertextBlob: made.ciphertext, EncryptionContext: context, KeyId: 'alias/test/data' }))).Plaintext!,
      ),
      tags: (await client.send(new ListResourceTagsCommand({ KeyId: made.keyId }))).Tags,
      doomed: (await client.send(new DescribeKeyCommand({ KeyId: made.doomed }))).KeyMetadata,
      symmetric: (await client.send(new DescribeKeyCommand({ KeyId: 'alias/test/data' }))).KeyMetadata,
    }));

    // Assess
    expect(seen.publicKey.equals(made.publicKey)).toBe(true);
    expect(verify('sha256', Buffer.from('after restart'), createPublicKey({ key: seen.publicKey, format: 'der', type: 'spki' }), seen.signature)).toBe(true);
    expect(verify('sha256', Buffer.from('legacy'), legacyKey.publicKey, seen.legacySignature)).toBe(true);
    expect(seen.legacy).toMatchObject({ Description: legacyFile.description, KeySpec: 'ECC_NIST_P256', KeyState: 'Enabled' });
    expect(seen.dataKey.equals(made.dataKey)).toBe(true);
    expect(seen.tags).toEqual([{ TagKey: 'k', TagValue: 'v' }]);
    expect(seen.doomed!.KeyState).toBe('PendingDeletion');
    expect(seen.symmetric).toMatchObject({ KeyId: made.symmetricId, KeySpec: 'SYMMETRIC_DEFAULT', Description: 'data keys' });
    const files = await readdir(join(dataDir, 'keys'));
    expect(files.sort()).toEqual([`${made.doomed}.json`, `${made.keyId}.json`, `${legacyId}.json`, `${made.symmetricId}.json`].sort());
    for (const id of [made.keyId, made.symmetricId]) expect((await stat(join(dataDir, 'keys', `${id}.json`))).mode & 0o777).toBe(0o600);
    expect([...(await readdir(dataDir)), ...files]).not.toContainEqual(expect.stringMatching(/\.tmp$/));
  });

  it('serves concurrent Signs and lets exactly one of concurrent CreateAlias calls win', async () => {
    // Prepare
    const keys = await Promise.all([newKey(kms), newKey(kms), newKey(kms)]);
    const publicKeys = await Promise.all(keys.map((k) => publicKeyOf(kms, k)));
    const messages = Array.from({ length: 48 }, (_, i) => Buffer.from(`message ${i}`));

    // Act
    const signatures = await Promise.all(messages.map((m, i) => rawSign(kms, keys[i % keys.length]!, m)));
    const aliasAttempts = await Promise.allSettled(keys.map((k) => kms.send(new CreateAliasCommand({ AliasName: 'alias/test/contended', TargetKeyId: k }))));

    // Assess
    signatures.forEach((s, i) => expect(verify('sha256', messages[i]!, publicKeys[i % keys.length]!, s.Signature!)).toBe(true));
    expect(aliasAttempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const failed of aliasAttempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected')) {
      expect(failed.reason).toBeInstanceOf(AlreadyExistsException);
    }
  });
});
