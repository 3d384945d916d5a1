/**
 * Builds registered from the console's page. The browser streams the file to the local server,
 * which writes it to a private temporary file and then runs exactly what `attestor register` runs
 * (registerBuild: hash, presigned PUT or multipart, wait for the service), so the console cannot
 * register a build any differently from the CLI. The page follows the job's phases by polling.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { AdminClient, Registration } from '../admin-client';
import { load } from '../context';
import { CliError, oneLine } from '../errors';
import { MAX_BUILD_BYTES, registerBuild } from '../upload';

export type UploadPhase = 'hashing' | 'uploading' | 'registering' | 'registered' | 'failed';

export interface UploadJob {
  readonly jobId: string;
  readonly appId: string;
  readonly version: string;
  readonly size: number;
  phase: UploadPhase;
  /** Bytes handed to storage so far. */
  sent: number;
  parts?: number;
  registration?: Registration;
  alreadyRegistered?: boolean;
  error?: string;
}

export interface UploadParams {
  readonly appId: string;
  readonly version: string;
  readonly size: number;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
}

export type Refusal = { readonly status: number; readonly message: string; readonly field?: string };

export interface UploadJobsOptions {
  readonly client: AdminClient;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  readonly registerTimeoutMs?: number;
  readonly log: (line: string) => void;
}

/** Jobs kept for the page to read; older finished ones are forgotten. */
const KEEP_JOBS = 50;

export class UploadJobs {
  private readonly jobs = new Map<string, UploadJob>();
  private readonly temporary = new Set<string>();

  constructor(private readonly options: UploadJobsOptions) {}

  /**
   * Checks the upload's parameters with the service's own schema before a byte of the body is
   * read, so a bad version is refused at once rather than after a 2 GiB transfer.
   */
  check(appId: string, query: URLSearchParams, contentLength: string | undefined): UploadParams | Refusal {
    const schemas = load.schemas();
    if (!schemas.checkValue(schemas.appIdSchema, appId).success) return { status: 400, field: 'appId', message: 'the app id is not valid' };
    if (contentLength === undefined || !/^\d+$/.test(contentLength)) return { status: 411, message: 'the build must be sent with its length' };
    const expire = query.get('expireAfterSeconds');
    const note = query.get('note');
    const request = {
      version: query.get('version') ?? '',
      size: Number(contentLength),
      ...(expire !== null && expire !== '' ? { expireAfterSeconds: /^\d+$/.test(expire) ? Number(expire) : -1 } : {}),
      ...(note !== null && note !== '' ? { note } : {}),
    };
    const result = schemas.checkValue(schemas.uploadRequestSchema(MAX_BUILD_BYTES), request);
    if (!result.success) {
      const { field } = result;
      const message = `${field ? `${field} ` : ''}${result.message}`;
      return { status: request.size > MAX_BUILD_BYTES ? 413 : 400, ...(field ? { field } : {}), message };
    }
    return { appId, ...request };
  }

  /** Receives the body into a private temporary file, then starts the registration and returns its job. */
  async receive(request: IncomingMessage, params: UploadParams): Promise<UploadJob> {
    // mkdtemp makes the directory 0700: other users of the machine cannot read the build meanwhile.
    const dir = await mkdtemp(join(tmpdir(), 'attestor-console-'));
    this.temporary.add(dir);
    const path = join(dir, 'build');
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        done(received > params.size ? new CliError('the browser sent more bytes than it announced') : null, chunk);
      },
    });
    try {
      await pipeline(request, counter, createWriteStream(path, { mode: 0o600 }));
      if (received !== params.size) throw new CliError(`the browser sent ${received} of ${params.size} bytes: choose the file again`);
    } catch (error) {
      await this.discard(dir);
      throw error instanceof CliError ? error : new CliError('the upload from the browser broke off: choose the file again');
    }
    const jobId = randomBytes(12).toString('base64url');
    const job: UploadJob = { jobId, appId: params.appId, version: params.version, size: params.size, phase: 'hashing', sent: 0 };
    this.remember(job);
    this.options.log(`registering ${params.appId} ${params.version} (${params.size} bytes) from the browser`);
    void this.run(job, params, { path, size: params.size }).finally(() => this.discard(dir));
    return job;
  }

  get(jobId: string): UploadJob | undefined {
    return this.jobs.get(jobId);
  }

  /** Removes every temporary file still there (the console is stopping). */
  async close(): Promise<void> {
    await Promise.all([...this.temporary].map((dir) => this.discard(dir)));
  }

  private async run(job: UploadJob, params: UploadParams, file: { path: string; size: number }): Promise<void> {
    try {
      const result = await registerBuild({
        client: this.options.client,
        appId: params.appId,
        version: params.version,
        file,
        ...(params.expireAfterSeconds !== undefined ? { expireAfterSeconds: params.expireAfterSeconds } : {}),
        ...(params.note !== undefined ? { note: params.note } : {}),
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
        ...(this.options.signal ? { signal: this.options.signal } : {}),
        ...(this.options.registerTimeoutMs !== undefined ? { timeoutMs: this.options.registerTimeoutMs } : {}),
        onUploadStart: (_file, parts) => {
          job.phase = 'uploading';
          job.parts = parts;
        },
        onProgress: (sent) => {
          job.sent = sent;
        },
        onUploadDone: () => {
          job.phase = 'registering';
        },
      });
      job.registration = result.registration;
      job.alreadyRegistered = result.alreadyRegistered;
      job.sent = params.size;
      job.phase = 'registered';
      this.options.log(`registered ${params.appId} ${params.version}${result.alreadyRegistered ? ' (already registered with this build)' : ''}`);
    } catch (error) {
      job.phase = 'failed';
      job.error = error instanceof CliError ? oneLine(error.message) : 'unexpected failure; see the terminal running `attestor console`';
      this.options.log(`registering ${params.appId} ${params.version} failed: ${error instanceof CliError ? job.error : String(error)}`);
    }
  }

  private remember(job: UploadJob): void {
    this.jobs.set(job.jobId, job);
    for (const [id, old] of this.jobs) {
      if (this.jobs.size <= KEEP_JOBS) break;
      if (old.phase === 'registered' || old.phase === 'failed') this.jobs.delete(id);
    }
  }

  private async discard(dir: string): Promise<void> {
    this.temporary.delete(dir);
    await rm(dir, { recursive: true, force: true });
  }
}
