/**
 * The local KMS endpoint's front door: SigV4 authentication checked against the real KMSClient and
 * hand-signed requests, the `authorize` hook standing in for IAM and key policies, and KMS-shaped
 * answers to requests the SDK would never send.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
  VerifyCommand,
  type KMSClientConfig,
} from '@aws-sdk/client-kms';
import { SignatureV4 } from '@smithy/signature-v4';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsServer, type KmsAuthorizationRequest, type KmsServer } from '../../packages/local/src/kms-server';

const SERVICE_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const MINUTE = 60_000;

let dir: string;
let server: KmsServer;
let kms: KMSClient;
const clients: KMSClient[] = [];

function clientFor(endpoint: string, config: Partial<KMSClientConfig> = {}): KMSClient {
  const client = new KMSClient({ endpoint, region: 'us-east-1', credentials: SERVICE_CREDENTIALS, maxAttempts: 1, ...config });
  clients.push(client);
  return client;
}

interface Answer {
  readonly status: number;
  readonly body: { __type?: string; message?: string; Keys?: unknown[] };
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

interface SigningChoices {
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  readonly region?: string;
  readonly service?: string;
  /** Sign and send x-amz-content-sha256, as the SDK does; the spec does not require it. */
  readonly signContentHash?: boolean;
  /** The body sent, when it should differ from the one signed. */
  readonly sentBody?: string;
  readonly unsigned?: readonly string[];
  readonly headers?: Record<string, string>;
}

/** A request signed by hand with the SDK's signer, for inputs the SDK would never send. */
async function signedPost(target: string, body: string, choices: SigningChoices = {}): Promise<Answer> {
  const url = new URL(server.endpoint);
  const signer = new SignatureV4({
    credentials: choices.credentials ?? SERVICE_CREDENTIALS,
    region: choices.region ?? 'us-east-1',
    service: choices.service ?? 'kms',
    sha256: Sha256,
    applyChecksum: choices.signContentHash ?? false,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target, ...choices.headers },
      body,
    },
    { unsignableHeaders: new Set(choices.unsigned ?? []) },
  );
  // fetch sets Host itself (to the same value).
  const { host: _host, ...headers } = signed.headers;
  return answer(await fetch(server.endpoint, { method: 'POST', headers, body: choices.sentBody ?? body }));
}

/** An unsigned POST with whatever Authorization header the test chooses. */
async function unsignedPost(target: string, body: string, authorization?: string): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target };
  if (authorization !== undefined) {
    headers['authorization'] = authorization;
    headers['x-amz-date'] = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  }
  return answer(await fetch(server.endpoint, { method: 'POST', headers, body }));
}

const keyCount = async () => (await kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.length;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-server-protocol-test-'));
  server = await startKmsServer({ dataDir: join(dir, 'main') });
  kms = clientFor(server.endpoint);
});

