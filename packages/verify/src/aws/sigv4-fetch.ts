/**
 * A fetch for the Attestor admin routes verifiers read (JWKS, wrapped secrets): they are
 * IAM-authorized, so each request is signed with SigV4 using the caller's own credentials (in Lambda,
 * its role).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FetchLike } from '../jwks';
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

/** A fetch (GET only, no body) that signs each request with SigV4. */
export function sigV4Fetch(options: SigV4FetchOptions): FetchLike {
  const signer = new SignatureV4({
    credentials: options.credentials ?? defaultProvider(),
    region: options.region,
    service: options.service ?? 'execute-api',
    sha256: Sha256,
  });
  const send = options.fetch ?? (globalThis.fetch as unknown as FetchLike);
  return async (url, init) => send(url, { ...init, headers: await signUrlRequest(signer, { method: init.method, url: new URL(url), headers: { ...init.headers } }) });
}
