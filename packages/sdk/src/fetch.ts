/**
 * What `AttestorClient.fetch` does to a request: for the configured hosts it adds `Attestor-Token`
 * (and `Attestor-Proof` when asked), or `Attestor-Status` saying why there is no token; then it
 * sends the request whatever happened, so attestation never costs the app a request, and follows
 * its redirects itself (redirects.ts) so those headers never leave the configured hosts.
 */
import type { Attester } from './attester';
import { AttestorError } from './errors';
import type { AttestorEvent, AttestorStatus } from './events';
import { hostAllowed } from './hosts';
import type { ClientSettings } from './options';
import { PROOF_HEADER_NAME, TOKEN_HEADER_NAME } from '@attestor/contracts/protocol';
import { signRequestProof } from './proof';
import { fetchFollowing, type DecoratedRequest } from './redirects';
import type { TokenSlots } from './token-slots';

/**
 * The HTTP header `AttestorClient.fetch` sets instead of a token when it could not get one, so
 * the backend can decide what to do with the request (the header is informative: anyone can
 * send it, so it must never let a request in by itself).
 * @example
 * ```ts
 * // On the server:
 * const why = request.headers.get(STATUS_HEADER); // 'no_network', 'service_error', …
 * ```
 */
export const STATUS_HEADER = 'Attestor-Status';

/**
 * Maps a failure to the `Attestor-Status` value `fetch` sends for it.
 * @example
 * ```ts
 * attestorStatusOf(new AttestorError('network', 'fetch failed')); // 'no_network'
 * ```
 */
export function attestorStatusOf(error: unknown): AttestorStatus {
  if (!(error instanceof AttestorError)) return 'client_error';
  switch (error.code) {
    case 'network':
      return 'no_network';
    case 'timeout':
      return 'timeout';
    case 'rate_limited':
      return 'rate_limited';
    case 'service_error':
    case 'nonce_invalid':
      return 'service_error';
    case 'circuit_open':
      return error.cause instanceof AttestorError ? attestorStatusOf(error.cause) : 'service_error';
    default:
      return 'client_error';
  }
}

/**
 * Per-request options of `fetch`, passed as `init.attestor`; each overrides the client's option.
 * @example
 * ```ts
 * await client.fetch(url, { method: 'POST', body, attestor: { limitedUse: true, proof: true } });
 * ```
 */
export interface RequestAttestation {
  /** Add `Attestor-Proof`. */
  readonly proof?: boolean;
  /** `'authorization'` binds the token to this request's Authorization header; `'none'` sends an unbound token. */
  readonly bindTo?: 'authorization' | 'none';
  /** Use a fresh single-use token (getLimitedUseToken) for this request. */
  readonly limitedUse?: boolean;
}

/**
 * RequestInit plus the SDK's per-request options.
 * @example
 * ```ts
 * const init: AttestorRequestInit = { method: 'DELETE', attestor: { limitedUse: true } };
 * ```
 */
export interface AttestorRequestInit extends RequestInit {
  readonly attestor?: RequestAttestation;
}

/** What decorating requests needs from the client. */
export interface FetchContext {
  readonly settings: Pick<ClientSettings, 'hostRules' | 'bindTo' | 'proof' | 'now' | 'fetchFn'>;
  readonly tokens: Pick<TokenSlots, 'cachedEntry'>;
  readonly attester: Pick<Attester, 'attest'>;
  readonly emit: (event: AttestorEvent) => void;
}

/** The body of AttestorClient.fetch. */
export async function attestedFetch(context: FetchContext, input: RequestInfo | URL, init?: AttestorRequestInit): Promise<Response> {
  let outgoing: RequestInit | DecoratedRequest | undefined;
  try {
    outgoing = await decorate(context, input, init);
  } catch {
    // A fault of the SDK itself must not cost the app its request.
    outgoing = init === undefined ? undefined : withoutAttestor(init);
    context.emit({ type: 'request_without_token', status: 'client_error', code: 'unexpected', host: safeHost(asRequest(input)?.url ?? String(input)) });
  }
  if (outgoing !== undefined && 'added' in outgoing) {
    // A caller who asked to see redirects (`manual`) or to refuse them (`error`) keeps that: the
    // platform then sends the headers to the first URL only, which passed the check.
    const mode = outgoing.init.redirect ?? asRequest(input)?.redirect ?? 'follow';
    if (mode === 'follow') return fetchFollowing(context.settings.fetchFn, context.settings.hostRules, outgoing);
    outgoing = outgoing.init;
  }
  return context.settings.fetchFn(input, outgoing);
}

