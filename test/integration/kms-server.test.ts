/**
 * The local KMS endpoint, driven by the real KMSClient over HTTP: if the SDK can talk to it, the
 * adapters can; the raw-HTTP cases cover what a misbehaving client would send.
 */
import {
  AlreadyExistsException,
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisabledException,
  EnableKeyCommand,
  GetPublicKeyCommand,
  InvalidAliasNameException,
  InvalidKeyUsageException,
  InvalidMarkerException,
  KMSClient,
  KMSInvalidSignatureException,
  KMSInvalidStateException,
  KMSServiceException,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagException,
  TagResourceCommand,
  UnsupportedOperationException,
  UntagResourceCommand,
  UpdateAliasCommand,
  VerifyCommand,
  DisableKeyCommand,
} from '@aws-sdk/client-kms';
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsServer, type KmsServer } from '../../local/kms-server';
import { generateP256KeyPair } from '../../src/core/p256';

const clientFor = (endpoint: string) =>
  new KMSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

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

/** A raw POST to the endpoint, for inputs the SDK would never send. */
async function post(endpoint: string, target: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00',
      ...headers,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as { __type?: string; message?: string } };
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

describe('keys and signatures', () => {
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

  it('signs and verifies a precomputed SHA-256 digest (MessageType DIGEST)', async () => {
    // Prepare
    const keyId = await newKey(kms);
    const publicKey = await publicKeyOf(kms, keyId);
    const message = Buffer.from('a message longer than KMS would take raw'.repeat(200));
    const digest = createHash('sha256').update(message).digest();

    // Act
    const signed = await kms.send(new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
    const verified = await kms.send(
      new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', Signature: signed.Signature, SigningAlgorithm: 'ECDSA_SHA_256' }),
    );

    // Assess
    expect(verify('sha256', message, publicKey, signed.Signature!)).toBe(true);
    expect(verified.SignatureValid).toBe(true);
    // Across modes: a RAW signature of the message is a DIGEST signature of its hash.
    const { Signature: rawSignature } = await rawSign(kms, keyId, Buffer.from('short'));
    const shortDigest = createHash('sha256').update('short').digest();
    await expect(
      kms.send(new VerifyCommand({ KeyId: keyId, Message: shortDigest, MessageType: 'DIGEST', Signature: rawSignature, SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).resolves.toMatchObject({ SignatureValid: true });
    const otherDigest = createHash('sha256').update('other').digest();
    await expect(
      kms.send(new VerifyCommand({ KeyId: keyId, Message: otherDigest, MessageType: 'DIGEST', Signature: signed.Signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toBeInstanceOf(KMSInvalidSignatureException);
  });

  it('Verify accepts exactly the signatures of the key (RAW), checked against node:crypto signatures', async () => {
    // Prepare
    const keyId = await newKey(kms);
    const message = Buffer.from('payload');
    const { Signature } = await rawSign(kms, keyId, message);
    const stranger = generateP256KeyPair().privateKey;
    const foreign = sign('sha256', message, stranger);
    const verifyWith = (signature: Uint8Array) =>
      kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' }));

    // Act / Assess
    await expect(verifyWith(Signature!)).resolves.toMatchObject({ SignatureValid: true });
    await expect(verifyWith(foreign)).rejects.toBeInstanceOf(KMSInvalidSignatureException);
    await expect(verifyWith(Buffer.from('not DER at all'))).rejects.toBeInstanceOf(KMSInvalidSignatureException);
  });

  it('enforces the message limits and the key’s algorithms', async () => {
    // Prepare
    const keyId = await newKey(kms);

    // Act / Assess
    await expect(rawSign(kms, keyId, Buffer.alloc(4096, 1))).resolves.toHaveProperty('Signature');
    await expect(rawSign(kms, keyId, Buffer.alloc(4097, 1))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.alloc(31), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).rejects.toBeInstanceOf(
      InvalidKeyUsageException,
    );
  });

  it('creates only ECC_NIST_P256 SIGN_VERIFY keys', async () => {
    await expect(kms.send(new CreateKeyCommand({}))).rejects.toBeInstanceOf(UnsupportedOperationException);
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).rejects.toBeInstanceOf(UnsupportedOperationException);
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(kms.send(new CreateKeyCommand({ KeySpec: 'NOT_A_SPEC' as 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('keySpec'),
    });
  });

  it('reports unknown keys and aliases as NotFoundException', async () => {
    await expect(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'not-a-key-id' }))).rejects.toBeInstanceOf(NotFoundException);
    await expect(rawSign(kms, 'arn:aws:kms:eu-west-1:000000000000:key/00000000-0000-4000-8000-000000000000', Buffer.from('x'))).rejects.toBeInstanceOf(
      NotFoundException,
    );
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

  it('are unique, validated, updatable and deletable', async () => {
    // Prepare
    const first = await newKey(kms);
    const second = await newKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/test/moving', TargetKeyId: first }));

    // Act / Assess
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/test/moving', TargetKeyId: second }))).rejects.toBeInstanceOf(AlreadyExistsException);
    for (const bad of ['test/no-prefix', 'alias/aws/reserved', 'alias/bad.char', 'alias/']) {
      await expect(kms.send(new CreateAliasCommand({ AliasName: bad, TargetKeyId: first }))).rejects.toBeInstanceOf(InvalidAliasNameException);
    }
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/test/chained', TargetKeyId: 'alias/test/moving' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });

    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/test/moving', TargetKeyId: second }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/test/moving' }))).KeyMetadata!.KeyId).toBe(second);

    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/test/moving' }));
    await expect(rawSign(kms, 'alias/test/moving', Buffer.from('x'))).rejects.toBeInstanceOf(NotFoundException);
    await expect(kms.send(new DeleteAliasCommand({ AliasName: 'alias/test/moving' }))).rejects.toBeInstanceOf(NotFoundException);
  });

  it('list with a KeyId filter and Limit/Marker pagination', async () => {
    // Prepare
    const keyId = await newKey(kms);
    const names = ['alias/page/a', 'alias/page/b', 'alias/page/c', 'alias/page/d', 'alias/page/e'];
    for (const AliasName of names) await kms.send(new CreateAliasCommand({ AliasName, TargetKeyId: keyId }));

    // Act
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await kms.send(new ListAliasesCommand({ KeyId: keyId, Limit: 2, Marker: marker }));
      expect(page.Aliases!.length).toBeLessThanOrEqual(2);
      for (const alias of page.Aliases!) {
        expect(alias.TargetKeyId).toBe(keyId);
        expect(alias.AliasArn).toBe(`arn:aws:kms:us-east-1:000000000000:${alias.AliasName}`);
        seen.push(alias.AliasName!);
      }
      marker = page.Truncated ? page.NextMarker : undefined;
      pages++;
    } while (marker);

    // Assess
    expect(seen).toEqual(names);
    expect(pages).toBe(3);
    const all = await kms.send(new ListAliasesCommand({}));
    expect(all.Aliases!.map((a) => a.AliasName)).toEqual(expect.arrayContaining(names));
    await expect(kms.send(new ListAliasesCommand({ Marker: 'garbage!' }))).rejects.toBeInstanceOf(InvalidMarkerException);
  });
});

describe('key lifecycle and tags', () => {
  it('refuses Sign and GetPublicKey while a key is pending deletion, and when disabled', async () => {
    // Prepare
    const keyId = await newKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/test/doomed', TargetKeyId: keyId }));

    // Act
    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));

    // Assess
    expect(scheduled).toMatchObject({ KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate!.getTime() - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    await expect(rawSign(kms, keyId, Buffer.from('x'))).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(rawSign(kms, 'alias/test/doomed', Buffer.from('x'))).rejects.toBeInstanceOf(KMSInvalidStateException);
    await expect(kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false });
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(KMSInvalidStateException);

    // A cancelled deletion leaves the key disabled, as in AWS.
    await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    await expect(rawSign(kms, keyId, Buffer.from('x'))).rejects.toBeInstanceOf(DisabledException);
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    await expect(rawSign(kms, keyId, Buffer.from('x'))).resolves.toHaveProperty('Signature');
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await expect(kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).rejects.toBeInstanceOf(DisabledException);
    await expect(kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 3 }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('keeps tags from CreateKey, TagResource and UntagResource', async () => {
    // Prepare
    const keyId = await newKey(kms, { Tags: [{ TagKey: 'attestor:tenant', TagValue: 't1' }] });

    // Act
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'attestor:purpose', TagValue: 'token-signing' }, { TagKey: 'gone', TagValue: 'soon' }] }));
    await kms.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ['gone'] }));
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));

    // Assess
    expect(Tags).toEqual([
      { TagKey: 'attestor:purpose', TagValue: 'token-signing' },
      { TagKey: 'attestor:tenant', TagValue: 't1' },
    ]);
    await expect(kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] }))).rejects.toBeInstanceOf(TagException);
  });

  it('lists keys with pagination', async () => {
    // Prepare
    const mine = [await newKey(kms), await newKey(kms), await newKey(kms)];

    // Act
    const listed: string[] = [];
    let marker: string | undefined;
    do {
      const page = await kms.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
      for (const key of page.Keys!) {
        expect(key.KeyArn).toBe(`arn:aws:kms:us-east-1:000000000000:key/${key.KeyId}`);
        listed.push(key.KeyId!);
      }
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);

    // Assess
    expect(listed).toEqual(expect.arrayContaining(mine));
    expect(new Set(listed).size).toBe(listed.length);
  });
});

