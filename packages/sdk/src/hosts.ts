/**
 * Which requests `AttestorClient.fetch` attaches tokens to. Tokens identify the install, so they
 * must not leak to third parties (analytics, CDNs) or travel in clear text by accident.
 */

/**
 * One parsed entry of the `hosts` option.
 * @example
 * ```ts
 * const rules: HostRule[] = ['api.example.com', '*.cdn.example.com'].map((entry) => parseHostRule(entry)!);
 * ```
 */
export type HostRule =
  | { readonly kind: 'origin'; readonly origin: string }
  | { readonly kind: 'host'; readonly host: string; readonly withPort: boolean }
  | { readonly kind: 'subdomains'; readonly suffix: string };

/**
 * Parses one `hosts` entry, or returns undefined when it is none of the accepted forms:
 * - an origin, `https://api.example.com` or `http://10.0.2.2:3000`: exactly that scheme, host and
 *   port (the only way to allow plain http, meant for development);
 * - a host name, `api.example.com` (https, any port) or `api.example.com:8443` (https, that port);
 * - a wildcard, `*.example.com`: https on any subdomain of example.com, not example.com itself.
 * @example
 * ```ts
 * parseHostRule('*.example.com'); // { kind: 'subdomains', suffix: '.example.com' }
 * parseHostRule('https://api.example.com/v1'); // undefined: an origin has no path
 * ```
 */
export function parseHostRule(entry: string): HostRule | undefined {
  if (typeof entry !== 'string' || entry.length === 0 || /\s/.test(entry)) return undefined;
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) {
      const url = new URL(entry);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
      if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return undefined;
      return { kind: 'origin', origin: url.origin };
    }
    if (entry.startsWith('*.')) {
      const url = new URL(`https://${entry.slice(2)}`);
      if (url.port || url.pathname !== '/' || url.hostname !== entry.slice(2).toLowerCase()) return undefined;
      return { kind: 'subdomains', suffix: `.${url.hostname}` };
    }
    const url = new URL(`https://${entry}`);
    if (url.pathname !== '/' || url.username || url.search || url.hash) return undefined;
    const withPort = url.port !== '' || /:\d+$/.test(entry);
    return { kind: 'host', host: withPort ? url.host : url.hostname, withPort };
  } catch {
    return undefined;
  }
}

/**
 * Whether a request to `url` may carry a token under `rules`.
 * @example
 * ```ts
 * hostAllowed([parseHostRule('api.example.com')!], new URL('https://api.example.com/orders')); // true
 * hostAllowed([parseHostRule('api.example.com')!], new URL('http://api.example.com/orders')); // false: not https
 * ```
 */
export function hostAllowed(rules: readonly HostRule[], url: URL): boolean {
  for (const rule of rules) {
    if (rule.kind === 'origin') {
      if (url.origin === rule.origin) return true;
    } else if (url.protocol === 'https:') {
      if (rule.kind === 'host' && (rule.withPort ? url.host === rule.host : url.hostname === rule.host)) return true;
      if (rule.kind === 'subdomains' && url.hostname.endsWith(rule.suffix) && url.hostname.length > rule.suffix.length) return true;
    }
  }
  return false;
}
