/**
 * Multipart upload of a large build: each part is PUT to its own presigned URL, streamed from the
 * file at its offset, a few at a time. Memory stays flat (each part is a stream, never a buffer)
 * and a failed part is retried on its own instead of restarting a 2 GiB upload.
 */
import { CliError } from './errors';
import { InterruptedError, putRange, TransferError } from './transfer';

export interface PartTarget {
  /** 1-based, as S3 numbers parts. */
  readonly partNumber: number;
  readonly url: string;
  /** Byte offset of the part in the file. */
  readonly start: number;
  readonly size: number;
}

export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export interface PutPartsOptions {
  readonly path: string;
  readonly fileSize: number;
  readonly parts: readonly PartTarget[];
  /** Parts in flight at once. More than a few gains little and multiplies open connections. @default 4 */
  readonly concurrency?: number;
  /** Tries per part, the first included. @default 4 */
  readonly attempts?: number;
  readonly fetch?: typeof fetch;
  /** Called with the bytes sent over all parts; a retried part's lost bytes are taken back. */
  readonly onProgress?: (sentBytes: number) => void;
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Uploads every part and returns their ETags in part order, as CompleteMultipartUpload wants them. */
export async function putParts(options: PutPartsOptions): Promise<UploadedPart[]> {
  const { parts } = options;
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 4, parts.length));
  const attempts = Math.max(1, options.attempts ?? 4);
  const sleep = options.sleep ?? sleepReal;
  // One failed part stops the others: the upload as a whole has failed and is started over.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const sentByPart = new Map<number, number>();
  let sentTotal = 0;
  const progress = (partNumber: number, sent: number) => {
    sentTotal += sent - (sentByPart.get(partNumber) ?? 0);
    sentByPart.set(partNumber, sent);
    options.onProgress?.(sentTotal);
  };

  const etags = new Map<number, string>();
  let next = 0;
  const worker = async () => {
    while (!stop.signal.aborted && next < parts.length) {
      const part = parts[next++]!;
      etags.set(part.partNumber, await putPartWithRetries(part));
    }
  };
  const putPartWithRetries = async (part: PartTarget): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const etag = await putRange({
          url: part.url,
          path: options.path,
          start: part.start,
          size: part.size,
          fileSize: options.fileSize,
          signal: stop.signal,
          onProgress: (sent) => progress(part.partNumber, sent),
          ...(options.fetch ? { fetch: options.fetch } : {}),
        });
        if (!etag)
          throw new CliError(
            `storage accepted part ${part.partNumber} without an ETag: the upload URL does not point at S3-compatible storage; check the service configuration`,
          );
        return etag;
      } catch (error) {
        progress(part.partNumber, 0);
        if (!(error instanceof TransferError) || attempt >= attempts || stop.signal.aborted) throw error;
        await sleep(500 * 2 ** (attempt - 1));
      }
    }
  };

  try {
    const results = await Promise.allSettled(
      Array.from({ length: concurrency }, () => worker().catch((error: unknown) => (stop.abort(), Promise.reject(error)))),
    );
    if (options.signal?.aborted) throw new InterruptedError();
    // The first real failure, not the interruptions it caused in the other workers.
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof InterruptedError));
    if (failed) throw failed.reason;
    const interrupted = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (interrupted) throw interrupted.reason;
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
  return parts.map((part) => ({ partNumber: part.partNumber, etag: etags.get(part.partNumber)! }));
}
