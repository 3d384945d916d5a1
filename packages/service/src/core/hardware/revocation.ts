/**
 * Google's attestation status list (PROTOCOL.md §5.6) as attest uses it: parsed from the stored copy
 * (the revocation function's, or a local file) and kept at most an hour per container, so the path
 * of an attestation never reaches the internet, and reaches storage about once an hour.
 */
import type { Clock } from '../ports';
import { normalizeSerial } from './evidence';
import type { RevocationList } from './ports';

/** The list's largest plausible size; a copy beyond it is refused rather than parsed. */
export const MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024;
/** How long a container trusts its copy before reading storage again. */
export const REVOCATION_CACHE_SECONDS = 3600;
/** After a failed read, how long the previous copy (or none) stands before the next try. */
export const REVOCATION_RETRY_SECONDS = 60;

/** Thrown for a copy that is not the status list's JSON: `{"entries": {"<serial hex>": {"status": …}}}`. */
export class StatusListFormatError extends Error {
  override readonly name = 'StatusListFormatError';
}

/**
 * The serials of the list, revoked and suspended alike (a suspended key is not trusted until it is
 * lifted), lower-case hex without leading zeros. Throws StatusListFormatError on anything else.
 */
export function parseAttestationStatus(text: string): Set<string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StatusListFormatError('the status list is not JSON');
  }
  const entries = (json as { entries?: unknown } | null)?.entries;
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) throw new StatusListFormatError('the status list has no "entries" object');
  const serials = new Set<string>();
  for (const [serial, entry] of Object.entries(entries)) {
    if (!/^[0-9a-fA-F]{1,128}$/.test(serial)) throw new StatusListFormatError(`"${serial.slice(0, 40)}" is not a hex serial number`);
    if (typeof (entry as { status?: unknown } | null)?.status !== 'string') throw new StatusListFormatError(`entry ${serial} has no status`);
    serials.add(normalizeSerial(serial));
  }
  return serials;
}

/** Where the stored copy is read from; undefined when there is none yet. */
export interface StatusListSource {
  read(): Promise<string | undefined>;
  /** For log lines: where the copy lives. */
  readonly location: string;
}

export interface CachedRevocationListOptions {
  readonly clock: Clock;
  /** @default REVOCATION_CACHE_SECONDS */
  readonly maxAgeSeconds?: number;
  /** @default REVOCATION_RETRY_SECONDS */
  readonly retrySeconds?: number;
  /** Log lines for a missing or unreadable copy (an operator must see that revocation is not checked). */
  readonly warn: (event: string, fields: Record<string, string | number>) => void;
}

interface Copy {
  readonly serials: ReadonlySet<string>;
  /** When to read storage again. */
  readonly until: number;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The stored copy, cached. A copy that cannot be read or parsed leaves the previous one in place
 * (or, before any, no serial), logged, and is tried again after retrySeconds: revocation is a check on
 * top of chains that verify, so a storage hiccup must not fail every Android attestation.
 */
export class CachedRevocationList implements RevocationList {
  private copy: Copy | undefined;
  private loading: Promise<ReadonlySet<string>> | undefined;

  constructor(
    private readonly source: StatusListSource,
    private readonly options: CachedRevocationListOptions,
  ) {}

  revokedSerials(): Promise<ReadonlySet<string>> {
    const now = this.options.clock.nowSeconds();
    if (this.copy && now < this.copy.until) return Promise.resolve(this.copy.serials);
    // Concurrent requests share one read.
    this.loading ??= this.load(now).finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(now: number): Promise<ReadonlySet<string>> {
    const retry = now + (this.options.retrySeconds ?? REVOCATION_RETRY_SECONDS);
    try {
      const text = await this.source.read();
      if (text === undefined) {
        // No copy yet (the function has not run since the deployment) or none configured: said once per cache period.
        this.options.warn('revocation_list_missing', { location: this.source.location });
        this.copy = { serials: this.copy?.serials ?? NONE, until: now + (this.options.maxAgeSeconds ?? REVOCATION_CACHE_SECONDS) };
        return this.copy.serials;
      }
      const serials = parseAttestationStatus(text);
      this.copy = { serials, until: now + (this.options.maxAgeSeconds ?? REVOCATION_CACHE_SECONDS) };
      return serials;
    } catch (error) {
      this.options.warn('revocation_list_unreadable', {
        location: this.source.location,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        keptSerials: this.copy?.serials.size ?? 0,
      });
      this.copy = { serials: this.copy?.serials ?? NONE, until: retry };
      return this.copy.serials;
    }
  }
}
