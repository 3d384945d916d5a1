/**
 * Builds in S3, write side: the admin API hands the CLI presigned URLs to upload a build into the
 * bucket (one PUT, or a multipart upload), and completes multipart uploads.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MultipartRejectedError, type Clock, type CompletedPart, type MultipartUploadTicket, type UploadUrlIssuer } from '../core/ports';
import { MAX_UPLOAD_PARTS } from '../core/registration';

/** How long an upload URL stays valid: long enough for a slow 2 GiB upload to start, short enough not to linger. */
export const UPLOAD_URL_TTL_SECONDS = 15 * 60;
/**
 * Part URLs are each used when that part's turn comes, the last one late in a slow upload; S3
 * checks expiry when a request starts, so an hour covers 2 GiB at about 600 KB/s.
 */
export const PART_URL_TTL_SECONDS = 60 * 60;
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
    // Signed at the injected clock's time, so the URL expires exactly at the expiresAt reported.
    const url = await getSignedUrl(this.client, withoutPresignChecksums(command), {
      expiresIn: UPLOAD_URL_TTL_SECONDS,
      signingDate: new Date(now * 1000),
    });
    return { url, expiresAt: now + UPLOAD_URL_TTL_SECONDS };
  }

  /**
   * CreateMultipartUpload now, then one presigned UploadPart URL per part, each for exactly that
   * part's length (signed Content-Length, as for single PUTs), so the parts can only add up to `size`.
   */
  async issueMultipart(objectKey: string, size: number, partSize: number): Promise<MultipartUploadTicket> {
    const count = Math.ceil(size / partSize);
    if (!Number.isSafeInteger(size) || size <= 0 || !Number.isSafeInteger(partSize) || partSize < MIN_PART_BYTES || count > MAX_UPLOAD_PARTS) {
      throw new RangeError(`multipart upload of ${size} bytes in parts of ${partSize} is outside S3's limits`);
    }
    const now = this.clock.nowSeconds();
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey }));
    const multipartUploadId = created.UploadId;
    if (!multipartUploadId) throw new Error(`CreateMultipartUpload ${objectKey} returned no UploadId`);
    const parts = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const partNumber = i + 1;
        const length = Math.min(partSize, size - i * partSize);
        const command = new UploadPartCommand({
          Bucket: this.bucket,
          Key: objectKey,
          UploadId: multipartUploadId,
          PartNumber: partNumber,
          ContentLength: length,
        });
        const url = await getSignedUrl(this.client, withoutPresignChecksums(command), { expiresIn: PART_URL_TTL_SECONDS, signingDate: new Date(now * 1000) });
        return { partNumber, url };
      }),
    );
    return { multipartUploadId, parts, expiresAt: now + PART_URL_TTL_SECONDS };
  }

  async completeMultipart(objectKey: string, multipartUploadId: string, parts: readonly CompletedPart[]): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: objectKey,
          UploadId: multipartUploadId,
          // S3 wants the ETags quoted, as it returned them; accept them either way.
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag.replace(/^"|"$/g, '')}"` })) },
        }),
      );
    } catch (error) {
      const name = (error as { name?: unknown }).name;
      if (name === 'NoSuchUpload') throw new MultipartRejectedError('the multipart upload no longer exists (completed, aborted or expired)', true);
      if (typeof name === 'string' && MULTIPART_CLIENT_ERRORS.has(name)) {
        throw new MultipartRejectedError(`S3 refused the parts: ${name}: ${(error as Error).message}`, false);
      }
      throw error;
    }
  }
}

/** S3's floor for every part but the last. */
const MIN_PART_BYTES = 5 * 1024 ** 2;
/** CompleteMultipartUpload errors caused by the parts the client listed, not by the service. */
const MULTIPART_CLIENT_ERRORS = new Set(['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'InvalidRequest', 'MalformedXML']);

/** See isChecksumHeader: strips flexible-checksum headers from a command before it is presigned. */
function withoutPresignChecksums<T extends PutObjectCommand | UploadPartCommand>(command: T): T {
  // Both commands' stacks take the same build-step middleware; the union's overloads do not unify.
  (command.middlewareStack as PutObjectCommand['middlewareStack']).add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      for (const name of Object.keys(request.headers ?? {})) if (isChecksumHeader(name)) delete request.headers![name];
      return next(args);
    },
    // 'build' runs after serialisation; low priority puts this after the checksum middleware in the same step.
    { step: 'build', priority: 'low', name: 'attestorDropPresignChecksums' },
  );
  return command;
}
