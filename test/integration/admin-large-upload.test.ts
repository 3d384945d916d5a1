/**
 * A 200 MiB build through the multipart path over the local cloud: generated into a temp file,
 * uploaded part by part from disk through the presigned part URLs, completed through the admin API,
 * hashed by the register function as a stream (docs/ADMIN_API.md §4).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDir, startTestCloud, type TestCloud } from './admin-support';

const APP = 'com.example.large';
const SIZE = 200 * 1024 * 1024 + 12345;
let t: TestCloud;
let fileDir: string;
let file: string;
let sha256: string;

interface MultipartTicket {
  uploadId: string;
  objectKey: string;
  urlExpiresAt: number;
  multipart: { partSize: number; parts: Array<{ partNumber: number; url: string }> };
}

/** Reads one part from the file (one part in memory at a time) and PUTs it; returns S3's ETag. */
async function putPart(ticket: MultipartTicket, index: number): Promise<string> {
  const { partSize, parts } = ticket.multipart;
  const start = index * partSize;
  const length = Math.min(partSize, SIZE - start);
  const bytes = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, bytes, 0, length, start);
  } finally {
    closeSync(fd);
  }
  const res = await fetch(parts[index]!.url, { method: 'PUT', body: bytes });
  if (!res.ok) throw new Error(`part ${index + 1}: ${res.status} ${await res.text()}`);
  return res.headers.get('etag') ?? '';
}

beforeAll(async () => {
  fileDir = mkdtempSync(join(tmpdir(), 'attestor-large-'));
  file = join(fileDir, 'app-release.apk');
  // Written in 8 MiB slices, hashed on the way, so the test never holds the build in memory.
  const hash = createHash('sha256');
  const fd = openSync(file, 'w');
  try {
    for (let written = 0; written < SIZE; ) {
      const slice = randomBytes(Math.min(8 * 1024 * 1024, SIZE - written));
      writeSync(fd, slice);
      hash.update(slice);
      written += slice.length;
    }
  } finally {
    closeSync(fd);
  }
  sha256 = hash.digest('hex');
  t = await startTestCloud();
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await removeDir(t.dataDir);
  rmSync(fileDir, { recursive: true, force: true });
});

test('a 200 MiB build is uploaded in parts, completed and registered with its SHA-256', async () => {
  // Act: ask for the upload.
  const issued = await t.admin('POST', `/v1/admin/apps/${APP}/uploads`, { version: '7.0.0', size: SIZE, note: 'big one' });
  expect(issued.status).toBe(201);
  const ticket = issued.body as unknown as MultipartTicket;
  expect(ticket).not.toHaveProperty('uploadUrl');
  expect(ticket.multipart.partSize).toBe(16 * 1024 * 1024);
  expect(ticket.multipart.parts.map((p) => p.partNumber)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));

  // A wrong part list is refused before S3 is asked, and completes nothing.
  const short = await t.admin('POST', `/v1/admin/uploads/${ticket.uploadId}/complete`, { parts: [{ partNumber: 1, etag: 'x' }] });
  expect(short.body).toEqual({ error: 'invalid_request', field: 'parts', message: 'parts must list parts 1 to 13 in order, each with the ETag S3 returned' });

  // Upload every part, two at a time.
  const etags: string[] = [];
  for (let i = 0; i < ticket.multipart.parts.length; i += 2) {
    const pair = [i, i + 1].filter((n) => n < ticket.multipart.parts.length);
    const got = await Promise.all(pair.map((n) => putPart(ticket, n)));
    etags.push(...got);
  }

  expect(etags.every((e) => /^"[0-9a-f]{32}"$/.test(e))).toBe(true);
  expect((await t.admin('GET', `/v1/admin/uploads/${ticket.uploadId}`)).body['status']).toBe('pending');

  // Complete, then wait for the register function.
  const parts = etags.map((etag, i) => ({ partNumber: i + 1, etag }));
  const completed = await t.admin('POST', `/v1/admin/uploads/${ticket.uploadId}/complete`, { parts });
  expect(completed.status).toBe(200);
  expect(completed.body).toMatchObject({ uploadId: ticket.uploadId, status: 'pending', size: SIZE });
  // A retried complete (say the response was lost) gets the same answer.
  expect((await t.admin('POST', `/v1/admin/uploads/${ticket.uploadId}/complete`, { parts })).status).toBe(200);
  await t.cloud.settled();

  // Assess
  const state = await t.admin('GET', `/v1/admin/uploads/${ticket.uploadId}`);
  expect(state.body).toMatchObject({ status: 'registered', sha256, size: SIZE, note: 'big one' });
  expect(state.body['registration']).toEqual({ appId: APP, version: '7.0.0', sha256, size: SIZE, registeredAt: t.clock.now, note: 'big one' });
}, 180_000);

test('complete is refused for a single-PUT upload', async () => {
  const issued = await t.admin('POST', `/v1/admin/apps/${APP}/uploads`, { version: '7.0.1', size: 10 });
  const res = await t.admin('POST', `/v1/admin/uploads/${issued.body['uploadId'] as string}/complete`, { parts: [{ partNumber: 1, etag: 'x' }] });
  expect(res).toMatchObject({ status: 409, body: { error: 'conflict' } });
});
