/**
 * Request members, checked the way KMS checks them. Every operation parses its whole input before
 * it looks up a key, so a malformed request fails the same way whatever state the keys are in.
 */
import { KmsError, typeError, validationError } from './errors';

export type Input = Readonly<Record<string, unknown>>;
export type Output = Record<string, unknown>;
export type EncryptionContext = Readonly<Record<string, string>>;

export function optString(input: Input, name: string, min = 1, max = 2048): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw typeError(name, 'a string');
  if (value.length < min) throw validationError(name, value, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw validationError(name, value, `Member must have length less than or equal to ${max}`);
  return value;
}

export function reqString(input: Input, name: string, min = 1, max = 2048): string {
  const value = optString(input, name, min, max);
  if (value === undefined) throw validationError(name, null, 'Member must not be null');
  return value;
}

export function optEnum<T extends string>(input: Input, name: string, allowed: readonly T[]): T | undefined {
  const value = optString(input, name, 1, 256);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw validationError(name, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  return value as T;
}

export function reqEnum<T extends string>(input: Input, name: string, allowed: readonly T[]): T {
  const value = optEnum(input, name, allowed);
  if (value === undefined) throw validationError(name, null, 'Member must not be null');
  return value;
}

export function optInteger(input: Input, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(name, 'an integer');
  if (value < min) throw validationError(name, value, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw validationError(name, value, `Member must have value less than or equal to ${max}`);
  return value;
}

export function optBoolean(input: Input, name: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw typeError(name, 'a boolean');
  return value;
}

function optStringList(input: Input, name: string, maxItems: number): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) throw typeError(name, 'a list of strings');
  if (value.length > maxItems) throw validationError(name, `[${value.length} items]`, `Member must have length less than or equal to ${maxItems}`);
  return value;
}

/** Grant tokens are accepted for compatibility; grants do not exist locally. */
export const acceptGrantTokens = (input: Input): void => void optStringList(input, 'GrantTokens', 10);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Blob members travel as base64 in JSON protocols. */
export function reqBlob(input: Input, name: string, max: number): Buffer {
  const value = input[name];
  if (value === undefined || value === null) throw validationError(name, null, 'Member must not be null');
  if (typeof value !== 'string' || !BASE64.test(value)) throw typeError(name, 'a base64-encoded blob');
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < 1) throw validationError(name, '(empty blob)', 'Member must have length greater than or equal to 1');
  if (bytes.length > max) throw validationError(name, `(${bytes.length} bytes)`, `Member must have length less than or equal to ${max}`);
  return bytes;
}

/** A generous bound on the serialized context; it becomes AAD and is handed to `authorize`. */
const MAX_ENCRYPTION_CONTEXT_BYTES = 8192;

/** Absent and empty mean the same to KMS: no encryption context. */
export function optEncryptionContext(input: Input, name = 'EncryptionContext'): EncryptionContext {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw typeError(name, 'a map of strings');
  const entries = Object.entries(value as Record<string, unknown>);
  let size = 0;
  for (const [key, item] of entries) {
    if (typeof item !== 'string') throw typeError(name, 'a map of strings');
    if (key.length === 0) throw validationError(name, '(empty key)', 'Map keys must have length greater than or equal to 1');
    size += Buffer.byteLength(key) + Buffer.byteLength(item);
  }
  if (size > MAX_ENCRYPTION_CONTEXT_BYTES)
    throw validationError(name, `(${size} bytes)`, `Encryption context must not exceed ${MAX_ENCRYPTION_CONTEXT_BYTES} bytes`);
  return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
}

const MAX_TAGS = 50;

export function optTags(input: Input, name: string): Map<string, string> | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw typeError(name, 'a list of tags');
  const tags = new Map<string, string>();
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw typeError(name, 'a list of tags');
    const tag = item as Input;
    const key = reqString(tag, 'TagKey', 1, 128);
    const tagValue = optString(tag, 'TagValue', 0, 256);
    if (tagValue === undefined) throw validationError('TagValue', null, 'Member must not be null');
    if (key.startsWith('aws:')) throw new KmsError('TagException', `Tag keys beginning with "aws:" are reserved: ${key}`);
    if (tags.has(key)) throw new KmsError('TagException', `Duplicate tag key: ${key}`);
    tags.set(key, tagValue);
  }
  if (tags.size > MAX_TAGS) throw new KmsError('TagException', `A key can have at most ${MAX_TAGS} tags`);
  return tags;
}

/** DryRun asks whether the request would succeed; the answer, when it would, is this exception. */
export function checkDryRun(input: Input): void {
  if (optBoolean(input, 'DryRun')) throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set');
}

// Pagination: markers are opaque to clients; here they carry the sort key of the last item.

export interface Page<T> {
  readonly page: T[];
  readonly next?: string;
}

export function paginate<T>(items: readonly T[], sortKey: (item: T) => string, limit: number, marker: string | undefined): Page<T> {
  let start = 0;
  if (marker !== undefined) {
    const after = Buffer.from(marker, 'base64url').toString('utf8');
    if (!after || Buffer.from(after, 'utf8').toString('base64url') !== marker) throw new KmsError('InvalidMarkerException', 'The marker is not valid');
    start = items.findIndex((item) => sortKey(item) > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + limit);
  const last = page[page.length - 1];
  return start + limit < items.length && last !== undefined ? { page, next: Buffer.from(sortKey(last), 'utf8').toString('base64url') } : { page };
}

export function listResult(listName: string, result: Page<Output>): Output {
  return { [listName]: result.page, Truncated: result.next !== undefined, ...(result.next !== undefined ? { NextMarker: result.next } : {}) };
}
