/**
 * Redirects of a request `AttestorClient.fetch` decorated. Left to the platform, a redirect is
 * followed with every header, so a 302 from an allowed host would hand `Attestor-Token` to any
 * origin, or to plain http. The SDK follows them itself instead, as the Fetch spec's
 * HTTP-redirect fetch does (same statuses, hop limit, method and body rules, headers dropped
 * across origins), and checks every hop against `hosts` as it checked the first URL.
 */
import { PROOF_HEADER_NAME } from '@attestor/contracts/protocol';
import { hostAllowed, type HostRule } from './hosts';

/** The Fetch spec's limit, which platform fetches apply too: the 21st redirect is a network error. */
const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Fetch's request-body-header names: they go with the body when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-encoding', 'content-language', 'content-location', 'content-type'];
/** Fetch drops Authorization on a cross-origin hop; Node's fetch (undici) also these. The SDK follows what the platform would do. */
const CROSS_ORIGIN_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'host'];
/** Request properties other than method, headers and body that a later hop keeps. */
const CARRIED = ['cache', 'credentials', 'integrity', 'keepalive', 'mode', 'referrerPolicy', 'signal'] as const;

/** A request the SDK added headers to, as its first hop goes out. */
export interface DecoratedRequest {
  readonly input: RequestInfo | URL;
  /** The init of the first hop (the SDK's headers in it); the follower adds `redirect: 'manual'`. */
  readonly init: RequestInit;
  readonly url: URL;
  /** The method as sent. */
  readonly method: string;
  readonly headers: Headers;
  /** The headers the SDK added (token, proof or status): they travel only to hops inside `hosts`. */
  readonly added: readonly string[];
  /** Signs `Attestor-Proof` for a later hop, whose method or URL differ; absent when the request has no proof. */
  readonly reprove?: (method: string, url: URL) => Promise<string>;
}

/**
 * Sends a decorated request and follows its redirects. Once a hop falls outside `hosts` the SDK's
 * headers are dropped for the rest of the chain, even if it comes back: the host that sent it
 * away chose where to, and an allowed URL it picked is not one the app asked for.
 */
export async function fetchFollowing(fetchFn: typeof fetch, rules: readonly HostRule[], request: DecoratedRequest): Promise<Response> {
  const source = requestOf(request.input);
  const upper = request.method.toUpperCase();
  // A Request's body can be read once; a copy is kept in case a 307 or 308 asks for it again.
  const replay = request.init.body == null && source && upper !== 'GET' && upper !== 'HEAD' ? source.clone() : undefined;
  let response = await fetchFn(request.input, { ...request.init, redirect: 'manual' });
  if (response.type === 'opaqueredirect') {
    void replay?.body?.cancel().catch(() => undefined);
    return followHidden(fetchFn, request, response);
  }
  let url = request.url;
  let method = request.method;
  let body: BodyInit | null | undefined = request.init.body;
  let decorated = true;
  const headers = new Headers(request.headers);
  const carried = carriedInit(source, request.init);
  for (let hops = 0; ; hops++) {
    const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
    if (location === null) {
      void replay?.body?.cancel().catch(() => undefined);
      return hops === 0 ? response : markRedirected(response);
    }
    // The redirect's own body is not the app's answer; reading on would only hold the connection.
    void response.body?.cancel().catch(() => undefined);
    if (hops === MAX_REDIRECTS) throw networkError('redirect count exceeded');
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw networkError('invalid redirect location');
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw networkError(`redirect to a ${next.protocol} URL`);
    // Fetch's rule: a 303 makes anything but GET and HEAD a GET; a 301 or 302 only a POST.
    const upperMethod = method.toUpperCase();
    const toGet = response.status === 303 ? upperMethod !== 'GET' && upperMethod !== 'HEAD' : response.status <= 302 && upperMethod === 'POST';
    if (toGet) {
      method = 'GET';
      body = null;
      for (const name of BODY_HEADERS) headers.delete(name);
    } else if (body == null && replay) {
      body = await replay.arrayBuffer();
    } else if (isStream(body)) {
      throw networkError('a streamed body cannot be sent again to a redirect');
    }
    if (next.origin !== url.origin) for (const name of CROSS_ORIGIN_HEADERS) headers.delete(name);
    if (decorated && !hostAllowed(rules, next)) {
      decorated = false;
      for (const name of request.added) headers.delete(name);
    } else if (decorated && request.reprove) {
      // A proof names the method and URL; the one for the first hop would not verify here.
      headers.set(PROOF_HEADER_NAME, await request.reprove(method, next));
    }
    url = next;
    response = await fetchFn(url.href, { ...carried, method, headers, ...(body != null ? { body } : {}), redirect: 'manual' });
  }
}

/**
 * Browsers (and Electron renderers) answer `redirect: 'manual'` with an opaque redirect: no status,
 * no Location, so the next hop cannot be checked. A GET or HEAD is sent again without the SDK's
 * headers, now with `follow` as the caller asked, and the platform follows it; any other method may not
 * be repeatable, so its caller gets the opaque redirect rather than a second request.
 */
function followHidden(fetchFn: typeof fetch, request: DecoratedRequest, opaque: Response): Promise<Response> | Response {
  const upper = request.method.toUpperCase();
  if (upper !== 'GET' && upper !== 'HEAD') return opaque;
  const headers = new Headers(request.headers);
  for (const name of request.added) headers.delete(name);
  return fetchFn(request.input, { ...request.init, headers, redirect: 'follow' });
}

type RequestFields = Request & Partial<Record<(typeof CARRIED)[number], unknown>>;

function requestOf(input: RequestInfo | URL): RequestFields | undefined {
  return typeof input === 'object' && !('href' in input) && typeof (input as Request).url === 'string' ? (input as RequestFields) : undefined;
}

/** What every later hop keeps of the first request besides method, headers and body: the Request's settings, then init's. */
function carriedInit(source: RequestFields | undefined, init: RequestInit): RequestInit {
  const carried: Record<string, unknown> = {};
  for (const name of CARRIED) {
    const value = init[name] ?? source?.[name];
    if (value !== undefined) carried[name] = value;
  }
  return carried as RequestInit;
}

function isStream(body: BodyInit | null | undefined): boolean {
  if (typeof body !== 'object' || body === null) return false;
  return typeof (body as ReadableStream).getReader === 'function' || Symbol.asyncIterator in body;
}

/** fetch reports a followed redirect in `redirected` (apps check it to spot a login page); each hop here was a fetch of its own. */
function markRedirected(response: Response): Response {
  try {
    Object.defineProperty(response, 'redirected', { value: true });
  } catch {
    // A frozen polyfill Response: the answer matters more than the flag.
  }
  return response;
}

/** Rejects as the platform fetch rejects a failed redirect: a TypeError saying why in `cause`. */
function networkError(reason: string): TypeError {
  return new TypeError('fetch failed', { cause: new Error(reason) });
}
