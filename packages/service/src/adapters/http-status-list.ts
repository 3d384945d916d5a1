/**
 * Fetches Google's attestation status list (the revocation function's only call to the internet).
 * Bounded in time and size, and refused unless it is a 200 with a body: what it returns is parsed
 * before anything is stored (core/hardware/status-refresh.ts).
 */
import { MAX_STATUS_LIST_BYTES } from '../core/hardware/revocation';
import type { StatusListFetcher } from '../core/hardware/status-refresh';

export class StatusListFetchError extends Error {
  override readonly name = 'StatusListFetchError';
}

export interface HttpStatusListOptions {
  /** @default 20 s (the function's timeout is 60) */
  readonly timeoutMs?: number;
  /** Injected in tests; global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

export class HttpStatusList implements StatusListFetcher {
  constructor(
    readonly url: string,
    private readonly options: HttpStatusListOptions = {},
  ) {}

  async fetch(): Promise<string> {
    const doFetch = this.options.fetch ?? fetch;
    let response: Response;
    try {
      // Google serves the list with Cache-Control max-age; a daily fetch wants the current one.
      response = await doFetch(this.url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 20_000), headers: { 'cache-control': 'no-cache' } });
    } catch (error) {
      throw new StatusListFetchError(`GET ${this.url} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new StatusListFetchError(`GET ${this.url} answered ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > MAX_STATUS_LIST_BYTES) {
      await response.body?.cancel().catch(() => undefined);
      throw new StatusListFetchError(`GET ${this.url}: ${declared} bytes, more than ${MAX_STATUS_LIST_BYTES}`);
    }
    const text = await response.text();
    if (Buffer.byteLength(text, 'utf8') > MAX_STATUS_LIST_BYTES) throw new StatusListFetchError(`GET ${this.url}: more than ${MAX_STATUS_LIST_BYTES} bytes`);
    return text;
  }
}
