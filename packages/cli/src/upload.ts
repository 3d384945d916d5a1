/**
 * `attestor register`: ask the admin API for an upload URL, stream the build to it from disk, then
 * wait for the service to hash it and settle the upload. The file is never read whole, so a 2 GiB
 * build costs the same memory as a 2 KiB one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { DEFAULT_MAX_BUILD_BYTES } from '@attestor/contracts/admin-api';
import type { AdminClient, Registration, UploadState, UploadTicket } from './admin-client';
import { CliError, HttpStatusError } from './errors';
import { putParts, type PartTarget } from './multipart';
import { InterruptedError, putFile, type BuildFile } from './transfer';

export { putFile } from './transfer';

/** The service's default limit; a deployment with a lower one still refuses with its own message. */
export const MAX_BUILD_BYTES = DEFAULT_MAX_BUILD_BYTES;

export type { BuildFile } from './transfer';

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

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const sleepReal = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What Ctrl-C once the upload was complete leaves: the service registers it or not, without the CLI. */
const MAY_BE_REGISTERED = 'interrupted while waiting; the upload may still be registered: see `attestor registrations list`';

/** Polls the upload until the service settles it, backing off from 250 ms to 3 s. */
export async function waitForSettled(
  client: AdminClient,
  uploadId: string,
  options: WaitOptions & { readonly signal?: AbortSignal } = {},
): Promise<UploadState> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const sleep = options.sleep ?? sleepReal;
  const now = options.now ?? Date.now;
  const deadline = now() + timeoutMs;
  let delay = 250;
  for (;;) {
    if (options.signal?.aborted) throw new InterruptedError(MAY_BE_REGISTERED);
    let state: UploadState;
    try {
      state = await client.getUpload(uploadId);
    } catch (error) {
      // Ctrl-C during a poll (or in the sleep before it) ends that request: the upload is complete all the same.
      if (error instanceof InterruptedError || options.signal?.aborted) throw new InterruptedError(MAY_BE_REGISTERED);
      throw error;
    }
    if (state.status !== 'pending') return state;
    const left = deadline - now();
    if (left <= 0) {
      throw new CliError(
        `the service has not registered upload ${uploadId} after ${Math.round(timeoutMs / 1000)} s: check the service logs (the register function), ` +
          `then run the command again`,
      );
    }
    if (options.signal?.aborted) throw new InterruptedError(MAY_BE_REGISTERED);
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
  size_mismatch: 'the stored build differs in size from the file; check that nothing else writes to the upload, then run the command again',
  app_removed: 'the app was removed while the build was uploading; create it again or check with `attestor apps list`',
  object_missing: 'the uploaded build was deleted before the service could hash it; run the command again',
};

export interface RegisterBuildOptions extends WaitOptions {
  readonly client: AdminClient;
  readonly appId: string;
  readonly version: string;
  readonly file: BuildFile;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
  readonly fetch?: typeof fetch;
  readonly signal?: AbortSignal;
  /** Parts of a multipart upload in flight at once. @default 4 */
  readonly concurrency?: number;
  /** `parts` is 1 for a single PUT. */
  readonly onUploadStart?: (file: BuildFile, parts: number) => void;
  readonly onProgress?: (sentBytes: number) => void;
  readonly onUploadDone?: () => void;
  /** The build's own SHA-256 is computed before anything is sent (about 1.5 GB/s). */
  readonly onHashStart?: (file: BuildFile) => void;
  readonly onHashProgress?: (hashedBytes: number) => void;
  readonly onHashDone?: () => void;
  /** The upload is complete; the service hashes and registers it now. Not called when the version was already registered with this build. */
  readonly onWaitStart?: () => void;
}

export interface RegisterBuildResult {
  readonly registration: Registration;
  /** The version was registered by an earlier upload of the same build; nothing changed. */
  readonly alreadyRegistered: boolean;
}

