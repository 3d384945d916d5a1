/**
 * The attest path's cache of app snapshots. A popular app is attested thousands of times a second,
 * and its items all live in one DynamoDB partition (about 3,000 reads per second): read per request,
 * that partition would cap the app. Each container instead reads an app at most once per
 * CATALOG_CACHE_SECONDS, unregistered app ids included (so their cost and timing match), which is
 * also how long an admin change (a removal, an expiry, a policy) takes to reach attestations.
 */
import type { AppSnapshot, AttestationCatalog, Clock } from './ports';

/** The promise the admin API makes: a change applies to attestations within this many seconds (docs/ADMIN_API.md §10). */
export const CATALOG_CACHE_SECONDS = 30;

export interface CachedCatalogOptions {
  readonly clock: Clock;
  /** @default CATALOG_CACHE_SECONDS */
  readonly maxAgeSeconds?: number;
  /** Apps remembered at once; least recently used go first. Made-up app ids cannot grow it beyond this. @default 2000 */
  readonly maxApps?: number;
}

interface Entry {
  readonly snapshot: Promise<AppSnapshot>;
  readonly fetchedAt: number;
}

export class CachedAttestationCatalog implements AttestationCatalog {
  private readonly entries = new Map<string, Entry>();
  private readonly maxAge: number;
  private readonly maxApps: number;

  constructor(
    private readonly source: AttestationCatalog,
    private readonly options: CachedCatalogOptions,
  ) {
    this.maxAge = options.maxAgeSeconds ?? CATALOG_CACHE_SECONDS;
    this.maxApps = options.maxApps ?? 2000;
  }

  appSnapshot(appId: string): Promise<AppSnapshot> {
    const now = this.options.clock.nowSeconds();
    const cached = this.entries.get(appId);
    this.entries.delete(appId);
    // A clock that went backwards expires the entry rather than extending it.
    if (cached && now >= cached.fetchedAt && now - cached.fetchedAt < this.maxAge) {
      this.entries.set(appId, cached);
      return cached.snapshot;
    }
    // Concurrent requests for one app share this read (the entry is the promise).
    const snapshot = this.source.appSnapshot(appId);
    const entry: Entry = { snapshot, fetchedAt: now };
    if (this.entries.size >= this.maxApps) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(appId, entry);
    // A failed read is not remembered: the next request tries again.
    snapshot.catch(() => {
      if (this.entries.get(appId) === entry) this.entries.delete(appId);
    });
    return snapshot;
  }
}