/**
 * Works out the headers `fetch` sends: the request as decorated when the SDK added headers, else
 * the init to send as given. Throws only on an SDK bug (the caller then sends the request as given).
 */
async function decorate(
  context: FetchContext,
  input: RequestInfo | URL,
  init: AttestorRequestInit | undefined,
): Promise<RequestInit | DecoratedRequest | undefined> {
  const rest = init === undefined ? undefined : withoutAttestor(init);
  const perRequest = init?.attestor;
  const request = asRequest(input);
  const url = targetUrl(input, request);
  if (!url || !hostAllowed(context.settings.hostRules, url)) return rest;
  const headers = new Headers(rest?.headers ?? request?.headers);
  if (headers.has(TOKEN_HEADER_NAME)) return rest;
  const method = (rest?.method ?? request?.method ?? 'GET').toUpperCase();
  const bindTo = perRequest?.bindTo ?? context.settings.bindTo;
  const binding = bindTo === 'authorization' ? (headers.get('authorization') ?? undefined) : undefined;
  const signal = rest?.signal ?? request?.signal;
  let sentMethod: string | undefined;
  let reprove: DecoratedRequest['reprove'];
  try {
    const pending = perRequest?.limitedUse ? context.attester.attest({ binding, limitedUse: true, background: false }) : context.tokens.cachedEntry(binding);
    pending.catch(() => undefined);
    const entry = await untilAborted(pending, signal);
    headers.set(TOKEN_HEADER_NAME, entry.token);
    if (perRequest?.proof ?? context.settings.proof) {
      reprove = (hopMethod, hopUrl) =>
        signRequestProof(entry.key, { method: hopMethod, url: hopUrl, token: entry.token, nowSeconds: context.settings.now() / 1000 });
      headers.set(PROOF_HEADER_NAME, await reprove(method, url));
      // fetch upper-cases only the six standard methods; sending `patch` while the proof says
      // PATCH would fail the verifier's exact comparison.
      sentMethod = method;
    }
  } catch (error) {
    // The platform fetch rejects an aborted request itself, exactly as it would without the SDK.
    if (signal?.aborted) return rest;
    headers.delete(TOKEN_HEADER_NAME);
    headers.delete(PROOF_HEADER_NAME);
    reprove = undefined;
    const status = attestorStatusOf(error);
    headers.set(STATUS_HEADER, status);
    context.emit({ type: 'request_without_token', status, code: error instanceof AttestorError ? error.code : 'unexpected', host: url.host });
  }
  const added = [TOKEN_HEADER_NAME, PROOF_HEADER_NAME, STATUS_HEADER].filter((name) => headers.has(name));
  const sent = { ...rest, headers, ...(sentMethod !== undefined ? { method: sentMethod } : {}) };
  return { input, init: sent, url, method: sentMethod ?? rest?.method ?? request?.method ?? 'GET', headers, added, ...(reprove ? { reprove } : {}) };
}

function withoutAttestor(init: AttestorRequestInit): RequestInit {
  if (!('attestor' in init)) return init;
  const { attestor: _ignored, ...rest } = init;
  return rest;
}

function targetUrl(input: RequestInfo | URL, request: RequestLike | undefined): URL | undefined {
  try {
    const raw = typeof input === 'string' ? input : request ? request.url : (input as URL).href;
    // Relative URLs resolve against the page in browsers and Electron renderers, as fetch does.
    const base = (globalThis as { location?: { href?: unknown } }).location?.href;
    return new URL(raw, typeof base === 'string' ? base : undefined);
  } catch {
    return undefined;
  }
}

function safeHost(raw: string): string {
  try {
    return new URL(raw).host;
  } catch {
    return '';
  }
}

/** Rejects as soon as `signal` aborts; the underlying work goes on (it may be shared with other callers). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

type RequestLike = {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly signal?: AbortSignal;
  readonly redirect?: RequestRedirect;
};

function asRequest(input: RequestInfo | URL): RequestLike | undefined {
  return typeof input === 'object' && !('href' in input) && typeof (input as RequestLike).url === 'string' ? (input as RequestLike) : undefined;
}