describe('protocol errors', () => {
  it('answers malformed requests with AWS-style errors and keeps serving', async () => {
    const cases: Array<[Promise<{ status: number; body: { __type?: string } }>, number, string]> = [
      [post(server.endpoint, 'TrentService.DescribeKey', '{"KeyId":', {}), 400, 'SerializationException'],
      [post(server.endpoint, 'TrentService.DescribeKey', '[]', {}), 400, 'SerializationException'],
      [post(server.endpoint, 'TrentService.DescribeKey', '{"KeyId":5}', {}), 400, 'SerializationException'],
      [post(server.endpoint, 'TrentService.DescribeKey', '{}', {}), 400, 'ValidationException'],
      [post(server.endpoint, 'TrentService.Sign', '{"KeyId":"alias/x","Message":"***","SigningAlgorithm":"ECDSA_SHA_256"}'), 400, 'SerializationException'],
      [post(server.endpoint, 'TrentService.ListAliases', '{"Limit":"ten"}'), 400, 'SerializationException'],
      [post(server.endpoint, 'TrentService.Encrypt', '{}'), 400, 'UnknownOperationException'],
      [post(server.endpoint, 'TrentService.constructor', '{}'), 400, 'UnknownOperationException'],
      [post(server.endpoint, 'DynamoDB_20120810.GetItem', '{}'), 400, 'UnknownOperationException'],
      [post(server.endpoint, 'TrentService.ListKeys', '{}', { authorization: '' }), 400, 'MissingAuthenticationTokenException'],
      [post(server.endpoint, 'TrentService.ListKeys', 'x'.repeat(200_000)), 413, 'RequestEntityTooLargeException'],
    ];
    for (const [response, status, type] of cases) {
      const { status: actualStatus, body } = await response;
      expect({ actualStatus, type: body.__type }).toEqual({ actualStatus: status, type });
    }
    await expect(kms.send(new ListKeysCommand({}))).resolves.toHaveProperty('Keys');
  });

  it('maps __type to the SDK’s named exception classes', async () => {
    const error = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundException);
    expect(error).toBeInstanceOf(KMSServiceException);
    expect((error as NotFoundException).$metadata.httpStatusCode).toBe(400);
    expect((error as NotFoundException).message).toContain('alias/missing');
  });
});

