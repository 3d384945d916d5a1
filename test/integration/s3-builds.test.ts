/**
 * The S3 adapters and the local S3 against s3rver over HTTP, through the real AWS SDK client and
 * Node's fetch (as the CLI uploads): presigned uploads, streamed reads and S3 event records.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3EventRecord } from 'aws-lambda';
import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeS3EventKey, startS3, type LocalS3 } from '../../packages/local/src/s3';
import { BuildObjectNotFoundError, S3BuildStore } from '../../packages/service/src/adapters/s3-build-store';
import { S3UploadUrls, UPLOAD_URL_TTL_SECONDS } from '../../packages/service/src/adapters/s3-upload-urls';
import type { Clock } from '../../packages/service/src/core/ports';
import { decodeS3EventKey } from '../../packages/service/src/handlers/register';

/**
 * AWS's sample S3 put event, from aws/aws-lambda-go events/testdata/s3-event.json (the record,
 * minus `urlDecodedKey`, which that library adds itself and S3 does not send).
 */
const AWS_SAMPLE_RECORD = {
  eventVersion: '2.0',
  eventSource: 'aws:s3',
  awsRegion: 'us-east-1',
  eventTime: '1970-01-01T00:00:00.123Z',
  eventName: 'ObjectCreated:Put',
  userIdentity: { principalId: 'EXAMPLE' },
  requestParameters: { sourceIPAddress: '127.0.0.1' },
  responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'testConfigRule',
    bucket: { name: 'sourcebucket', ownerIdentity: { principalId: 'EXAMPLE' }, arn: 'arn:aws:s3:::mybucket' },
    object: { key: 'HappyFace.jpg', size: 1024, versionId: 'version', eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: 'Happy Sequencer' },
  },
};

/** Every path to a leaf with the leaf's type, e.g. "s3.object.size:number". */
function shape(value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null) return [`${path}:${typeof value}`];
  return Object.entries(value).flatMap(([k, v]) => shape(v, path ? `${path}.${k}` : k));
}

const BUCKET = 'test-builds';
const systemClock: Clock = { nowSeconds: () => Math.floor(Date.now() / 1000) };
let dataDir: string;
let s3: LocalS3;
let client: S3Client;
let onCreated: (record: S3EventRecord) => void | Promise<void>;
const records: S3EventRecord[] = [];

function clientFor(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
}

async function exists(key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'NotFound') return false;
    throw error;
  }
}

async function put(url: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'PUT', body: new Uint8Array(body), headers });
  return { status: response.status, text: await response.text() };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-s3-'));
  s3 = await startS3({ dataDir, buckets: [BUCKET], onObjectCreated: (record) => onCreated(record) });
  client = clientFor(s3.endpoint);
});

