/**
 * The local cloud's stand-ins as an attacker on the same machine meets them: the gateway answers
 * malformed paths 400 before authenticating, as API Gateway does, and accepts every spec-valid signature; the KMS and S3 stand-ins verify SigV4 against
 * a secret drawn per process, so the well-known S3RVER secret neither unwraps a token secret (no
 * forged token) nor plants a pending upload's bytes; every stand-in listens on 127.0.0.1 on a port
 * of the system's choosing. What remains (dynalite checks no signature) is in README "The local cloud".
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { GetItemCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { HS256_HEADER } from '../../packages/contracts/src/protocol';
import { secretEncryptionContext } from '../../packages/contracts/src/admin-api';
import { signedAdminFetch, tenantSecretSet } from '../support/local-admin';
import { removeDir, startTestCloud, type TestCloud } from './admin-support';

const APP = 'com.example.standins';
/** s3rver's built-in credential: its secret is public, printed in s3rver's README. */
const WELL_KNOWN = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const clients: Array<{ destroy(): void }> = [];
/** A signature of the right shape that no secret produced. */
const ZEROS = '0'.repeat(64);
const S3_SIGNED = 'host;x-amz-content-sha256;x-amz-date';
let t: TestCloud;

beforeAll(async () => {
  t = await startTestCloud();
  expect((await t.admin('POST', '/v1/admin/apps', { appId: APP })).status).toBe(201);
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await t?.stop();
  await removeDir(t.dataDir);
});

function own<T extends { destroy(): void }>(client: T): T {
  clients.push(client);
  return client;
}

/** A raw request, so the path reaches the gateway exactly as written (fetch would normalise some). */
function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(t.cloud.endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the local gateway', () => {
  it.each(['/v1/admin/uploads/%', '/v1/admin/uploads/%zz', '/v1/admin/uploads/%E0%A4%A', '/v1/admin/uploads/%C3%28', '/nowhere/%', '//['])(
    'answers %s with 400 and a JSON body naming the problem, before any authentication',
    async (path) => {
      // Act: unsigned, as the attacker sent it (it used to be a 500 from decodeURIComponent).
      const answer = await raw('GET', path);
      // Assess
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({ message: expect.stringMatching(/^Bad Request: the request path is malformed/) });
    },
  );

  it('answers a signed request for a malformed path 400 too, and a well-formed one as before', async () => {
    const malformed = await signedAdminFetch(t.cloud, 'GET', '/v1/admin/uploads/%zz');
    const wellFormed = await signedAdminFetch(t.cloud, 'GET', '/v1/admin/uploads/%41AAAAAAAAAAAAAAAAAAAAA');
    expect(malformed.status).toBe(400);
    expect(wellFormed.status).toBe(404);
  });

  it('accepts a spec-valid signature that does not sign x-amz-content-sha256, with and without a body', async () => {
    // Prepare: botocore and curl --aws-sigv4 sign no payload-hash header; the spec does not ask for one.
    const { region } = t.cloud.adminCredentials;
    const signer = new SignatureV4({ credentials: t.cloud.adminCredentials, region, service: 'execute-api', sha256: Sha256, applyChecksum: false });
    const send = async (method: string, path: string, body?: string) => {
      const url = new URL(path, t.cloud.endpoint);
      const headers: Record<string, string> = { host: url.host, ...(body ? { 'content-type': 'application/json' } : {}) };
      const target = { hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {} };
      const signed = await signer.sign({ method, protocol: 'http:', ...target, headers, ...(body ? { body } : {}) });
      expect(Object.keys(signed.headers).map((h) => h.toLowerCase())).not.toContain('x-amz-content-sha256');
      return fetch(url, { method, headers: signed.headers as Record<string, string>, ...(body ? { body } : {}) });
    };
    // Act
    const list = await send('GET', '/v1/admin/apps');
    const create = await send('POST', '/v1/admin/apps', JSON.stringify({ appId: 'com.example.unhashed' }));
    // Assess
    expect(list.status).toBe(200);
    expect(create.status).toBe(201);
  });
});

