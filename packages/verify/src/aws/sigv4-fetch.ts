/**
 * A fetch for the Attestor admin routes verifiers read (JWKS, wrapped secrets): they are
 * IAM-authorized, so each request is signed with SigV4 using the caller's own credentials (in Lambda,
 * its role).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { isRedirect, redirectRefused, type FetchLike } from '../jwks';
import { signUrlRequest } from './sigv4-url';

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

/**
 * A fetch (GET only, no body) that signs each request with SigV4. It never follows a redirect,
 * whatever the caller asks: the signed headers (the role's `x-amz-security-token` among them) go
 * to the URL signed and nowhere else, and a 3xx is a JwksFetchError naming the Location's origin.
 */
export function sigV4Fetch(options: SigV4FetchOptions): FetchLike {
  const signer = new SignatureV4({
    credentials: options.credentials ?? defaultProvider(),
    region: options.region,
    service: options.service ?? 'execute-api',
    sha256: Sha256,
  });
  const send = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  return async (url, init) => {
    const target = new URL(url);
    const headers = await signUrlRequest(signer, { method: init.method, url: target, headers: { ...init.headers } });
    const response = await send(url, { ...init, headers, redirect: 'manual' });
    if (isRedirect(response.status)) throw redirectRefused(`signed GET ${target.origin}${target.pathname}`, target, response);
    return response;
  };
}
