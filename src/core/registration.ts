/**
 * Registering builds: an upload lands in S3 under a key that names app, version and upload, the
 * register function hashes it as a stream and records the digest attestations are checked against.
 */
import { createHash } from 'node:crypto';
import type { BuildStore, Clock, RegistrationRecord, Registry } from './ports';
import { APP_ID_PATTERN, VERSION_PATTERN } from './validation';

export const BUILD_KEY_PREFIX = 'builds/';
export const DEFAULT_MAX_BUILD_BYTES = 2 * 1024 ** 3;
const UPLOAD_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

export interface BuildKey {
  readonly appId: string;
  readonly version: string;
  readonly uploadId: string;
}

/** builds/<appId>/<version>/<uploadId>: every part is restricted to characters S3 keys need not escape. */
export function buildObjectKey(key: BuildKey): string {
  return `${BUILD_KEY_PREFIX}${key.appId}/${key.version}/${key.uploadId}`;
}

export function parseBuildObjectKey(objectKey: string): BuildKey | undefined {
  if (!objectKey.startsWith(BUILD_KEY_PREFIX)) return undefined;
  const parts = objectKey.slice(BUILD_KEY_PREFIX.length).split('/');
  if (parts.length !== 3) return undefined;
  const [appId, version, uploadId] = parts as [string, string, string];
  if (appId.length > 255 || !APP_ID_PATTERN.test(appId)) return undefined;
  if (version.length > 64 || !VERSION_PATTERN.test(version)) return undefined;
  if (!UPLOAD_ID_PATTERN.test(uploadId)) return undefined;
  return { appId, version, uploadId };
}

export interface RegistrationDeps {
  readonly registry: Registry;
  readonly builds: BuildStore;
  readonly clock: Clock;
  readonly maxBuildBytes: number;
}

export type RegisterOutcome =
  | { readonly status: 'registered'; readonly registration: RegistrationRecord }
  | { readonly status: 'rejected'; readonly reason: string }
  | { readonly status: 'unchanged'; readonly reason: string };

/** SHA-256 of a stream, chunk by chunk, so memory stays flat whatever the build's size. */
export async function hashStream(body: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Handles one S3 ObjectCreated record. S3 delivers at least once, so everything here is idempotent:
 * a settled upload is left alone and a registration, once written, is never overwritten.
 */
export async function registerBuild(deps: RegistrationDeps, objectKey: string): Promise<RegisterOutcome> {
  const key = parseBuildObjectKey(objectKey);
  if (!key) return { status: 'rejected', reason: 'unknown_key' };
  const upload = await deps.registry.getUpload(key.uploadId);
  if (!upload || upload.objectKey !== objectKey) return { status: 'rejected', reason: 'unknown_upload' };
  if (upload.status !== 'pending') return { status: 'unchanged', reason: `upload already ${upload.status}` };

  const reject = async (reason: string): Promise<RegisterOutcome> => {
    await deps.registry.settleUpload(key.uploadId, { status: 'rejected', reason });
    return { status: 'rejected', reason };
  };
  const object = await deps.builds.open(objectKey);
  if (object.size === 0 || object.size > deps.maxBuildBytes) {
    object.discard();
    return reject(object.size === 0 ? 'empty_build' : 'too_large');
  }
  const { sha256, size } = await hashStream(object.body);
  if (size !== object.size) return reject('truncated_read');

  const now = deps.clock.nowSeconds();
  const stored = await deps.registry.putRegistrationIfAbsent({
    appId: key.appId,
    version: key.version,
    sha256,
    size,
    objectKey,
    registeredAt: now,
    ...(upload.expireAfterSeconds !== undefined ? { expiresAt: now + upload.expireAfterSeconds } : {}),
    ...(upload.note !== undefined ? { note: upload.note } : {}),
  });
  if (stored.sha256 !== sha256) return reject('version_conflict');
  await deps.registry.settleUpload(key.uploadId, { status: 'registered', sha256, size });
  return { status: 'registered', registration: stored };
}
