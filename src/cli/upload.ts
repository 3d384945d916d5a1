/**
 * `attestor register`: ask the admin API for an upload URL, stream the build to it from disk, then
 * wait for the service to hash it and settle the upload. The file is never read whole, so a 2 GiB
 * build costs the same memory as a 2 KiB one.
 */
import { createReadStream, statSync } from 'node:fs';
import { DEFAULT_MAX_BUILD_BYTES } from '../core/registration';
import type { AdminClient, Registration, UploadState } from './admin-client';
import { CliError, HttpStatusError, oneLine } from './errors';

/** The service's default limit; a deployment with a lower one still refuses with its own message. */
export const MAX_BUILD_BYTES = DEFAULT_MAX_BUILD_BYTES;
const CHUNK_BYTES = 1024 * 1024;

export interface BuildFile {
  readonly path: string;
  readonly size: number;
}

/** Checks the file before anything is sent: it exists, is a regular file, is not empty, is not too large. */
export function checkBuildFile(path: string, maxBytes = MAX_BUILD_BYTES): BuildFile {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${path}: no such file`);
    if (code === 'EACCES') throw new CliError(`${path}: permission denied`);
    throw new CliError(`${path}: cannot read (${code ?? 'unknown error'})`);
  }
  if (stats.isDirectory()) throw new CliError(`${path} is a directory: pass the build file (.apk, .aab, .ipa)`);
  if (!stats.isFile()) throw new CliError(`${path} is not a regular file`);
  if (stats.size === 0) throw new CliError(`${path} is empty: empty builds cannot be registered`);
  if (stats.size > maxBytes) throw new CliError(`${path} is ${stats.size} bytes; builds may be at most ${maxBytes} bytes`);
  return { path, size: stats.size };
}

export interface PutFileOptions {
  readonly url: string;
  readonly file: BuildFile;
  readonly fetch?: typeof fetch;
  /** Called with the total bytes handed to the connection so far. */
  readonly onProgress?: (sentBytes: number) => void;
}

/**
 * PUTs the file to a presigned URL as a stream. The content-length is set explicitly: a presigned
 * S3 PUT must not be chunked (S3 answers 411 without a length), and the URL may be signed for it.
 */
export async function putFile(options: PutFileOptions): Promise<void> {
  const { file } = options;
  const source = createReadStream(file.path, { highWaterMark: CHUNK_BYTES });
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let sent = 0;
  let changed = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await chunks.next();
      if (done) {
        if (sent !== file.size) changed = true;
        if (changed) controller.error(new Error('size changed'));
        else controller.close();
        return;
      }
      sent += value.length;
      if (sent > file.size) {
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
    headers: { 'content-length': String(file.size), 'content-type': 'application/octet-stream' },
    body,
    duplex: 'half',
    // With redirects followed, Node's fetch keeps every chunk sent so it could replay the body
    // (nodejs/undici#4058): a 2 GiB build would cost 2 GiB of memory. Storage never redirects a
    // presigned PUT anyway.
    redirect: 'error',
  };
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(options.url, init);
  } catch (error) {
    if (changed) throw new CliError(`${file.path} changed while it was being uploaded: upload it again once it is complete`);
    const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
    const origin = new URL(options.url).origin;
    if (typeof cause?.message === 'string' && /redirect/i.test(cause.message)) {
      throw new CliError(`upload to ${origin} was redirected: the service issued an upload URL for the wrong storage endpoint; check its configuration`);
    }
    throw new CliError(`upload to ${origin} failed${typeof cause?.code === 'string' ? ` (${cause.code})` : ''}: check your network and run the command again`);
  } finally {
    source.destroy();
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    // S3 errors are XML: <Error><Code>..</Code><Message>..</Message></Error>.
    const code = text.match(/<Code>([^<]*)<\/Code>/)?.[1];
    const message = text.match(/<Message>([^<]*)<\/Message>/)?.[1];
    const detail = [code, message].filter(Boolean).join(': ') || `HTTP ${response.status}`;
    const hint = code === 'AccessDenied' || code === 'SignatureDoesNotMatch' || response.status === 403 ? 'the upload URL may have expired; run the command again' : 'run the command again';
    throw new HttpStatusError(`upload refused by storage (${response.status} ${oneLine(detail).slice(0, 200)}): ${hint}`, response.status);
  }
  await response.arrayBuffer().catch(() => undefined);
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls the upload until the service settles it, backing off from 250 ms to 3 s. */
export async function waitForSettled(client: AdminClient, uploadId: string, options: WaitOptions = {}): Promise<UploadState> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const sleep = options.sleep ?? sleepReal;
  const now = options.now ?? Date.now;
  const deadline = now() + timeoutMs;
  let delay = 250;
  for (;;) {
    const state = await client.getUpload(uploadId);
    if (state.status !== 'pending') return state;
    const left = deadline - now();
    if (left <= 0) {
      throw new CliError(
        `the service has not registered upload ${uploadId} after ${Math.round(timeoutMs / 1000)} s: check the service logs (the register function), then run the command again`,
      );
    }
    await sleep(Math.min(delay, left));
    delay = Math.min(Math.round(delay * 1.5), 3000);
  }
}

/** What the operator can do about each rejection reason the register function records. */
const REJECTION_HINTS: Readonly<Record<string, string>> = {
  version_conflict: 'this version is already registered with a different build; give the new build a new version',
  empty_build: 'the stored build is empty; upload the complete file',
  too_large: 'the build is larger than the service allows',
  truncated_read: 'the service could not read the whole build; run the command again',
  unknown_upload: 'the service has no record of this upload; run the command again',
};

export interface RegisterBuildOptions extends WaitOptions {
  readonly client: AdminClient;
  readonly appId: string;
  readonly version: string;
  readonly file: BuildFile;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
  readonly fetch?: typeof fetch;
  readonly onUploadStart?: (file: BuildFile) => void;
  readonly onProgress?: (sentBytes: number) => void;
  readonly onUploadDone?: () => void;
}

export interface RegisterBuildResult {
  readonly registration: Registration;
  /** The version was registered by an earlier upload of the same build; nothing changed. */
  readonly alreadyRegistered: boolean;
}

export async function registerBuild(options: RegisterBuildOptions): Promise<RegisterBuildResult> {
  const { client, file } = options;
  const ticket = await client.createUpload(options.appId, {
    version: options.version,
    size: file.size,
    ...(options.expireAfterSeconds !== undefined ? { expireAfterSeconds: options.expireAfterSeconds } : {}),
    ...(options.note !== undefined ? { note: options.note } : {}),
  });
  options.onUploadStart?.(file);
  await putFile({
    url: ticket.uploadUrl,
    file,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  options.onUploadDone?.();

  const state = await waitForSettled(client, ticket.uploadId, options);
  if (state.status === 'rejected') {
    const reason = state.reason ?? 'unknown';
    const hint = REJECTION_HINTS[reason] ?? 'see the service logs';
    throw new CliError(`the service rejected ${options.appId} ${options.version} (${reason}): ${hint}`);
  }
  const registration = state.registration;
  if (!registration) throw new CliError(`upload ${ticket.uploadId} is registered but the service returned no registration: run the command again`);
  return { registration, alreadyRegistered: registration.objectKey !== ticket.objectKey };
}
