/**
 * Multipart transfer against a small storage stand-in that behaves like S3's UploadPart: it checks
 * the length, returns an ETag of the bytes it got, and can be told to fail or to hold an answer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InterruptedError } from '../../packages/cli/src/errors';
import { putParts, type PartTarget } from '../../packages/cli/src/multipart';
import { partTargets } from '../../packages/cli/src/upload';

interface Storage {
  endpoint: string;
  /** Bytes received per part number (the last successful PUT). */
  parts: Map<number, Buffer>;
  attempts: Map<number, number>;
  maxInFlight: number;
  /** Decides the answer to one PUT; the default stores the part and returns its ETag. */
  answer: (part: number, attempt: number, res: ServerResponse, body: Buffer) => void | Promise<void>;
  close(): Promise<void>;
}

const md5 = (b: Buffer) => `"${createHash('md5').update(b).digest('hex')}"`;

async function startStorage(): Promise<Storage> {
  let inFlight = 0;
  const storage: Storage = {
    endpoint: '',
    parts: new Map(),
    attempts: new Map(),
    maxInFlight: 0,
    answer: (part, _attempt, res, body) => {
      storage.parts.set(part, body);
      res.writeHead(200, { etag: md5(body) });
      res.end();
    },
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    storage.maxInFlight = Math.max(storage.maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    const part = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('partNumber'));
    const attempt = (storage.attempts.get(part) ?? 0) + 1;
    storage.attempts.set(part, attempt);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (Number(req.headers['content-length']) !== body.length) {
        res.writeHead(400);
        res.end('<Error><Code>IncompleteBody</Code></Error>');
        return;
      }
      void storage.answer(part, attempt, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  storage.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return storage;
}

let dir: string;
let storage: Storage;
const PART = 256 * 1024;
const bytes = randomBytes(5 * PART + 1234);
let path: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'attestor-cli-multipart-'));
  path = join(dir, 'big.apk');
  writeFileSync(path, bytes);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(async () => {
  storage = await startStorage();
});
afterEach(() => storage.close());

const targets = (): PartTarget[] =>
  partTargets(
    { partSize: PART, parts: Array.from({ length: 6 }, (_, i) => ({ partNumber: i + 1, url: `${storage.endpoint}/b/k?partNumber=${i + 1}` })) },
    bytes.length,
  );
const noSleep = async () => undefined;

describe('partTargets', () => {
  it('gives every part its byte range; all but the last are partSize long', () => {
    const t = targets();
    expect(t.map((p) => [p.partNumber, p.start, p.size])).toEqual([
      [1, 0, PART],
      [2, PART, PART],
      [3, 2 * PART, PART],
      [4, 3 * PART, PART],
      [5, 4 * PART, PART],
      [6, 5 * PART, 1234],
    ]);
  });

  it('refuses parts that do not cover the file', () => {
    expect(() => partTargets({ partSize: PART, parts: [{ partNumber: 1, url: 'http://x' }] }, bytes.length)).toThrow(
      /issued 1 upload parts of 262144 bytes for a 1311954-byte build/,
    );
    expect(() => partTargets({ partSize: bytes.length, parts: [{ partNumber: 2, url: 'http://x' }] }, bytes.length)).toThrow(/upload parts/);
  });
});