describe('persistence and concurrency', () => {
  it('keeps keys, aliases and states across a restart on the same directory', async () => {
    // Prepare
    const dataDir = join(dir, 'restart');
    const before = await startKmsServer({ dataDir });
    const client1 = clientFor(before.endpoint);
    const keyId = await newKey(client1, { Tags: [{ TagKey: 'k', TagValue: 'v' }] });
    const doomed = await newKey(client1);
    await client1.send(new CreateAliasCommand({ AliasName: 'alias/test/persisted', TargetKeyId: keyId }));
    await client1.send(new ScheduleKeyDeletionCommand({ KeyId: doomed, PendingWindowInDays: 7 }));
    const publicBefore = (await publicKeyOf(client1, keyId)).export({ format: 'der', type: 'spki' });
    client1.destroy();
    await before.close();

    // Act
    const after = await startKmsServer({ dataDir });
    const client2 = clientFor(after.endpoint);
    try {
      const publicAfter = await publicKeyOf(client2, 'alias/test/persisted');
      const signed = await rawSign(client2, 'alias/test/persisted', Buffer.from('after restart'));

      // Assess
      expect(publicAfter.export({ format: 'der', type: 'spki' }).equals(publicBefore)).toBe(true);
      expect(verify('sha256', Buffer.from('after restart'), publicAfter, signed.Signature!)).toBe(true);
      expect((await client2.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags).toEqual([{ TagKey: 'k', TagValue: 'v' }]);
      expect((await client2.send(new DescribeKeyCommand({ KeyId: doomed }))).KeyMetadata!.KeyState).toBe('PendingDeletion');
      const files = await readdir(join(dataDir, 'keys'));
      expect(files.sort()).toEqual([`${doomed}.json`, `${keyId}.json`].sort());
      expect((await stat(join(dataDir, 'keys', `${keyId}.json`))).mode & 0o777).toBe(0o600);
      expect(await readdir(dataDir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
    } finally {
      client2.destroy();
      await after.close();
    }
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
