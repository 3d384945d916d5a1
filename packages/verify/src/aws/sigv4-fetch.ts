/**
 * A fetch for the Attestor admin routes verifiers read (JWKS, wrapped secrets): they are
 * IAM-authorized, so each request is signed with SigV4 using the caller's own credentials (in Lambda,
 * its role).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { isRedirect, redirectRefused, type FetchedDocument, type FetchLike } from '../jwks';
import { signUrlRequest } from './sigv4-url';

/** A call without a signal of its own gives up after this long, as the verifier's key fetches do. */
const DEFAULT_TIMEOUT_MS = 3000;

/** Options of sigV4Fetch. */
export interface SigV4FetchOptions {
  readonly region: string;
  /** @default the AWS SDK's default provider chain (in Lambda: the function's role) */
  readonly credentials?: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  /** @default 'execute-api' */
  readonly service?: string;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
}

/** What sigV4Fetch returns: a FetchLike (the verifier's `fetch` option) that can also be called with a URL alone. */
export type SignedFetch = FetchLike & ((url: string | URL, init?: Partial<Parameters<FetchLike>[1]>) => Promise<FetchedDocument>);

/**
 * A fetch (GET only, no body) that signs each request with SigV4. It never follows a redirect,
 * whatever the caller asks: the signed headers (the role's `x-amz-security-token` among them) go
 * to the URL signed and nowhere else, and a 3xx is a JwksFetchError naming the Location's origin.
 *
 * @example
 * ```ts
 * const signedFetch = sigV4Fetch({ region: 'eu-west-1' }); // the backend's own credentials
 * const verifier = createVerifier({ issuer: 'attestor', audience: 'acme', jwksUrl: `${apiUrl}v1/admin/keys/jwks`, fetch: signedFetch });
 * ```
 */
export function sigV4Fetch(options: SigV4FetchOptions): SignedFetch {
  const signer = new SignatureV4({
    credentials: options.credentials ?? defaultProvider(),
    region: options.region,
    service: options.service ?? 'execute-api',
    sha256: Sha256,
  });
  const send = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  return async (url: string | URL, init: Partial<Parameters<FetchLike>[1]> = {}) => {
    const target = new URL(url);
    const headers = await signUrlRequest(signer, { method: 'GET', url: target, headers: { ...init.headers } });
    const response = await send(target.toString(), {
      method: 'GET',
      headers,
      signal: init.signal ?? AbortSignal.timeout(DEFAULT_TIMEOUT_MS),
      redirect: 'manual',
    });
    if (isRedirect(response.status)) throw redirectRefused(`signed GET ${target.origin}${target.pathname}`, target, response);
    return response;
  };
}