/** Hashes and uploads the build: the registration, if this very build already is; else the ticket to wait on. */
async function upload(options: RegisterBuildOptions): Promise<{ readonly ticket: UploadTicket; readonly sha256: string } | RegisterBuildResult> {
  const { client, file } = options;
  // The build's own digest first: a version that is already registered needs no upload, either
  // because it is this very build (nothing to do) or because it is another one (the service would
  // refuse it after the whole upload).
  options.onHashStart?.(file);
  const sha256 = await hashFile(file, options.signal, options.onHashProgress);
  options.onHashDone?.();
  const existing = await registeredVersion(client, options.appId, options.version);
  if (existing) {
    if (existing.sha256 === sha256 && existing.size === file.size) return { registration: existing, alreadyRegistered: true };
    throw new CliError(
      `${options.appId} ${options.version} is already registered with a different build (sha256 ${existing.sha256.slice(0, 12)}…): give the new build ` +
        `a new version`,
    );
  }

  const ticket = await client.createUpload(options.appId, {
    version: options.version,
    size: file.size,
    ...(options.expireAfterSeconds !== undefined ? { expireAfterSeconds: options.expireAfterSeconds } : {}),
    ...(options.note !== undefined ? { note: options.note } : {}),
  });
  const multipart = ticket.multipart;
  options.onUploadStart?.(file, multipart ? multipart.parts.length : 1);
  const transfer = {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  if (multipart) {
    const parts = await putParts({
      path: file.path,
      fileSize: file.size,
      parts: partTargets(multipart, file.size),
      ...transfer,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    });
    try {
      await client.completeUpload(ticket.uploadId, parts);
    } catch (error) {
      // The request may have reached the service, which then assembles and registers the build.
      if (error instanceof InterruptedError) throw new InterruptedError(MAY_BE_REGISTERED);
      throw error;
    }
  } else if (ticket.uploadUrl) {
    await putFile({ url: ticket.uploadUrl, file, ...transfer });
  }
  options.onUploadDone?.();
  return { ticket, sha256 };
}

/** What Ctrl-C before the upload finished leaves: nothing (an unfinished upload registers nothing; its ticket expires). */
export const NOTHING_REGISTERED = 'interrupted before the upload finished: nothing was registered';

export async function registerBuild(options: RegisterBuildOptions): Promise<RegisterBuildResult> {
  const { client, file } = options;
  let uploaded: { readonly ticket: UploadTicket; readonly sha256: string } | RegisterBuildResult;
  try {
    uploaded = await upload(options);
  } catch (error) {
    // Ctrl-C anywhere before the upload was complete (hashing, asking for the upload URL, sending the bytes).
    const ambiguous = error instanceof InterruptedError && error.message === MAY_BE_REGISTERED;
    if (!ambiguous && (error instanceof InterruptedError || options.signal?.aborted)) throw new InterruptedError(NOTHING_REGISTERED);
    throw error;
  }
  if ('registration' in uploaded) return uploaded;
  const { ticket, sha256 } = uploaded;
  options.onWaitStart?.();
  const state = await waitForSettled(client, ticket.uploadId, options);
  if (state.status === 'rejected') {
    const reason = state.reason ?? 'unknown';
    const hint = REJECTION_HINTS[reason] ?? 'see the service logs';
    throw new CliError(`the service rejected ${options.appId} ${options.version} (${reason}): ${hint}`);
  }
  const registration = state.registration;
  if (!registration) throw new CliError(`upload ${ticket.uploadId} is registered but the service returned no registration: run the command again`);
  if (registration.sha256 !== sha256) {
    // Storage or the register function saw other bytes than this file holds (or another upload of
    // this version won a race): the registration does not describe this build.
    throw new CliError(
      `${options.appId} ${options.version} is registered with sha256 ${registration.sha256}, but ${file.path} has ${sha256}: check the file and ` +
        `\`attestor registrations list --app ${options.appId}\``,
    );
  }
  return { registration, alreadyRegistered: registeredEarlier(registration, ticket, state) };
}

/** SHA-256 of the file as a stream (about 1.5 GB/s): the same digest the register function computes. */
export async function hashFile(file: BuildFile, signal?: AbortSignal, onProgress?: (hashedBytes: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let hashed = 0;
  try {
    for await (const chunk of createReadStream(file.path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) })) {
      hash.update(chunk as Buffer);
      hashed += (chunk as Buffer).length;
      onProgress?.(hashed);
    }
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError();
    throw new CliError(`${file.path}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  return hash.digest('hex');
}

/** The registration of this version, if the app exists in the caller's tenant and has one. */
async function registeredVersion(client: AdminClient, appId: string, version: string): Promise<Registration | undefined> {
  try {
    return (await client.listRegistrations(appId)).find((r) => r.version === version);
  } catch (error) {
    // A new app (or one of another tenant, which the upload request will refuse with its reason).
    if (error instanceof HttpStatusError && error.status === 404) return undefined;
    throw error;
  }
}

/**
 * Was the registration made by an earlier upload of the same build? The service answers with the
 * stored registration either way; one made for this upload cannot predate the upload itself.
 */
function registeredEarlier(registration: Registration, ticket: UploadTicket, state: UploadState): boolean {
  if (registration.objectKey !== undefined) return registration.objectKey !== ticket.objectKey;
  return state.createdAt !== undefined && registration.registeredAt < state.createdAt;
}

/**
 * The byte range of each part (docs/ADMIN_API.md §4): part n is [(n-1)·partSize, min(n·partSize, size)).
 * Checked here, because a service that disagrees with the file about the parts would otherwise get
 * a silently wrong object.
 */
export function partTargets(multipart: NonNullable<UploadTicket['multipart']>, size: number): PartTarget[] {
  const { partSize, parts } = multipart;
  const expected = Math.ceil(size / partSize);
  if (!(partSize > 0) || parts.length !== expected || parts.some((p, i) => p.partNumber !== i + 1 || typeof p.url !== 'string')) {
    throw new CliError(
      `the service issued ${parts.length} upload parts of ${partSize} bytes for a ${size}-byte build: is --endpoint an Attestor service of this version?`,
    );
  }
  return parts.map((p, i) => ({ partNumber: p.partNumber, url: p.url, start: i * partSize, size: Math.min(partSize, size - i * partSize) }));
}