beforeEach(() => {
  records.length = 0;
  onCreated = (record) => {
    records.push(record);
  };
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('S3UploadUrls and S3BuildStore', () => {
  it('uploads through the presigned URL with fetch and streams the object back unchanged', async () => {
    // Prepare
    const key = 'builds/com.example.app/1.0.0/uploadAAAAAAAAAAAA';
    const build = randomBytes(1024 * 1024 + 17);
    const now = systemClock.nowSeconds();
    const issuer = new S3UploadUrls(client, BUCKET, { nowSeconds: () => now });
    // Act
    const { url, expiresAt } = await issuer.issue(key, build.length);
    const upload = await put(url, build);
    const object = await new S3BuildStore(client, BUCKET).open(key);
    const hash = createHash('sha256');
    let chunks = 0;
    for await (const chunk of object.body) {
      hash.update(chunk);
      chunks++;
    }
    // Assess
    expect(upload.status).toBe(200);
    expect(expiresAt).toBe(now + UPLOAD_URL_TTL_SECONDS);
    const signedAt = new URL(url).searchParams.get('X-Amz-Date');
    expect(signedAt).toBe(new Date(now * 1000).toISOString().replace(/[-:]|\.\d{3}/g, ''));
    expect(object.size).toBe(build.length);
    expect(hash.digest('hex')).toBe(sha256(build));
    expect(chunks).toBeGreaterThan(1); // streamed, not handed over as one buffer
  });

  it('signs Content-Length and carries no checksum of an empty body', async () => {
    const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue('builds/x/1/uploadBBBBBBBBBBBB', 10);
    const query = new URL(url).searchParams;
    expect(query.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-length');
    expect(query.get('X-Amz-Expires')).toBe(String(UPLOAD_URL_TTL_SECONDS));
    expect([...query.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
  });

  it.each([
    ['one byte more', 1],
    ['one byte less', -1],
  ])('refuses a body of a different size (%s) and stores nothing', async (_, delta) => {
    // Prepare
    const key = `builds/com.example.app/1.0.0/uploadSIZE${delta > 0 ? 'MORE' : 'LESS'}AAAA`;
    const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue(key, 1000);
    // Act
    const upload = await put(url, randomBytes(1000 + delta));
    // Assess
    expect(upload.status).toBe(403);
    expect(upload.text).toContain('SignatureDoesNotMatch');
    expect(await exists(key)).toBe(false);
    expect(records).toEqual([]);
  });

  it('refuses an upload to a key other than the one signed', async () => {
    const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue('builds/a/1/uploadCCCCCCCCCCCC', 5);
    const upload = await put(url.replace('uploadCCCCCCCCCCCC', 'uploadDDDDDDDDDDDD'), randomBytes(5));
    expect(upload.status).toBe(403);
    expect(await exists('builds/a/1/uploadDDDDDDDDDDDD')).toBe(false);
  });

  it('refuses an expired URL', async () => {
    // Prepare: a clock 16 minutes behind makes the URL 1 minute past its expiry.
    const past: Clock = { nowSeconds: () => systemClock.nowSeconds() - UPLOAD_URL_TTL_SECONDS - 60 };
    const { url } = await new S3UploadUrls(client, BUCKET, past).issue('builds/a/1/uploadEEEEEEEEEEEE', 5);
    // Act
    const upload = await put(url, randomBytes(5));
    // Assess
    expect(upload.status).toBe(403);
    expect(upload.text).toContain('expired');
  });

  it('refuses an unsigned upload, as a private bucket does', async () => {
    const upload = await put(`${s3.endpoint}/${BUCKET}/builds/a/1/uploadFFFFFFFFFFFF`, randomBytes(5));
    expect(upload.status).toBe(403);
    expect(await exists('builds/a/1/uploadFFFFFFFFFFFF')).toBe(false);
  });

  it('accepts a presigned PUT that carries an Origin header', async () => {
    const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue('builds/a/1/uploadGGGGGGGGGGGG', 5);
    const upload = await put(url, randomBytes(5), { origin: 'http://localhost:5173' });
    expect(upload.status).toBe(200);
  });

  it('accepts a streamed body with an explicit Content-Length, as the CLI uploads', async () => {
    // Prepare
    const key = 'builds/com.example.app/1.0.0/uploadSTREAMAAAAAA';
    const build = randomBytes(300_000);
    const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue(key, build.length);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < build.length; i += 65_536) controller.enqueue(new Uint8Array(build.subarray(i, i + 65_536)));
        controller.close();
      },
    });
    // Act
    const init: RequestInit & { duplex: 'half' } = {
      method: 'PUT',
      headers: { 'content-length': String(build.length), 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    };
    const response = await fetch(url, init);
    // Assess
    expect(response.status).toBe(200);
    const object = await new S3BuildStore(client, BUCKET).open(key);
    const hash = createHash('sha256');
    for await (const chunk of object.body) hash.update(chunk);
    expect(hash.digest('hex')).toBe(sha256(build));
  });

  it('reports a missing object as BuildObjectNotFoundError', async () => {
    await expect(new S3BuildStore(client, BUCKET).open('builds/none/1/uploadHHHHHHHHHHHH')).rejects.toBeInstanceOf(BuildObjectNotFoundError);
  });
});

describe('local S3 object-created events', () => {
  it.each(['builds/with space/a+b/c.bin', 'builds/üñí/100%/(x)~!*\'.bin', 'plain/key'])(
    'delivers %j URL-encoded as S3 does, decodable back to the key',
    async (key) => {
      // Prepare
      const body = randomBytes(33);
      const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue(key, body.length);
      // Act
      const upload = await put(url, body);
      // Assess: the record is delivered before the upload's response returns.
      expect(upload.status).toBe(200);
      expect(records).toHaveLength(1);
      const record = records[0]!;
      expect(record.s3.object.key).toBe(encodeS3EventKey(key));
      expect(decodeS3EventKey(record.s3.object.key)).toBe(key);
      expect(record).toMatchObject({
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` }, object: { size: body.length } },
      });
    },
  );

  it('encodes keys like S3 notifications: space as +, + as %2B, slashes kept', () => {
    expect(encodeS3EventKey('builds/with space/a+b/c.bin')).toBe('builds/with+space/a%2Bb/c.bin');
    expect(encodeS3EventKey("é(x)~!*'=:")).toBe('%C3%A9%28x%29%7E%21*%27%3D%3A');
  });

  it("round-trips any key through encodeS3EventKey and the handler's decodeS3EventKey", () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (key) => decodeS3EventKey(encodeS3EventKey(key)) === key));
  });

  it("produces records shaped like AWS's sample", async () => {
    // Prepare
    const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue('builds/shape/1/uploadIIIIIIIIIIII', 3);
    // Act
    await put(url, randomBytes(3));
    // Assess: same fields with the same types; versionId only exists on versioned buckets.
    const expected = shape(AWS_SAMPLE_RECORD).filter((p) => !p.startsWith('s3.object.versionId'));
    expect(shape(records[0]).sort()).toEqual(expected.sort());
    expect(records[0]?.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);
    expect(new Date(records[0]!.eventTime).toISOString()).toBe(records[0]!.eventTime);
  });

  it('delivers an event for a completed multipart upload, named as S3 names it', async () => {
    // Prepare
    const key = 'builds/multi part/1/uploadJJJJJJJJJJJJ';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const body = randomBytes(1000);
    const { ETag } = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: body }));
    // Act
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }),
    );
    // Assess
    expect(records).toHaveLength(1);
    expect(records[0]?.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
    expect(decodeS3EventKey(records[0]!.s3.object.key)).toBe(key);
    expect(records[0]?.s3.object.size).toBe(body.length);
  });

  it('delivers an event for an SDK PutObject too', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sdk/put', Body: 'hello' }));
    expect(records.map((r) => [r.eventName, r.s3.object.key, r.s3.object.size])).toEqual([['ObjectCreated:Put', 'sdk/put', 5]]);
  });

  it('keeps the upload successful when the event handler fails', async () => {
    // Prepare
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    onCreated = () => {
      throw new Error('handler broke');
    };
    try {
      const { url } = await new S3UploadUrls(client, BUCKET, systemClock).issue('builds/fail/1/uploadKKKKKKKKKKKK', 4);
      // Act
      const upload = await put(url, randomBytes(4));
      await new Promise((resolve) => setImmediate(resolve));
      // Assess
      expect(upload.status).toBe(200);
      expect(stderr.mock.calls.map(([line]) => String(line)).join('')).toContain('local_s3_notification_failed');
    } finally {
      stderr.mockRestore();
    }
  });
});

describe('startS3 restart', () => {
  it('reopens the same directory with its buckets and objects', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'attestor-s3-restart-'));
    try {
      const first = await startS3({ dataDir: dir, buckets: ['keep-me'] });
      const firstClient = clientFor(first.endpoint);
      await firstClient.send(new PutObjectCommand({ Bucket: 'keep-me', Key: 'k', Body: 'persisted' }));
      firstClient.destroy();
      await first.close();
      // Act
      const second = await startS3({ dataDir: dir, buckets: ['keep-me'] });
      const secondClient = clientFor(second.endpoint);
      try {
        const object = await new S3BuildStore(secondClient, 'keep-me').open('k');
        const chunks: Uint8Array[] = [];
        for await (const chunk of object.body) chunks.push(chunk);
        // Assess
        expect(Buffer.concat(chunks).toString()).toBe('persisted');
      } finally {
        secondClient.destroy();
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
