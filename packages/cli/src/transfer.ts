/**
 * Sending bytes of a build to presigned storage URLs, streamed from the file: the file (or a part
 * of it) is never held in memory whole, so a 2 GiB build costs what a 2 KiB one does.
 */
import { createReadStream } from 'node:fs';
import { CliError, HttpStatusError, InterruptedError, oneLine } from './errors';

export { InterruptedError } from './errors';

const CHUNK_BYTES = 1024 * 1024;

/** A build file as checked before the upload: its size then is the size it must still have. */
export interface BuildFile {
  readonly path: string;
  readonly size: number;
}

export interface PutFileOptions {
  readonly url: string;
  readonly file: BuildFile;
  readonly fetch?: typeof fetch;
  /** Called with the total bytes handed to the connection so far. */
  readonly onProgress?: (sentBytes: number) => void;
  readonly signal?: AbortSignal;
}

/** PUTs the whole file to a presigned URL as a stream; see putRange. */
export async function putFile(options: PutFileOptions): Promise<void> {
  await putRange({ ...options, path: options.file.path, start: 0, size: options.file.size, fileSize: options.file.size });
}

export interface PutRangeOptions {
  readonly url: string;
  readonly path: string;
  /** First byte of the range in the file. */
  readonly start: number;
  /** Bytes in the range. */
  readonly size: number;
  /** The size the file had when it was checked: a file that grew or shrank since is not sent. */
  readonly fileSize: number;
  readonly fetch?: typeof fetch;
  /** Called with the bytes of this range handed to the connection so far. */
  readonly onProgress?: (sentBytes: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * PUTs `size` bytes of the file from `start` to a presigned URL as a stream and returns the ETag
 * storage answered with (multipart completion needs it). The content-length is set explicitly: a
 * presigned S3 PUT must not be chunked (S3 answers 411 without a length), and the URL may be signed
 * for it. Throws CliError; a TransferError marks a failure worth retrying.
 */
export async function putRange(options: PutRangeOptions): Promise<string | undefined> {
  const { path, start, size } = options;
  // The last range reads to the end of the file, so a file that grew since it was checked shows up
  // as more bytes than expected instead of being silently cut.
  const last = start + size >= options.fileSize;
  const source = createReadStream(path, { start, ...(last ? {} : { end: start + size - 1 }), highWaterMark: CHUNK_BYTES });
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let sent = 0;
  let changed = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await chunks.next();
      if (done) {
        if (sent !== size) changed = true;
        if (changed) controller.error(new Error('size changed'));
        else controller.close();
        return;
      }
      sent += value.length;
      if (sent > size) {
        changed = true;
        controller.error(new Error('size changed'));
        return;
      }
      controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.length));
      options.onProgress?.(sent);
    },
    async cancel() {
      source.destroy();
    },
  });

  // `duplex` is required by Node's fetch for a stream body but is not yet in the DOM RequestInit type.
  const init: RequestInit & { duplex: 'half' } = {
    method: 'PUT',
    headers: { 'content-length': String(size), 'content-type': 'application/octet-stream' },
    body,
    duplex: 'half',
    // With redirects followed, Node's fetch keeps every chunk sent so it could replay the body
    // (nodejs/undici#4058): a 2 GiB build would cost 2 GiB of memory. Storage never redirects a
    // presigned PUT anyway.
    redirect: 'error',
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(options.url, init);
  } catch (error) {
    if (changed) throw new CliError(`${path} changed while it was being uploaded: upload it again once it is complete`);
    if (options.signal?.aborted) throw new InterruptedError();
    const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
    const origin = new URL(options.url).origin;
    if (typeof cause?.message === 'string' && /redirect/i.test(cause.message)) {
      throw new CliError(`upload to ${origin} was redirected: the service issued an upload URL for the wrong storage endpoint; check its configuration`);
    }
    throw new TransferError(
      `upload to ${origin} failed${typeof cause?.code === 'string' ? ` (${cause.code})` : ''}: check your network and run the command again`,
    );
  } finally {
    source.destroy();
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    // S3 errors are XML: <Error><Code>..</Code><Message>..</Message></Error>.
    const code = text.match(/<Code>([^<]*)<\/Code>/)?.[1];
    const message = text.match(/<Message>([^<]*)<\/Message>/)?.[1];
    const detail = [code, message].filter(Boolean).join(': ') || `HTTP ${response.status}`;
    const hint =
      code === 'AccessDenied' || code === 'SignatureDoesNotMatch' || response.status === 403
        ? 'the upload URL may have expired; run the command again'
        : 'run the command again';
    const line = `upload refused by storage (${response.status} ${oneLine(detail).slice(0, 200)}): ${hint}`;
    // Storage's own hiccups (500, 503 SlowDown, 408, 429) pass; a refusal (403, 400) would repeat.
    if (response.status >= 500 || response.status === 408 || response.status === 429) throw new TransferError(line, response.status);
    throw new HttpStatusError(line, response.status);
  }
  await response.arrayBuffer().catch(() => undefined);
  return response.headers.get('etag') ?? undefined;
}

/** A transfer failure that may well succeed if tried again: the network, or storage being busy. */
export class TransferError extends HttpStatusError {
  override readonly name = 'TransferError';
  constructor(message: string, status = 0) {
    super(message, status);
  }
}


