/** Crash-safe file writes for the local KMS's data directory. */
import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

/** Write to a temporary file, flush it, rename over the target: readers see old or new, never half. */
export async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    // 0600: key files hold private key material.
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Leftovers of a write interrupted before its rename; the previous file is still intact. */
export const isInterruptedWrite = (name: string): boolean => name.endsWith('.tmp');

/**
 * Serializes writes per file. Each write serializes the state current when it runs, so the file
 * converges to the latest state even when changes race.
 */
export class WriteQueue {
  private readonly writes = new Map<string, Promise<void>>();

  enqueue(path: string, write: () => Promise<void>): Promise<void> {
    const next = (this.writes.get(path) ?? Promise.resolve()).catch(() => undefined).then(write);
    this.writes.set(path, next);
    void next
      .finally(() => {
        if (this.writes.get(path) === next) this.writes.delete(path);
      })
      .catch(() => undefined);
    return next;
  }

  /** Resolves once every queued write has finished. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }
}

export interface StoredAlias {
  readonly name: string;
  readonly targetKeyId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export function parseAliasFile(text: string, path: string): StoredAlias[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`kms-server: ${path} is not valid JSON`);
  }
  const valid = (a: unknown): a is StoredAlias => {
    const x = a as Partial<StoredAlias> | null;
    return (
      typeof x === 'object' &&
      x !== null &&
      typeof x.name === 'string' &&
      typeof x.targetKeyId === 'string' &&
      typeof x.createdAt === 'number' &&
      typeof x.updatedAt === 'number'
    );
  };
  if (!Array.isArray(value) || !value.every(valid)) throw new Error(`kms-server: ${path} is not a valid alias file`);
  return value;
}