afterAll(async () => {
  for (const client of clients) client.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SigV4 authentication', () => {
  it('listens on 127.0.0.1 on a random port by default', () => {
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('accepts a correctly signed request whether or not it signs x-amz-content-sha256', async () => {
    // Act
    const withoutHash = await signedPost('TrentService.ListKeys', '{}');
    const withHash = await signedPost('TrentService.ListKeys', '{}', { signContentHash: true });

    // Assess
    expect(withoutHash).toMatchObject({ status: 200, body: { Keys: expect.any(Array) } });
    expect(withHash).toMatchObject({ status: 200, body: { Keys: expect.any(Array) } });
  });

  it('refuses unsigned requests and acts on none of them', async () => {
    // Prepare
    const before = await keyCount();
    const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const madeUp = `AWS4-HMAC-SHA256 Credential=S3RVER/${day}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

    // Act
    const answers = [
      await unsignedPost('TrentService.CreateKey', '{}'),
      await unsignedPost(
        'TrentService.CreateKey',
        '{}',
        'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00',
      ),
      await unsignedPost('TrentService.CreateKey', '{}', madeUp),
    ];

    // Assess
    expect(answers.map((a) => [a.status, a.body.__type])).toEqual([
      [400, 'MissingAuthenticationTokenException'],
      [400, 'IncompleteSignatureException'],
      [403, 'InvalidSignatureException'],
    ]);
    expect(await keyCount()).toBe(before);
  });

  it('refuses a wrong secret with 403 and an unknown access key as an unrecognized client', async () => {
    // Prepare
    const wrongSecret = clientFor(server.endpoint, { credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } });
    const stranger = clientFor(server.endpoint, { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

    // Act
    const refusedSecret = await wrongSecret.send(new CreateKeyCommand({})).catch((e: unknown) => e);
    const refusedStranger = await stranger.send(new CreateKeyCommand({})).catch((e: unknown) => e);

    // Assess
    expect(refusedSecret).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    expect(refusedStranger).toMatchObject({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 400 } });
  });

  it('refuses an X-Amz-Date more than 15 minutes off, and the SDK corrects its clock from the answer', async () => {
    // Prepare
    const late = clientFor(server.endpoint, { systemClockOffset: -20 * MINUTE });
    const early = clientFor(server.endpoint, { systemClockOffset: 20 * MINUTE });
    const slightlyLate = clientFor(server.endpoint, { systemClockOffset: -10 * MINUTE });
    const retrying = clientFor(server.endpoint, { systemClockOffset: -20 * MINUTE, maxAttempts: 2 });

    // Act
    const stale = await late.send(new ListKeysCommand({})).catch((e: unknown) => e);
    const future = await early.send(new ListKeysCommand({})).catch((e: unknown) => e);

    // Assess
    expect(stale).toMatchObject({ name: 'InvalidSignatureException', message: expect.stringMatching(/^Signature expired/) });
    expect(future).toMatchObject({ name: 'InvalidSignatureException', message: expect.stringMatching(/^Signature not yet current/) });
    await expect(slightlyLate.send(new ListKeysCommand({}))).resolves.toHaveProperty('Keys');
    await expect(retrying.send(new ListKeysCommand({}))).resolves.toHaveProperty('Keys');
  });

  it('refuses a signature scoped to another region or service, or one that leaves out host', async () => {
    // Act
    const otherRegion = await signedPost('TrentService.ListKeys', '{}', { region: 'eu-west-1' });
    const otherService = await signedPost('TrentService.ListKeys', '{}', { service: 'execute-api' });
    const hostUnsigned = await signedPost('TrentService.ListKeys', '{}', { unsigned: ['host'] });

    // Assess
    expect([otherRegion, otherService].map((a) => [a.status, a.body.__type])).toEqual([
      [403, 'InvalidSignatureException'],
      [403, 'InvalidSignatureException'],
    ]);
    expect(otherService.body.message).toContain("'kms'");
    expect([hostUnsigned.status, hostUnsigned.body.__type]).toEqual([400, 'IncompleteSignatureException']);
  });

  it('refuses a body other than the one signed', async () => {
    // Prepare
    const signedBody = '{"Description":"signed"}';
    const sentBody = '{"Description":"swapped"}';
    const before = await keyCount();

    // Act
    const bare = await signedPost('TrentService.CreateKey', signedBody, { sentBody });
    const withHash = await signedPost('TrentService.CreateKey', signedBody, { sentBody, signContentHash: true });

    // Assess
    expect([bare.status, bare.body.__type]).toEqual([403, 'InvalidSignatureException']);
    expect([withHash.status, withHash.body.__type]).toEqual([403, 'InvalidSignatureException']);
    expect(await keyCount()).toBe(before);
  });
});

describe('the authorize hook', () => {
  it('denies Decrypt outside the principal’s encryption context, while another credential decrypts the same ciphertext', async () => {
    // Prepare: acme may Decrypt only with attestor:tenant = acme, and may not delete keys.
    const asked: KmsAuthorizationRequest[] = [];
    const acme = { accessKeyId: 'ACME', secretAccessKey: 'acme-secret' };
    const guarded = await startKmsServer({
      dataDir: join(dir, 'guarded'),
      credentials: (accessKeyId) => {
        if (accessKeyId === SERVICE_CREDENTIALS.accessKeyId) return { secretAccessKey: SERVICE_CREDENTIALS.secretAccessKey };
        if (accessKeyId !== acme.accessKeyId) return undefined;
        return {
          secretAccessKey: acme.secretAccessKey,
          authorize: (request) => {
            asked.push(request);
            if (request.operation === 'ScheduleKeyDeletion') return false;
            return request.operation !== 'Decrypt' || request.encryptionContext?.['attestor:tenant'] === 'acme';
          },
        };
      },
    });
    try {
      const service = clientFor(guarded.endpoint);
      const tenant = clientFor(guarded.endpoint, { credentials: acme });
      const { KeyMetadata } = await service.send(new CreateKeyCommand({}));
      const globexContext = { 'attestor:tenant': 'globex' };
      const acmeContext = { 'attestor:tenant': 'acme' };
      const { CiphertextBlob: globexBlob } = await service.send(
        new GenerateDataKeyWithoutPlaintextCommand({ KeyId: KeyMetadata!.KeyId, KeySpec: 'AES_256', EncryptionContext: globexContext }),
      );
      const { CiphertextBlob: acmeBlob } = await tenant.send(
        new GenerateDataKeyWithoutPlaintextCommand({ KeyId: KeyMetadata!.KeyId, KeySpec: 'AES_256', EncryptionContext: acmeContext }),
      );

      // Act
      const denied = await tenant.send(new DecryptCommand({ CiphertextBlob: globexBlob, EncryptionContext: globexContext })).catch((e: unknown) => e);
      const byService = await service.send(new DecryptCommand({ CiphertextBlob: globexBlob, EncryptionContext: globexContext }));
      const ownContext = await tenant.send(new DecryptCommand({ CiphertextBlob: acmeBlob, EncryptionContext: acmeContext }));
      const deletion = await tenant.send(new ScheduleKeyDeletionCommand({ KeyId: KeyMetadata!.KeyId })).catch((e: unknown) => e);

      // Assess
      expect(denied).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 }, message: expect.stringContaining('kms:Decrypt') });
      expect(byService.Plaintext).toHaveLength(32);
      expect(ownContext.Plaintext).toHaveLength(32);
      expect(deletion).toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('kms:ScheduleKeyDeletion') });
      expect((await service.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).KeyMetadata!.KeyState).toBe('Enabled');
      // The hook sees the key's ARN even when the request names no key (Decrypt finds it in the ciphertext).
      expect(asked).toEqual([
        { operation: 'GenerateDataKeyWithoutPlaintext', keyId: KeyMetadata!.Arn, encryptionContext: acmeContext },
        { operation: 'Decrypt', keyId: KeyMetadata!.Arn, encryptionContext: globexContext },
        { operation: 'Decrypt', keyId: KeyMetadata!.Arn, encryptionContext: acmeContext },
        { operation: 'ScheduleKeyDeletion', keyId: KeyMetadata!.Arn },
      ]);
    } finally {
      await guarded.close();
    }
  });
});

describe('protocol errors', () => {
  it('answers malformed requests with KMS-shaped errors and keeps serving', async () => {
    // Prepare
    const cases: Array<[Promise<Answer>, number, string]> = [
      [signedPost('TrentService.DescribeKey', '{"KeyId":'), 400, 'SerializationException'],
      [signedPost('TrentService.DescribeKey', '[]'), 400, 'SerializationException'],
      [signedPost('TrentService.DescribeKey', '{"KeyId":5}'), 400, 'SerializationException'],
      [signedPost('TrentService.DescribeKey', '{}'), 400, 'ValidationException'],
      [signedPost('TrentService.Sign', '{"KeyId":"alias/x","Message":"***","SigningAlgorithm":"ECDSA_SHA_256"}'), 400, 'SerializationException'],
      [signedPost('TrentService.Decrypt', '{"CiphertextBlob":"AAAA"}'), 400, 'InvalidCiphertextException'],
      [
        signedPost('TrentService.GenerateDataKeyWithoutPlaintext', '{"KeyId":"alias/x","NumberOfBytes":32,"EncryptionContext":{"a":1}}'),
        400,
        'SerializationException',
      ],
      [signedPost('TrentService.ListKeys', '{"Limit":"ten"}'), 400, 'SerializationException'],
      [signedPost('TrentService.ListKeys', '{}', { headers: { 'content-type': 'text/plain' } }), 400, 'SerializationException'],
      [unsignedPost('TrentService.ListKeys', 'x'.repeat(200_000)), 413, 'RequestEntityTooLargeException'],
    ];

    // Act
    const answers = await Promise.all(cases.map(([response]) => response));

    // Assess
    expect(answers.map((a) => [a.status, a.body.__type])).toEqual(cases.map(([, status, type]) => [status, type]));
    for (const a of answers) expect(a.body.message).toEqual(expect.any(String));
    await expect(kms.send(new ListKeysCommand({}))).resolves.toHaveProperty('Keys');
  });

  it('refuses every operation it does not serve, and any method but POST, with UnknownOperationException', async () => {
    // Prepare
    const unserved = [
      'Encrypt',
      'Verify',
      'DeleteAlias',
      'ListAliases',
      'TagResource',
      'UntagResource',
      'CancelKeyDeletion',
      'EnableKey',
      'GetKeyRotationStatus',
      'constructor',
      'hasOwnProperty',
    ];

    // Act
    const answers = await Promise.all([...unserved.map((name) => signedPost(`TrentService.${name}`, '{}')), signedPost('DynamoDB_20120810.GetItem', '{}')]);
    const viaSdk = await kms
      .send(new VerifyCommand({ KeyId: 'alias/x', Message: Buffer.from('m'), Signature: Buffer.from('s'), SigningAlgorithm: 'ECDSA_SHA_256' }))
      .catch((e: unknown) => e);
    const get = await fetch(server.endpoint);

    // Assess
    for (const a of answers) expect([a.status, a.body.__type]).toEqual([400, 'UnknownOperationException']);
    expect(viaSdk).toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
    expect([get.status, ((await get.json()) as { __type?: string }).__type]).toEqual([400, 'UnknownOperationException']);
  });
});
