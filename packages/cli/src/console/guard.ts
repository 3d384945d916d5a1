/**
 * Who may use the console's local server. It holds the operator's admin credential, so anything
 * that can make it sign a request can do what the operator can: other pages in the browser (a
 * form or fetch to 127.0.0.1), a page whose own hostname an attacker re-points at 127.0.0.1 (DNS
 * rebinding), and other processes and users of the machine. Every request must therefore name
 * this server exactly (Host), come from its own page when it comes from a page at all (Origin,
 * Sec-Fetch-Site), and carry the session's token, which only the operator's terminal was shown.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The header a script (or a test) may send the token in instead of the cookie. */
export const TOKEN_HEADER = 'x-attestor-console-token';

export interface GuardSettings {
  /** `127.0.0.1:<port>`: the only Host this server answers to. */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly token: string;
  readonly cookieName: string;
}

export type GuardVerdict =
  | { readonly allowed: true; /** The request is the token link: answer with the session cookie. */ readonly login: boolean }
  | { readonly allowed: false; readonly reason: string };

/** 32 random bytes: not guessable in the lifetime of a console session at any request rate. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The cookie name carries the port: cookies are shared by every port of 127.0.0.1, so two consoles
 * at once would otherwise overwrite each other's session.
 */
export function sessionCookieName(port: number): string {
  return `attestor_console_${port}`;
}

export function checkRequest(request: { method: string; url: string; headers: IncomingHttpHeaders }, settings: GuardSettings): GuardVerdict {
  const { headers } = request;
  // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 still sends Host: evil.example.
  if ((headers.host ?? '').toLowerCase() !== settings.host) return { allowed: false, reason: 'wrong Host' };
  const origin = headers.origin;
  if (origin !== undefined && origin !== settings.origin) return { allowed: false, reason: 'wrong Origin' };
  const method = request.method.toUpperCase();
  // No CORS: a preflight is never answered with permission.
  if (method === 'OPTIONS') return { allowed: false, reason: 'CORS preflight' };
  const safe = method === 'GET' || method === 'HEAD';
  // Browsers send Origin with every unsafe request; one without it is not from this console's page.
  if (!safe && origin === undefined) return { allowed: false, reason: 'no Origin' };

  let url: URL;
  try {
    url = new URL(request.url, settings.origin);
  } catch {
    return { allowed: false, reason: 'malformed request target' };
  }
  const offered = url.searchParams.get('token');
  if (offered !== null) {
    // The link the terminal printed (or the file it opened): the one request that may come from
    // anywhere, even another site, since the token itself is the proof. It only sets the cookie.
    if (url.pathname !== '/' || !safe) return { allowed: false, reason: 'token outside the login link' };
    return sameSecret(offered, settings.token) ? { allowed: true, login: true } : { allowed: false, reason: 'wrong token' };
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return { allowed: false, reason: `request from another site (${site})` };
  const presented = headerValue(headers[TOKEN_HEADER]) ?? cookieValue(headers.cookie, settings.cookieName);
  if (presented === undefined) return { allowed: false, reason: 'no session token' };
  return sameSecret(presented, settings.token) ? { allowed: true, login: false } : { allowed: false, reason: 'wrong session token' };
}

/** The Set-Cookie value of the session: unreadable by scripts, never sent along by another site's requests. */
export function sessionCookie(settings: GuardSettings): string {
  return `${settings.cookieName}=${settings.token}; Path=/; HttpOnly; SameSite=Strict`;
}

/** Compares digests, so neither the length nor the first differing byte of the token shows in the time taken. */
function sameSecret(offered: string, expected: string): boolean {
  const a = createHash('sha256').update(offered).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
