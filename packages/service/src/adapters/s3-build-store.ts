/**
 * Builds in S3, read side: the register function streams an uploaded build out of the bucket.
 * Kept apart from the presigned uploads (./s3-upload-urls.ts, admin only) so that the register
 * function does not bundle them or load the S3 request presigner.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BuildObject, BuildStore } from '../core/ports';
import { BuildObjectMissingError } from '../core/registration';

/** The object a register event names is not in the bucket (deleted, or the event is stale). */
export class BuildObjectNotFoundError extends BuildObjectMissingError {
  override readonly name = 'BuildObjectNotFoundError';
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
   *
   * One stream rather than parallel ranged GETs: measured on the local cloud (bench/register.bench.ts),
   * four 8 MiB ranges in flight raised the peak memory of a 1 GiB registration from about 115 MiB
   * to about 150 MiB, over the 128 MiB budget, without hashing any faster.
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
