/**
 * Public keys of es256 tenants from a JWKS URL (the Attestor admin route GET /v1/admin/keys/jwks, or
 * a copy of `attestor keys jwks` served anywhere). Only ES256 signing keys are kept; anything else in the set
 * is skipped, never trusted. Fetch limits (time, size) keep a slow or hostile key server from
 * holding requests or memory, and key fetches follow no redirect: keys come from the URL configured.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { VerificationKeys, VerificationKeySource } from './core/ports';

/**
 * The subset of `fetch` the JWKS source uses, so any fetch (SigV4-signing, mocked, undici) can be passed in.
 * It must honour `redirect: 'manual'` (answer a 3xx as it is): a key fetch never follows a redirect.
 */
export type FetchLike = (
  url: string,
  init: { readonly method: 'GET'; readonly headers: Record<string, string>; readonly signal: AbortSignal; readonly redirect: 'manual' },
) => Promise<FetchedDocument>;

/**
 * What a FetchLike answers. `headers` and `body` are optional for fetches without them (test doubles);
 * with them, an oversized body is refused from its Content-Length or after reading just past the limit.
 */
export interface FetchedDocument {
  readonly status: number;
  readonly ok: boolean;
  readonly headers?: { get(name: string): string | null };
  readonly body?: DocumentStream | null;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The part of a WHATWG ReadableStream of bytes (fetch's Response.body) that reading within a limit needs. */
export interface DocumentStream {
  getReader(): { read(): Promise<{ readonly done: boolean; readonly value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> };
  cancel(reason?: unknown): Promise<void>;
}

/** A JSON Web Key as found in a JWKS; members other than these are ignored. */
export interface JsonWebKey {
  readonly kty?: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly d?: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: string;
  readonly [member: string]: unknown;
}

/** A JWKS: `{"keys": [...]}`. */
export interface JsonWebKeySet {
  readonly keys: readonly JsonWebKey[];
}

/**
 * The JWKS could not be fetched or read. Verifiers keep the keys they had for at most 5 minutes after
 * their last successful load, then deny until a fetch succeeds.
 */
export class JwksFetchError extends Error {
  override readonly name = 'JwksFetchError';
}

/**
 * The ES256 verification keys of a JWKS, by kid. Keys of other types, with a private part, a
 * duplicate kid, an `alg` other than ES256 or a `use` other than sig are skipped.
 */
export function parseJwks(jwks: unknown): Map<string, KeyObject> {
  const list = (jwks as { keys?: unknown } | null)?.keys;
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(list)) throw new JwksFetchError('JWKS must be a JSON object with a "keys" array');
  const keys = new Map<string, KeyObject>();
  const duplicates = new Set<string>();
  for (const entry of list as unknown[]) {
    const jwk = entry as JsonWebKey | null;
    if (typeof jwk !== 'object' || jwk === null) continue;
    const { kty, crv, x, y, kid, alg, use } = jwk;
    if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') continue;
    if (typeof kid !== 'string' || kid === '' || jwk.d !== undefined) continue;
    if ((alg !== undefined && alg !== 'ES256') || (use !== undefined && use !== 'sig')) continue;
    // Two keys under one kid: trusting either would be a guess, so trust neither.
    if (keys.has(kid) || duplicates.has(kid)) {
      keys.delete(kid);
      duplicates.add(kid);
      continue;
    }
    try {
      keys.set(kid, createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' }));
    } catch {
      // not a point on the curve
    }
  }
  return keys;
}

/** Options of JwksKeySource. */
export interface JwksKeySourceOptions extends FetchJsonOptions {
  readonly url: string | URL;
}

/**
 * The retirement times a JWKS states (Attestor's `retiresAt` member, unix seconds) for the keys
 * parseJwks keeps, by kid: a verifier drops those keys then, even if it cannot fetch the JWKS again.
 */
export function jwksRetirements(jwks: unknown, keys: ReadonlyMap<string, KeyObject>): Map<string, number> {
  const retiresAt = new Map<string, number>();
  for (const entry of (jwks as { keys: unknown[] }).keys) {
    const jwk = entry as JsonWebKey | null;
    const at = jwk?.['retiresAt'];
    if (typeof jwk?.kid === 'string' && keys.has(jwk.kid) && typeof at === 'number' && Number.isFinite(at)) retiresAt.set(jwk.kid, at);
  }
  return retiresAt;
}

/** The verification keys of a JWKS: its ES256 keys and the retirement times it states. */
export function jwksVerificationKeys(jwks: unknown): VerificationKeys {
  const publicKeys = parseJwks(jwks);
  const retiresAt = jwksRetirements(jwks, publicKeys);
  return { publicKeys, secrets: [], ...(retiresAt.size > 0 ? { retiresAt } : {}) };
}

/** Fetches a JWKS on every `keys()` call; KeyRing decides when that happens. The tenant id is not used: the URL names the tenant. */
export class JwksKeySource implements VerificationKeySource {
  constructor(private readonly options: JwksKeySourceOptions) {}

  async keys(): Promise<VerificationKeys> {
    return jwksVerificationKeys(await fetchJson(this.options.url, 'JWKS', this.options));
  }
}

/** Options of fetchJson. */
export interface FetchJsonOptions {
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** @default 3000 */
  readonly timeoutMs?: number;
  /** @default 65536 */
  readonly maxBytes?: number;
}

/**
 * GETs a small JSON document (a JWKS, a set of wrapped secrets) within a time and size limit, so a
 * slow or hostile server cannot hold requests or memory. A redirect is not followed but refused:
 * keys taken from wherever a redirect points would be trusted as the configured URL's. Errors are
 * JwksFetchError and name the URL by origin and path only, since a query may carry a credential.
 */
export async function fetchJson(target: string | URL, what: string, options: FetchJsonOptions = {}): Promise<unknown> {
  const url = new URL(target);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${what} URL must be an http(s) URL, got ${url.protocol}`);
  const shown = `${what} ${url.origin}${url.pathname}`;
  const fetchDocument = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const maxBytes = options.maxBytes ?? 65536;
  let body: Uint8Array;
  try {
    const response = await fetchDocument(url.toString(), {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
      redirect: 'manual',
    });
    if (isRedirect(response.status)) throw redirectRefused(shown, url, response);
    if (!response.ok) {
      discard(response);
      throw new JwksFetchError(`${shown} answered HTTP ${response.status}`);
    }
    body = await readWithin(response, maxBytes, () => new JwksFetchError(`${shown} is larger than ${maxBytes} bytes`));
  } catch (error) {
    if (error instanceof JwksFetchError) throw error;
    throw new JwksFetchError(`${shown} could not be fetched: ${(error as Error)?.name ?? 'error'}`, { cause: error });
  }
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    throw new JwksFetchError(`${shown} is not JSON`);
  }
}

/** Whether a status is a redirect (3xx); key fetches refuse them all, not only those fetch would follow. */
export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** The error for a key fetch answered with a redirect: it names where the redirect pointed, by origin only. */
export function redirectRefused(shown: string, url: URL, response: FetchedDocument): JwksFetchError {
  const location = response.headers?.get('location') ?? null;
  discard(response);
  if (location === null) return new JwksFetchError(`${shown} answered HTTP ${response.status}, a redirect: key fetches do not follow redirects`);
  let where: string;
  try {
    const next = new URL(location, url);
    where = next.origin === 'null' ? `a ${next.protocol} URL` : next.origin;
  } catch {
    where = 'an invalid Location';
  }
  return new JwksFetchError(`${shown} redirected to ${where}: key fetches do not follow redirects`);
}

/**
 * The body, read only up to `maxBytes`: a Content-Length above it is refused before reading, and a
 * stream is cancelled as soon as it passes it, so a 64 MiB answer costs the verifier 64 KiB.
 */
async function readWithin(response: FetchedDocument, maxBytes: number, tooLarge: () => JwksFetchError): Promise<Uint8Array> {
  const declared = Number(response.headers?.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    discard(response);
    throw tooLarge();
  }
  if (!response.body) {
    // A fetch without streams can only be checked once it has read everything.
    const whole = new Uint8Array(await response.arrayBuffer());
    if (whole.byteLength > maxBytes) throw tooLarge();
    return whole;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!value) continue;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

/** Lets go of a body that will not be read, so its connection is closed rather than left waiting. */
function discard(response: FetchedDocument): void {
  response.body?.cancel().catch(() => undefined);
}
