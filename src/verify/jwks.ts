/**
 * Public keys from a JWKS URL (the Attestor admin route GET /v1/admin/keys/jwks, or a copy of
 * `attestor keys jwks` served anywhere). Only ES256 signing keys are kept; anything else in the set
 * is skipped, never trusted. Fetch limits (time, size) keep a slow or hostile key server from
 * holding requests or memory.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { VerificationKeySource } from '../core/ports';

/** The subset of `fetch` the JWKS source uses, so any fetch (SigV4-signing, mocked, undici) can be passed in. */
export type FetchLike = (
  url: string,
  init: { readonly method: 'GET'; readonly headers: Record<string, string>; readonly signal: AbortSignal },
) => Promise<{ readonly status: number; readonly ok: boolean; arrayBuffer(): Promise<ArrayBuffer> }>;

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

/** The JWKS could not be fetched or read. Verifiers deny while it lasts and keep the keys they had. */
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
export interface JwksKeySourceOptions {
  readonly url: string | URL;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** @default 3000 */
  readonly timeoutMs?: number;
  /** @default 65536 */
  readonly maxBytes?: number;
}

/** Fetches a JWKS on every `keys()` call; KeyRing decides when that happens. The tenant id is not used: the URL names the tenant. */
export class JwksKeySource implements VerificationKeySource {
  private readonly url: string;
  /** The URL as errors (and so logs) name it: origin and path only, since a query may carry a credential. */
  private readonly shownUrl: string;

  constructor(private readonly options: JwksKeySourceOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`jwksUrl must be an http(s) URL, got ${url.protocol}`);
    this.url = url.toString();
    this.shownUrl = `${url.origin}${url.pathname}`;
  }

  async keys(): Promise<ReadonlyMap<string, KeyObject>> {
    const fetchJwks = this.options.fetch ?? (globalThis.fetch as unknown as FetchLike);
    let body: ArrayBuffer;
    try {
      const response = await fetchJwks(this.url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 3000),
      });
      if (!response.ok) throw new JwksFetchError(`JWKS ${this.shownUrl} answered HTTP ${response.status}`);
      body = await response.arrayBuffer();
    } catch (error) {
      if (error instanceof JwksFetchError) throw error;
      throw new JwksFetchError(`JWKS ${this.shownUrl} could not be fetched: ${(error as Error)?.name ?? 'error'}`, { cause: error });
    }
    const maxBytes = this.options.maxBytes ?? 65536;
    if (body.byteLength > maxBytes) throw new JwksFetchError(`JWKS ${this.shownUrl} is larger than ${maxBytes} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      throw new JwksFetchError(`JWKS ${this.shownUrl} is not JSON`);
    }
    return parseJwks(json);
  }
}