describe('putParts', () => {
  it('streams each part from its offset and returns the ETags in part order', async () => {
    const seen: number[] = [];
    const parts = await putParts({ path, fileSize: bytes.length, parts: targets(), onProgress: (n) => seen.push(n) });
    expect(parts).toEqual(targets().map((t) => ({ partNumber: t.partNumber, etag: md5(bytes.subarray(t.start, t.start + t.size)) })));
    expect(Buffer.concat([...storage.parts.entries()].sort(([a], [b]) => a - b).map(([, b]) => b)).equals(bytes)).toBe(true);
    expect(seen.at(-1)).toBe(bytes.length);
  });

  it('has at most `concurrency` parts in flight, and really runs them side by side', async () => {
    // Whichever of parts 1 and 2 arrives first is held until the other has arrived: only a parallel
    // upload gets past that. Either may arrive first (under load part 2's body can finish first).
    let held: (() => void) | undefined;
    storage.answer = (part, _attempt, res, body) => {
      const ok = () => (storage.parts.set(part, body), res.writeHead(200, { etag: md5(body) }), res.end());
      if (part > 2) return void ok();
      if (held === undefined) return void (held = ok);
      held();
      ok();
    };
    await putParts({ path, fileSize: bytes.length, parts: targets(), concurrency: 2 });
    expect(storage.parts.size).toBe(6);
    expect(storage.maxInFlight).toBe(2);
  });

  it('retries a part that storage failed with a 5xx, taking its lost bytes back from the progress', async () => {
    storage.answer = (part, attempt, res, body) => {
      if (part === 3 && attempt < 3) {
        res.writeHead(503);
        res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      storage.parts.set(part, body);
      res.writeHead(200, { etag: md5(body) });
      res.end();
    };
    const sleeps: number[] = [];
    let last = 0;
    let highest = 0;
    const parts = await putParts({
      path,
      fileSize: bytes.length,
      parts: targets(),
      concurrency: 1,
      sleep: async (ms) => void sleeps.push(ms),
      onProgress: (n) => ((last = n), (highest = Math.max(highest, n))),
    });
    expect(parts).toHaveLength(6);
    expect(storage.attempts.get(3)).toBe(3);
    expect(sleeps).toEqual([500, 1000]);
    // Never more than the file, although part 3 went up three times.
    expect(highest).toBe(bytes.length);
    expect(last).toBe(bytes.length);
  });

  it('gives up on a part after the last attempt with one line', async () => {
    storage.answer = (_part, _attempt, res) => {
      res.writeHead(500);
      res.end('<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>');
    };
    await expect(putParts({ path, fileSize: bytes.length, parts: targets(), concurrency: 1, attempts: 2, sleep: noSleep })).rejects.toThrow(
      'upload refused by storage (500 InternalError: We encountered an internal error.): run the command again',
    );
    expect(storage.attempts.get(1)).toBe(2);
    expect(storage.attempts.has(2)).toBe(false);
  });

  it('does not retry a refusal (an expired URL), and sends no further parts', async () => {
    storage.answer = (part, _attempt, res, body) => {
      if (part === 2) {
        res.writeHead(403);
        res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
        return;
      }
      storage.parts.set(part, body);
      res.writeHead(200, { etag: md5(body) });
      res.end();
    };
    await expect(putParts({ path, fileSize: bytes.length, parts: targets(), concurrency: 1, sleep: noSleep })).rejects.toThrow(
      'upload refused by storage (403 AccessDenied: Request has expired): the upload URL may have expired; run the command again',
    );
    expect(storage.attempts.get(2)).toBe(1);
    expect(storage.attempts.has(3)).toBe(false);
  });

  it('refuses an answer without an ETag: completion would be impossible', async () => {
    storage.answer = (_part, _attempt, res) => {
      res.writeHead(200);
      res.end();
    };
    await expect(putParts({ path, fileSize: bytes.length, parts: targets(), sleep: noSleep })).rejects.toThrow(/accepted part \d without an ETag/);
  });

  it('stops when interrupted (Ctrl-C) and says so, exit code 130', async () => {
    const interrupt = new AbortController();
    storage.answer = (part, _attempt, res, body) => {
      if (part === 1) interrupt.abort();
      storage.parts.set(part, body);
      res.writeHead(200, { etag: md5(body) });
      res.end();
    };
    const error = await putParts({ path, fileSize: bytes.length, parts: targets(), concurrency: 1, signal: interrupt.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).exitCode).toBe(130);
    expect(storage.attempts.has(3)).toBe(false);
  });
});
