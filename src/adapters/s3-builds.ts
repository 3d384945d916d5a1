/**
 * Builds in S3: the register function streams an uploaded build out of the bucket, and the admin
 * API hands the CLI a presigned URL to upload one into it.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BuildObject, BuildStore, Clock, UploadUrlIssuer } from '../core/ports';

/** The object a register event names is not in the bucket (deleted, or the event is stale). */
export class BuildObjectNotFoundError extends Error {
  override readonly name = 'BuildObjectNotFoundError';
  constructor(readonly objectKey: string) {
    super(`no build object at ${objectKey}`);
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

export class S3BuildStore implements BuildStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * One GetObject; the body is the response stream itself, so a 2 GiB build is hashed chunk by
   * chunk in a Lambda with far less memory. The consumer must read it to the end (or destroy it)
   * to release the HTTP connection.
   */
  async open(objectKey: string): Promise<BuildObject> {
    let output;
    try {
      output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (error) {
      if ((error as { name?: unknown }).name === 'NoSuchKey') throw new BuildObjectNotFoundError(objectKey);
      throw error;
    }
    const { Body: body, ContentLength: size } = output;
    // In Node the SDK returns an IncomingMessage (a Readable, hence async-iterable); anything else
    // means a browser or custom HTTP handler, which this Lambda-side adapter does not support.
    if (!isAsyncIterable(body)) throw new Error(`GetObject ${objectKey}: response body is not a stream`);
    if (size === undefined) throw new Error(`GetObject ${objectKey}: response has no Content-Length`);
    return { size, body, discard: () => (body as { destroy?: () => void }).destroy?.() };
  }
}

/** How long an upload URL stays valid: long enough for a slow 2 GiB upload to start, short enough not to linger. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
/** S3 refuses a single PUT larger than 5 GiB, so a URL for more could never be used. */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

/**
 * The flexible-checksum middleware (SDK >= 3.729, requestChecksumCalculation WHEN_SUPPORTED) puts
 * the CRC32 of the empty body it sees at presign time (x-amz-checksum-crc32=AAAAAA==) into the
 * URL, which S3-compatible stores then hold the real upload to. S3 documents presigned URLs as not
 * supporting these checksums, so they are removed before signing rather than depending on the
 * shared client's checksum setting.
 */
function isChecksumHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('x-amz-checksum-') || lower === 'x-amz-sdk-checksum-algorithm';
}

export class S3UploadUrls implements UploadUrlIssuer {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly clock: Clock,
  ) {}

  /**
   * A PUT URL for exactly `size` bytes: Content-Length is a signed header, so S3 refuses a body
   * of any other size (SignatureDoesNotMatch) and the size the admin API checked is the size stored.
   */
  async issue(objectKey: string, size: number): Promise<{ readonly url: string; readonly expiresAt: number }> {
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SINGLE_PUT_BYTES) {
      throw new RangeError(`upload size must be an integer between 0 and ${MAX_SINGLE_PUT_BYTES}`);
    }
    const now = this.clock.nowSeconds();
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, ContentLength: size });
    command.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        for (const name of Object.keys(request.headers ?? {})) if (isChecksumHeader(name)) delete request.headers![name];
        return next(args);
      },
      // 'build' runs after serialisation; low priority puts this after the checksum middleware in the same step.
      { step: 'build', priority: 'low', name: 'attestorDropPresignChecksums' },
    );
    // Signed at the injected clock's time, so the URL expires exactly at the expiresAt reported.
    const url = await getSignedUrl(this.client, command, {
      expiresIn: UPLOAD_URL_TTL_SECONDS,
      signingDate: new Date(now * 1000),
    });
    return { url, expiresAt: now + UPLOAD_URL_TTL_SECONDS };
  }
}
