/**
 * The local cloud's RegisterFailures queue: where an S3 event lands once the register function has
 * failed on it three times (as Lambda's on-failure destination sends it to SQS in AWS), in the same
 * record format (service adapters/register-failure-record.ts), so `attestor registrations failures`
 * works against `npm start` as against AWS. Kept in a file in the data directory, so failures
 * survive a restart as the queue's messages do.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { S3Event } from 'aws-lambda';
import type { RegisterFailure, RegisterFailureQueue } from '@attestor/service/core/ports';
import { destinationRecord, failureFromRecord } from '@attestor/service/adapters/register-failure-record';

export const REGISTER_FAILURES_FILE = 'register-failures.json';

interface StoredFailure {
  readonly id: string;
  /** The destination record, as SQS would hold it as a message body. */
  readonly body: string;
}

export class LocalRegisterFailures implements RegisterFailureQueue {
  private failures: StoredFailure[];

  constructor(
    private readonly file: string,
    /** Hands an event to the register function again, as an asynchronous invocation would: not awaited. */
    private readonly redeliver: (event: S3Event) => void,
  ) {
    this.failures = existsSync(file) ? readStored(file) : [];
  }

  /** Called by the local cloud when the register function gave up on an event. */
  record(event: S3Event, error: unknown, attempts: number): void {
    const id = randomUUID();
    this.failures.push({ id, body: JSON.stringify(destinationRecord(event, error, attempts, new Date(), id)) });
    this.persist();
  }

  async list(limit: number): Promise<RegisterFailure[]> {
    return this.failures.slice(0, limit).flatMap(({ id, body }) => {
      const parsed = failureFromRecord(id, body);
      return parsed ? [parsed.failure] : [];
    });
  }

  async retry(ids: readonly string[] | undefined, limit: number): Promise<string[]> {
    const taken = this.take(ids, limit);
    for (const { id, body } of taken) {
      const parsed = failureFromRecord(id, body);
      if (parsed) this.redeliver(parsed.event);
    }
    return taken.map((f) => f.id);
  }

  async clear(ids: readonly string[] | undefined, limit: number): Promise<string[]> {
    return this.take(ids, limit).map((f) => f.id);
  }

  /** Writes the queue to its file (again: restoreDataDir calls this when the data directory was deleted). */
  persist(): void {
    writeFileSync(`${this.file}.tmp`, `${JSON.stringify({ failures: this.failures }, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
  }

  private take(ids: readonly string[] | undefined, limit: number): StoredFailure[] {
    const wanted = ids === undefined ? undefined : new Set(ids);
    const taken = this.failures.filter((f) => wanted === undefined || wanted.has(f.id)).slice(0, limit);
    if (taken.length === 0) return taken;
    this.failures = this.failures.filter((f) => !taken.includes(f));
    this.persist();
    return taken;
  }
}

function readStored(file: string): StoredFailure[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { failures?: unknown };
    return Array.isArray(parsed.failures)
      ? parsed.failures.filter((f): f is StoredFailure => typeof f?.id === 'string' && typeof f?.body === 'string')
      : [];
  } catch {
    // A file that does not parse holds nothing the queue can use; it is rewritten on the next failure.
    return [];
  }
}
