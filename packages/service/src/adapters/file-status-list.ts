/**
 * The local cloud's copy of Google's attestation status list: a file the operator (or a test) puts
 * in place, in the list's own JSON format (`curl -o status.json https://android.googleapis.com/attestation/status`).
 * Read as attest reads the S3 copy in AWS: cached, never fetched from the internet.
 */
import { readFile, stat } from 'node:fs/promises';
import { MAX_STATUS_LIST_BYTES, type StatusListSource } from '../core/hardware/revocation';

export class FileStatusList implements StatusListSource {
  readonly location: string;

  constructor(private readonly path: string) {
    this.location = path;
  }

  async read(): Promise<string | undefined> {
    try {
      const { size } = await stat(this.path);
      if (size > MAX_STATUS_LIST_BYTES) throw new Error(`${this.path} is ${size} bytes, more than ${MAX_STATUS_LIST_BYTES}`);
      return await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