describe('the local KMS', () => {
  /** What an attacker on the machine can read: dynalite answers anyone, so the wrapped secrets are theirs. */
  async function wrappedSecret(): Promise<{ ciphertext: Uint8Array; kid: string }> {
    const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };
    const dynamo = own(new DynamoDBClient({ endpoint: t.cloud.endpoints.dynamodb, region: 'us-east-1', credentials }));
    const partition = { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'KEYS#default' } } };
    const page = await dynamo.send(new QueryCommand({ TableName: t.cloud.config.registryTable, ...partition }));
    const item = page.Items!.find((i) => i['wrappedSecret']?.S !== undefined)!;
    return { ciphertext: Buffer.from(item['wrappedSecret']!.S!, 'base64'), kid: item['kid']!.S! };
  }

  const decryptAs = (credentials: { accessKeyId: string; secretAccessKey: string }, ciphertext: Uint8Array, kid: string) =>
    own(new KMSClient({ endpoint: t.cloud.endpoints.kms, region: 'us-east-1', credentials, maxAttempts: 1 }))
      .send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: secretEncryptionContext('default', kid) }))
      .catch((error: unknown) => error as Error);

  it('refuses to unwrap a token secret for the well-known credential, an unsigned request or a made-up signature', async () => {
    // Prepare
    const { ciphertext, kid } = await wrappedSecret();
    const body = JSON.stringify({ CiphertextBlob: Buffer.from(ciphertext).toString('base64'), EncryptionContext: secretEncryptionContext('default', kid) });
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const post = (headers: Record<string, string>) =>
      fetch(t.cloud.endpoints.kms, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Decrypt', ...headers },
        body,
      });

    // Act
    const wellKnown = await decryptAs(WELL_KNOWN, ciphertext, kid);
    const unsigned = await post({});
    const madeUp = await post({
      'x-amz-date': date,
      authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/${date.slice(0, 8)}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${ZEROS}`,
    });

    // Assess
    expect(wellKnown).toMatchObject({ name: 'InvalidSignatureException' });
    expect([unsigned.status, madeUp.status]).toEqual([400, 403]);
    expect(((await unsigned.json()) as { __type: string }).__type).toBe('MissingAuthenticationTokenException');
  });

  it('so no token can be minted: the attacker\'s forgery is denied, while one minted with the real secret would pass', async () => {
    // Prepare: a token exactly as the service makes them, MACed with a secret (PROTOCOL.md §5.2).
    const now = t.clock.now;
    const did = randomBytes(32).toString('base64url');
    const claims = { iss: 'attestor', sub: APP, iat: now, exp: now + 300, jti: randomBytes(16).toString('base64url'), ver: '1.0.0', did, cnf: { jkt: did } };
    const mint = (secret: Uint8Array) => {
      const input = `${HS256_HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const hello = (token: string) => fetch(new URL('/demo/hello', t.cloud.endpoint), { headers: { 'Attestor-Token': token } });
    const { ciphertext, kid } = await wrappedSecret();
    const stolen = await decryptAs(WELL_KNOWN, ciphertext, kid);
    // The operator's own way to the secret (`attestor keys secret`), to show the minting itself is right.
    const real = (await tenantSecretSet(t.cloud)).keys.find((k) => k.kid === kid)!;

    // Act
    const forged = await hello(mint(randomBytes(32)));
    const genuine = await hello(mint(Buffer.from(real.k, 'base64url')));

    // Assess
    expect(stolen).toBeInstanceOf(Error);
    expect(forged.status).toBe(403);
    expect(genuine.status).toBe(200);
  });
});

