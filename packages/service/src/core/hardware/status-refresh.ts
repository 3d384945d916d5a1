/**
 * The revocation function's use case (PROTOCOL.md §5.6): fetch Google's attestation status list and
 * store it where attest reads it. A copy that fails to arrive or does not parse is never stored, so
 * the last good copy stays in place; the failure is thrown for the function to log and to count as an
 * error (what an alarm will watch).
 */
import { parseAttestationStatus } from './revocation';

export interface StatusListFetcher {
  /** The list's JSON text; throws when it cannot be had. */
  fetch(): Promise<string>;
  readonly url: string;
}

export interface StatusListStore {
  write(text: string): Promise<void>;
  readonly location: string;
}

export interface RevocationRefreshDeps {
  readonly fetcher: StatusListFetcher;
  readonly store: StatusListStore;
}

export interface RevocationRefresh {
  /** Serials in the stored list (revoked and suspended). */
  readonly serials: number;
  readonly bytes: number;
}

export async function refreshRevocationList(deps: RevocationRefreshDeps): Promise<RevocationRefresh> {
  const text = await deps.fetcher.fetch();
  // Parsed before it is stored: attest would refuse a broken copy and keep none.
  const serials = parseAttestationStatus(text);
  await deps.store.write(text);
  return { serials: serials.size, bytes: Buffer.byteLength(text, 'utf8') };
}
