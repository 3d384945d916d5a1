import v8 from 'node:v8';
import vm from 'node:vm';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdminClient, UploadState } from '../../packages/cli/src/admin-client';
import { CliError } from '../../packages/cli/src/errors';
import { createProgress, formatBytes } from '../../packages/cli/src/progress';
import { checkBuildFile, putFile, registerBuild, waitForSettled } from '../../packages/cli/src/upload';
import { InterruptedError } from '../../packages/cli/src/errors';
import { Capture, startFakeServer, type FakeServer } from './helpers';

let dir: string;
let storage: FakeServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'attestor-cli-upload-'));
  storage = await startFakeServer((req) => {
    if (req.url.startsWith('/denied')) {
      return { status: 403, text: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' };
    }
    return { status: 200, text: '' };
  });
});
afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => storage.received.splice(0));

function file(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('checkBuildFile', () => {
  it('returns path and size of a regular non-empty file', () => {
    const path = file('ok.apk', Buffer.from('abc'));
    expect(checkBuildFile(path)).toEqual({ path, size: 3 });
  });

  it.each([
    ['a missing file', () => join(dir, 'missing.apk'), /missing\.apk: no such file$/],
    ['a directory', () => (mkdirSync(join(dir, 'd'), { recursive: true }), join(dir, 'd')), /is a directory: pass the build file/],
    ['an empty file', () => file('empty.apk', Buffer.alloc(0)), /is empty: empty builds cannot be registered/],
  ])('refuses %s with one line', (_name, make, message) => {
    expect(() => checkBuildFile(make())).toThrow(message);
  });

  it('refuses a file over the limit', () => {
    expect(() => checkBuildFile(file('big.apk', Buffer.alloc(11)), 10)).toThrow(/is 11 bytes; builds may be at most 10 bytes/);
  });
});

describe('putFile', () => {
  it('streams the file with an exact content-length, not chunked, and reports progress', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const path = file('build.apk', bytes);
    const seen: number[] = [];
    await putFile({ url: `${storage.endpoint}/bucket/key?X-Amz-Signature=abc`, file: { path, size: bytes.length }, onProgress: (n) => seen.push(n) });
    const [req] = storage.received;
    expect(req!.method).toBe('PUT');
    expect(req!.url).toBe('/bucket/key?X-Amz-Signature=abc');
    expect(req!.headers['content-length']).toBe(String(bytes.length));
    expect(req!.headers['transfer-encoding']).toBeUndefined();
    expect(createHash('sha256').update(req!.body).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    // Several chunks, never the whole file at once.
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(bytes.length);
  });

  it('keeps memory flat: the file is never held whole, by us or by fetch', async () => {
    // Measures what is still referenced, not what awaits collection: V8 frees sent chunks only when
    // its external-memory threshold is reached, and that threshold differs between Node versions
    // (Node 24 let 150 MiB of garbage build up where Node 20 stopped at 64). So a collection is forced
    // every 16 MiB of progress and the memory still held right after it is what counts.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const size = 256 * 1024 * 1024;
    const path = join(dir, 'large.apk');
    writeFileSync(path, Buffer.alloc(size, 7));
    const sink = await startFakeServer(() => ({ status: 200 }), { keepBodies: false });
    gc();
    const base = process.memoryUsage().arrayBuffers;
    let held = 0;
    let nextCheck = 16 * 1024 * 1024;
    try {
      await putFile({
        url: `${sink.endpoint}/bucket/large`,
        file: { path, size },
        onProgress: (sent) => {
          if (sent < nextCheck) return;
          nextCheck += 16 * 1024 * 1024;
          gc();
          held = Math.max(held, process.memoryUsage().arrayBuffers - base);
        },
      });
    } finally {
      await sink.close();
      rmSync(path);
    }
    // Holding the file whole would keep about 240 MiB referenced at the last check; streaming keeps
    // what is in flight, at most 36 MiB when a busy machine slowed the receiver.
    expect(held).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses to send a file whose size changed since it was checked', async () => {
    const path = file('shrunk.apk', Buffer.alloc(10));
    await expect(putFile({ url: `${storage.endpoint}/bucket/key`, file: { path, size: 20 } })).rejects.toThrow(/changed while it was being uploaded/);
    const grown = file('grown.apk', Buffer.alloc(30));
    await expect(putFile({ url: `${storage.endpoint}/bucket/key`, file: { path: grown, size: 20 } })).rejects.toThrow(/changed while it was being uploaded/);
  });

  it('turns an S3 error document into one line with a hint', async () => {
    const path = file('x.apk', Buffer.from('x'));
    await expect(putFile({ url: `${storage.endpoint}/denied`, file: { path, size: 1 } })).rejects.toThrow(
      'upload refused by storage (403 AccessDenied: Request has expired): the upload URL may have expired; run the command again',
    );
  });
});

/** A fake admin client: only the calls registerBuild makes. */
function fakeClient(states: UploadState[], objectKey = 'builds/com.example.app/1.0.0/upload-1', registered: Array<Record<string, unknown>> = []) {
  const calls: string[] = [];
  const client = {
    listRegistrations: async (appId: string) => {
      calls.push(`list ${appId}`);
      return registered;
    },
    createUpload: async (appId: string, req: unknown) => {
      calls.push(`create ${appId} ${JSON.stringify(req)}`);
      return { uploadId: 'upload-1', objectKey, uploadUrl: `${storage.endpoint}/bucket/${objectKey}`, urlExpiresAt: 0 };
    },
    getUpload: async (id: string) => {
      calls.push(`get ${id}`);
      return states.length > 1 ? states.shift()! : states[0]!;
    },
  } as unknown as AdminClient;
  return { client, calls };
}

const pending = {
  uploadId: 'upload-1',
  appId: 'com.example.app',
  version: '1.0.0',
  objectKey: 'builds/com.example.app/1.0.0/upload-1',
  status: 'pending' as const,
};
const HELLO_SHA256 = createHash('sha256').update('hello').digest('hex');
const registration = { appId: 'com.example.app', version: '1.0.0', sha256: HELLO_SHA256, size: 5, registeredAt: 100 };

describe('registerBuild', () => {
  const noSleep = async () => undefined;

  it('creates the upload, uploads, polls until registered and returns the registration', async () => {
    const path = file('r.apk', Buffer.from('hello'));
    const { client, calls } = fakeClient([pending, pending, { ...pending, createdAt: 99, status: 'registered', registration }]);
    const result = await registerBuild({
      client,
      appId: 'com.example.app',
      version: '1.0.0',
      file: { path, size: 5 },
      expireAfterSeconds: 3600,
      note: 'n',
      sleep: noSleep,
    });
    expect(result).toEqual({ registration, alreadyRegistered: false });
    expect(calls).toEqual([
      'list com.example.app',
      'create com.example.app {"version":"1.0.0","size":5,"expireAfterSeconds":3600,"note":"n"}',
      'get upload-1',
      'get upload-1',
      'get upload-1',
    ]);
    expect(storage.received).toHaveLength(1);
  });

  it('uploads nothing when the version is already registered with this very build', async () => {
    const path = file('same.apk', Buffer.from('hello'));
    const { client, calls } = fakeClient([pending], undefined, [{ ...registration, version: '0.9.0', sha256: 'cd'.repeat(32) }, registration]);
    const result = await registerBuild({ client, appId: 'com.example.app', version: '1.0.0', file: { path, size: 5 }, sleep: noSleep });
    expect(result).toEqual({ registration, alreadyRegistered: true });
    expect(calls).toEqual(['list com.example.app']);
    expect(storage.received).toHaveLength(0);
  });

  it('refuses, before uploading, a different build under a registered version', async () => {
    const path = file('other.apk', Buffer.from('olleh'));
    const { client, calls } = fakeClient([pending], undefined, [registration]);
    await expect(registerBuild({ client, appId: 'com.example.app', version: '1.0.0', file: { path, size: 5 }, sleep: noSleep })).rejects.toThrow(
      `com.example.app 1.0.0 is already registered with a different build (sha256 ${HELLO_SHA256.slice(0, 12)}…): give the new build a new version`,
    );
    expect(calls).toEqual(['list com.example.app']);
    expect(storage.received).toHaveLength(0);
  });

  it('reports a registration that predates the upload (a concurrent one of the same build) as already registered', async () => {
    const path = file('r2.apk', Buffer.from('hello'));
    const { client } = fakeClient([{ ...pending, createdAt: 200, status: 'registered', registration }]);
    const result = await registerBuild({ client, appId: 'com.example.app', version: '1.0.0', file: { path, size: 5 }, sleep: noSleep });
    expect(result).toEqual({ registration, alreadyRegistered: true });
  });

  it('refuses a registration whose digest is not the file\'s', async () => {
    const path = file('r4.apk', Buffer.from('hello'));
    const { client } = fakeClient([{ ...pending, status: 'registered', registration: { ...registration, sha256: 'ef'.repeat(32) } }]);
    await expect(registerBuild({ client, appId: 'com.example.app', version: '1.0.0', file: { path, size: 5 }, sleep: noSleep })).rejects.toThrow(
      `is registered with sha256 ${'ef'.repeat(32)}, but ${path} has ${HELLO_SHA256}`,
    );
  });

  it('turns a rejection into one line with the reason and what to do', async () => {
    const path = file('r3.apk', Buffer.from('hello'));
    const { client } = fakeClient([{ ...pending, status: 'rejected', reason: 'version_conflict' }]);
    const error = await registerBuild({ client, appId: 'com.example.app', version: '1.0.0', file: { path, size: 5 }, sleep: noSleep }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toBe(
      'the service rejected com.example.app 1.0.0 (version_conflict): this version is already registered with a different build; give the new build a ' +
        'new version',
    );
  });
});

describe('waitForSettled', () => {
  it('backs off between polls and gives up at the timeout with one line', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const { client } = fakeClient([pending]);
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    };
    await expect(waitForSettled(client, 'upload-1', { timeoutMs: 10_000, sleep, now: () => now })).rejects.toThrow(
      /has not registered upload upload-1 after 10 s: check the service logs/,
    );
    expect(sleeps.slice(0, 4)).toEqual([250, 375, 563, 845]);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(3000);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('Ctrl-C in the sleep between polls says the upload may still be registered, and polls no more', async () => {
    const { client, calls } = fakeClient([pending]);
    const controller = new AbortController();
    const sleep = async () => controller.abort();
    const error = await waitForSettled(client, 'upload-1', { sleep, signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as Error).message).toBe('interrupted while waiting; the upload may still be registered: see `attestor registrations list`');
    expect(calls).toEqual(['get upload-1']);
  });
});

describe('progress', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200.0 MiB');
  });

  it('writes plain lines, not a redrawn bar, when stderr is not a terminal', () => {
    const err = new Capture(false);
    let now = 0;
    const p = createProgress(err, 'uploading', 100 * 1024 * 1024, () => now);
    now = 6000;
    p.update(50 * 1024 * 1024);
    now = 7000;
    p.update(60 * 1024 * 1024);
    now = 10_000;
    p.update(100 * 1024 * 1024);
    p.done();
    expect(err.text).not.toMatch(/\r|\x1b/);
    expect(err.lines).toEqual([
      'uploading: 100.0 MiB',
      'uploading: 50% (50.0 MiB of 100.0 MiB, 8.33 MiB/s)',
      'uploading: done, 100.0 MiB in 10.0 s (10.0 MiB/s)',
    ]);
  });

  it('draws a bar with bytes, rate and ETA on a terminal', () => {
    const err = new Capture(true);
    const p = createProgress(err, 'uploading', 4 * 1024 * 1024);
    p.update(2 * 1024 * 1024);
    p.done();
    expect(err.text).toMatch(/uploading \[=+-+\] 50% \| 2\.00 MiB\/4\.00 MiB \| .*\/s \| ETA /);
  });
});
