/**
 * The register pipeline over the local cloud: uploads through the admin API, objects written
 * straight into the bucket (as someone with bucket access could), S3 events delivered twice, and
 * the refusals operators see in the build log (docs/ADMIN_API.md §4, §9.2).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeS3EventKey } from '../../packages/local/src/s3';
import { silentLogger } from '../../packages/service/src/handlers/log';
import { registerHandler } from '../../packages/service/src/handlers/register';
import { registerBuildForTest } from '../support/local-admin';
import { createTenant, removeDir, startTestCloud, type Credential, type TestCloud } from './admin-support';

const APP = 'com.example.pipeline';
const MAX_BUILD_BYTES = 64 * 1024;
let t: TestCloud;

/** What S3 would deliver for an object created at `key` (sample event shape, key encoded as S3 does). */
function s3Event(key: string, sequencer: string): S3Event {
  const sample = JSON.parse(readFileSync(join(__dirname, '../fixtures/s3-event.json'), 'utf8')) as S3Event;
  const record = sample.Records[0]!;
  return {
    Records: [
      {
        ...record,
        eventTime: new Date(t.clock.now * 1000).toISOString(),
        s3: {
          ...record.s3,
          bucket: { ...record.s3.bucket, name: t.cloud.config.buildsBucket },
          object: { ...record.s3.object, key: encodeS3EventKey(key), sequencer },
        },
      },
    ],
  };
}

/** Writes bytes straight into the builds bucket (no presigned URL) and waits for the register function. */
async function putObject(key: string, bytes: Uint8Array): Promise<void> {
  await t.cloud.services.clients.s3().send(new PutObjectCommand({ Bucket: t.cloud.config.buildsBucket, Key: key, Body: bytes }));
  await t.cloud.settled();
}

async function issueUpload(version: string, size: number, as?: Credential): Promise<{ uploadId: string; objectKey: string }> {
  const res = await t.admin('POST', `/v1/admin/apps/${APP}/uploads`, { version, size }, as);
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { uploadId: string; objectKey: string };
}

async function uploadState(uploadId: string): Promise<Record<string, unknown>> {
  return (await t.admin('GET', `/v1/admin/uploads/${uploadId}`)).body;
}

async function buildLog(as?: Credential): Promise<Array<Record<string, unknown>>> {
  const res = await t.admin('GET', '/v1/admin/log?kind=builds&limit=100', undefined, as);
  expect(res.status).toBe(200);
  return res.body['entries'] as Array<Record<string, unknown>>;
}

beforeAll(async () => {
  t = await startTestCloud({ maxBuildBytes: MAX_BUILD_BYTES });
});

afterAll(async () => {
  await t?.stop();
  await removeDir(t.dataDir);
});