describe('the local S3', () => {
  /** A pending upload's object, which the register function would hash and register once written. */
  async function pendingUpload(): Promise<{ uploadId: string; key: string; url: URL }> {
    const issued = await t.admin('POST', `/v1/admin/apps/${APP}/uploads`, { version: `1.0.${randomBytes(2).readUInt16BE()}`, size: 5 });
    expect(issued.status).toBe(201);
    const url = new URL(issued.body['uploadUrl'] as string);
    const key = decodeURIComponent(url.pathname.split('/').slice(2).join('/'));
    return { uploadId: issued.body['uploadId'] as string, key, url };
  }

  const attackerS3 = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    own(new S3Client({ endpoint: t.cloud.endpoints.s3, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1 }));

  async function exists(key: string): Promise<boolean> {
    const head = await t.cloud.services.clients.s3().send(new HeadObjectCommand({ Bucket: t.cloud.config.buildsBucket, Key: key })).then(
      () => true,
      (error: { name?: string }) => (error.name === 'NotFound' ? false : Promise.reject(error)),
    );
    return head;
  }

  it('refuses an unsigned, a made-up and a well-known-secret write of a pending upload, and the upload stays pending and empty', async () => {
    // Prepare
    const { uploadId, key, url } = await pendingUpload();
    const bare = `${url.origin}${url.pathname}`;
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const planted = new Uint8Array(Buffer.from('evil!'));

    // Act
    const unsigned = await fetch(bare, { method: 'PUT', body: planted });
    const madeUp = await fetch(bare, {
      method: 'PUT',
      body: planted,
      headers: {
        'x-amz-date': date,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        authorization: `AWS4-HMAC-SHA256 Credential=S3RVER/${date.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=${S3_SIGNED}, Signature=${ZEROS}`,
      },
    });
    const wellKnown = await attackerS3(WELL_KNOWN)
      .send(new PutObjectCommand({ Bucket: t.cloud.config.buildsBucket, Key: key, Body: planted }))
      .catch((error: unknown) => error as { name: string });
    await t.cloud.settled();

    // Assess
    expect([unsigned.status, madeUp.status]).toEqual([403, 403]);
    expect(await madeUp.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(wellKnown).toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(await exists(key)).toBe(false);
    expect((await t.admin('GET', `/v1/admin/uploads/${uploadId}`)).body['status']).toBe('pending');
  });

  it('still serves the service\'s own header-signed requests and the presigned upload URL', async () => {
    // Prepare
    const { uploadId, key, url } = await pendingUpload();
    // Act
    const put = await fetch(url, { method: 'PUT', body: new Uint8Array(Buffer.from('build')) });
    await t.cloud.settled();
    const read = await t.cloud.services.clients.s3().send(new GetObjectCommand({ Bucket: t.cloud.config.buildsBucket, Key: key }));
    // Assess
    expect(put.status).toBe(200);
    expect(await read.Body!.transformToString()).toBe('build');
    expect((await t.admin('GET', `/v1/admin/uploads/${uploadId}`)).body['status']).not.toBe('pending');
  });
});

describe('every stand-in', () => {
  it('listens on 127.0.0.1 only, on a port the system chose', () => {
    for (const endpoint of Object.values(t.cloud.endpoints)) {
      const url = new URL(endpoint);
      expect(url.hostname).toBe('127.0.0.1');
      expect(Number(url.port)).toBeGreaterThan(1023);
    }
    // Not the well-known ports of DynamoDB Local (8000), s3rver (4568) or LocalStack (4566).
    for (const endpoint of Object.values(t.cloud.endpoints)) expect(['8000', '4566', '4568']).not.toContain(new URL(endpoint).port);
  });

  it('dynalite, which is not ours, still answers any signature: what remains is documented', async () => {
    const credentials = { accessKeyId: 'anyone', secretAccessKey: 'anything' };
    const anyone = own(new DynamoDBClient({ endpoint: t.cloud.endpoints.dynamodb, region: 'us-east-1', credentials }));
    const read = await anyone.send(new GetItemCommand({ TableName: t.cloud.config.registryTable, Key: { pk: { S: `APP#${APP}` }, sk: { S: 'APP' } } }));
    expect(read.Item).toBeDefined();
  });
});
