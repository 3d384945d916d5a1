/**
 * The stored copy of Google's attestation status list as an S3 object (REVOCATION_LIST_OBJECT_KEY
 * in the builds bucket, outside builds/ so that it triggers no registration): the revocation
 * function writes it, attest reads it (core/hardware/revocation.ts caches it for an hour).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { REVOCATION_LIST_OBJECT_KEY } from '@attestor/contracts/tables';
import { MAX_STATUS_LIST_BYTES, type StatusListSource } from '../core/hardware/revocation';
import type { StatusListStore } from '../core/hardware/status-refresh';

export class S3StatusList implements StatusListSource, StatusListStore {
  readonly location: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string = REVOCATION_LIST_OBJECT_KEY,
  ) {
    this.location = `s3://${bucket}/${key}`;
  }

  async read(): Promise<string | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key }));
      if (object.ContentLength !== undefined && object.ContentLength > MAX_STATUS_LIST_BYTES) {
        object.Body?.transformToWebStream()
          .cancel()
          .catch(() => undefined);
        throw new Error(`${this.location} is ${object.ContentLength} bytes, more than ${MAX_STATUS_LIST_BYTES}`);
      }
      return (await object.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      // Before the function's first run there is no copy: a state, not a failure.
      if ((error as { name?: unknown } | null)?.name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async write(text: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: text, ContentType: 'application/json' }));
  }
}
