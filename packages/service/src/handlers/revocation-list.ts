import { refreshRevocationList, type RevocationRefreshDeps } from '../core/hardware/status-refresh';
import { errorFields, type Logger } from './log';

/**
 * EventBridge's daily run: fetch Google's attestation status list and store the copy attest reads
 * (PROTOCOL.md §5.6). A failure keeps the last stored copy, is logged, and fails the invocation, so it
 * shows in the function's Errors metric (which an alarm can watch) as well as in its log.
 */
export function revocationListHandler(deps: RevocationRefreshDeps, log: Logger): () => Promise<void> {
  return async () => {
    try {
      const stored = await refreshRevocationList(deps);
      log.info('revocation_list_stored', { source: deps.fetcher.url, location: deps.store.location, serials: stored.serials, bytes: stored.bytes });
    } catch (error) {
      log.error('revocation_list_refresh_failed', { source: deps.fetcher.url, location: deps.store.location, keptPreviousCopy: true, ...errorFields(error) });
      throw error;
    }
  };
}