describe('registering through the admin API', () => {
  test('the same build registered twice gives the same registration, not a duplicate', async () => {
    const bytes = randomBytes(1000);
    const first = await registerBuildForTest(t.cloud, { appId: APP, version: '1.0.0', bytes });
    t.clock.advance(60);
    const second = await registerBuildForTest(t.cloud, { appId: APP, version: '1.0.0', bytes });
    expect(first['status']).toBe('registered');
    expect(second['status']).toBe('registered');
    expect(second['uploadId']).not.toBe(first['uploadId']);
    expect(second['registration']).toEqual(first['registration']);
    const list = await t.admin('GET', `/v1/admin/apps/${APP}/registrations`);
    expect((list.body['registrations'] as unknown[]).length).toBe(1);
  });

  test('another build under a registered version is rejected version_conflict and leaves the registration', async () => {
    const before = await t.admin('GET', `/v1/admin/apps/${APP}/registrations`);
    const other = await registerBuildForTest(t.cloud, { appId: APP, version: '1.0.0', bytes: randomBytes(1000) });
    expect(other).toMatchObject({ status: 'rejected', reason: 'version_conflict' });
    expect(other).not.toHaveProperty('registration');
    expect(await t.admin('GET', `/v1/admin/apps/${APP}/registrations`)).toEqual(before);
    expect(await buildLog()).toContainEqual(
      expect.objectContaining({ reason: 'version_conflict', uploadId: other['uploadId'], appId: APP, version: '1.0.0', size: 1000 }),
    );
  });

  test.each([
    ['an empty size', { version: '2.0.0', size: 0 }, 'size', 'size must be at least 1 byte (empty builds cannot be registered)'],
    ['a size over the limit', { version: '2.0.0', size: MAX_BUILD_BYTES + 1 }, 'size', `size must be at most ${MAX_BUILD_BYTES} bytes`],
    ['a size as a string', { version: '2.0.0', size: '10' }, 'size', 'size must be a number of bytes'],
    ['an empty version', { version: '', size: 10 }, 'version', 'version must not be empty'],
    ['a 65-character version', { version: 'v'.repeat(65), size: 10 }, 'version', 'version must be at most 64 characters'],
    [
      'an expiry under a minute',
      { version: '2.0.0', size: 10, expireAfterSeconds: 59 },
      'expireAfterSeconds',
      'expireAfterSeconds must be at least 60 seconds',
    ],
    ['a 501-character note', { version: '2.0.0', size: 10, note: 'n'.repeat(501) }, 'note', 'note must be at most 500 characters'],
  ])('an upload request with %s gets 400 and creates nothing', async (_what, body, field, message) => {
    const res = await t.admin('POST', `/v1/admin/apps/com.example.never/uploads`, body);
    expect(res).toEqual({ status: 400, body: { error: 'invalid_request', field, message } });
    expect((await t.admin('GET', '/v1/admin/apps')).body['apps']).not.toContainEqual(expect.objectContaining({ appId: 'com.example.never' }));
  });

  test('an unknown upload id gets 404', async () => {
    expect((await t.admin('GET', '/v1/admin/uploads/AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await t.admin('GET', '/v1/admin/uploads/not-an-id')).status).toBe(404);
  });
});

describe('refusals', () => {
  test('an empty object under an upload key is rejected empty_build, recorded, and registers nothing', async () => {
    const { uploadId, objectKey } = await issueUpload('3.0.0', 100);
    await putObject(objectKey, new Uint8Array(0));
    expect(await uploadState(uploadId)).toMatchObject({ status: 'rejected', reason: 'empty_build' });
    expect((await t.admin('GET', `/v1/admin/apps/${APP}/registrations`)).body['registrations']).not.toContainEqual(
      expect.objectContaining({ version: '3.0.0' }),
    );
    expect(await buildLog()).toContainEqual(expect.objectContaining({ reason: 'empty_build', uploadId, objectKey, size: 0 }));
  });

  test('an object over the size limit is rejected too_large without being hashed', async () => {
    const { uploadId, objectKey } = await issueUpload('3.1.0', 100);
    await putObject(objectKey, randomBytes(MAX_BUILD_BYTES + 1));
    expect(await uploadState(uploadId)).toMatchObject({ status: 'rejected', reason: 'too_large' });
    expect(await uploadState(uploadId)).not.toHaveProperty('sha256');
    expect(await buildLog()).toContainEqual(expect.objectContaining({ reason: 'too_large', uploadId, size: MAX_BUILD_BYTES + 1 }));
  });

  test('an object of another size than declared is rejected size_mismatch', async () => {
    const { uploadId, objectKey } = await issueUpload('3.2.0', 100);
    await putObject(objectKey, randomBytes(101));
    expect(await uploadState(uploadId)).toMatchObject({ status: 'rejected', reason: 'size_mismatch' });
  });

  test('objects under unknown keys are refused and recorded in the operator’s build log, not a tenant’s', async () => {
    const acme = await createTenant(t, 'acme-register');
    await putObject('uploads/somewhere/else.apk', randomBytes(10));
    await putObject(`builds/${APP}/9.9.9/AAAAAAAAAAAAAAAAAAAAAA`, randomBytes(10));
    const log = await buildLog();
    expect(log).toContainEqual(expect.objectContaining({ objectKey: 'uploads/somewhere/else.apk', reason: 'unknown_key' }));
    expect(log).toContainEqual(
      expect.objectContaining({ objectKey: `builds/${APP}/9.9.9/AAAAAAAAAAAAAAAAAAAAAA`, reason: 'unknown_upload', appId: APP, version: '9.9.9' }),
    );
    expect(await buildLog(acme)).toEqual([]);
    expect((await t.admin('GET', '/v1/admin/log?kind=builds&appId=com.example.x')).body).toMatchObject({ field: 'appId' });
    expect((await t.admin('GET', '/v1/admin/log?kind=everything')).body).toMatchObject({ field: 'kind' });
  });

  test('an upload whose app was removed while it was pending is rejected app_removed', async () => {
    const appId = 'com.example.removed';
    const issued = await t.admin('POST', `/v1/admin/apps/${appId}/uploads`, { version: '1.0.0', size: 10 });
    const { uploadId, uploadUrl } = issued.body as { uploadId: string; uploadUrl: string };
    expect((await t.admin('DELETE', `/v1/admin/apps/${appId}`)).status).toBe(200);
    const put = await fetch(uploadUrl, { method: 'PUT', body: randomBytes(10) });
    expect(put.ok).toBe(true);
    await t.cloud.settled();
    expect(await uploadState(uploadId)).toMatchObject({ status: 'rejected', reason: 'app_removed' });
    expect(await t.cloud.services.registry().getRegistration(appId, '1.0.0')).toBeUndefined();
  });
});

describe('S3 delivers events at least once', () => {
  test('a redelivered event of a registered build changes nothing', async () => {
    const bytes = randomBytes(500);
    const upload = await registerBuildForTest(t.cloud, { appId: APP, version: '4.0.0', bytes });
    const objectKey = upload['objectKey'] as string;
    const registry = t.cloud.services.registry();
    const before = {
      registration: await registry.getRegistration(APP, '4.0.0'),
      upload: await registry.getUpload(upload['uploadId'] as string),
      log: await buildLog(),
    };
    t.clock.advance(600);
    const handler = registerHandler(t.cloud.services.registration(), silentLogger);
    const event = s3Event(objectKey, '0A1B2C3D4E5F678901');
    await handler(event);
    await handler(event);
    expect(await registry.getRegistration(APP, '4.0.0')).toEqual(before.registration);
    expect(await registry.getUpload(upload['uploadId'] as string)).toEqual(before.upload);
    expect(await buildLog()).toEqual(before.log);
  });

  test('a redelivered refusal is recorded once', async () => {
    const handler = registerHandler(t.cloud.services.registration(), silentLogger);
    const key = 'stray/redelivered.bin';
    // Put it straight into s3rver's bucket first so the object exists; its own event records one refusal.
    await putObject(key, randomBytes(5));
    const count = async () => (await buildLog()).filter((e) => e['objectKey'] === key).length;
    expect(await count()).toBe(1);
    const event = s3Event(key, 'FEDCBA9876543210');
    await handler(event);
    await handler(event);
    expect(await count()).toBe(2);
  });

  test('a redelivered event of a rejected upload leaves it rejected with its reason', async () => {
    const { uploadId, objectKey } = await issueUpload('5.0.0', 100);
    await putObject(objectKey, new Uint8Array(0));
    const before = await t.cloud.services.registry().getUpload(uploadId);
    const handler = registerHandler(t.cloud.services.registration(), silentLogger);
    await handler(s3Event(objectKey, '1111'));
    await handler(s3Event(objectKey, '1111'));
    expect(await t.cloud.services.registry().getUpload(uploadId)).toEqual(before);
  });
});
