/**
 * AWS Signature Version 4 verification for the local KMS, as KMS does it: the credential scope
 * must name this region and `kms`, host and x-amz-date must be signed, X-Amz-Date must be within
 * 15 minutes of the server clock, and the signature must cover the canonical request with the hash
 * of the body actually received. The expected signature is recomputed with the signer the AWS SDK
 * itself uses, over exactly the headers the client says it signed.
 *
 * local/sigv4.ts (the gateway's verifier for API Gateway IAM routes) does not fit as is: its
 * service is fixed to execute-api, its window is API Gateway's 5 minutes and its errors are API
 * Gateway's. Its request shape is shared.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { SignedRequest } from '../sigv4';
import { KmsError } from './errors';

const SIGNING_SERVICE = 'kms';
/** KMS accepts requests signed up to 15 minutes before or after its own clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/([^/,\s]+),\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export interface SignatureCheck<C extends { readonly secretAccessKey: string }> {
  readonly region: string;
  /** The credential of an access key id; undefined for one this endpoint does not know. */
  readonly credentials: (accessKeyId: string) => C | undefined;
  readonly nowMs: number;
}

const incomplete = (message: string) => new KmsError('IncompleteSignatureException', message);
const invalid = (message: string) => new KmsError('InvalidSignatureException', message, 403);

const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** Resolves with the signer of a correctly signed request; throws a KmsError otherwise. */
export async function verifySignature<C extends { readonly secretAccessKey: string }>(
  request: SignedRequest,
  check: SignatureCheck<C>,
): Promise<{ accessKeyId: string; credential: C }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name.toLowerCase()] = value;
  const authorization = headers['authorization'];
  if (!authorization) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const match = AUTHORIZATION.exec(authorization);
  if (!match) throw incomplete('Authorization header is not a complete AWS4-HMAC-SHA256 signature (Credential, SignedHeaders, Signature)');
  const [, accessKeyId = '', scopeDate, region, service, terminator, signedHeaderList = '', signature = ''] = match;

  const credential = check.credentials(accessKeyId);
  if (credential === undefined) throw new KmsError('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (terminator !== 'aws4_request') throw invalid("Credential should be scoped with a valid terminator: 'aws4_request'");
  if (service !== SIGNING_SERVICE) throw invalid(`Credential should be scoped to correct service: '${SIGNING_SERVICE}'.`);
  if (region !== check.region) throw invalid(`Credential should be scoped to a valid region, not '${region}'. This endpoint serves '${check.region}'.`);

  const dateText = headers['x-amz-date'] ?? '';
  const date = AMZ_DATE.exec(dateText);
  if (!date) throw incomplete('X-Amz-Date is missing or not of the form YYYYMMDDTHHMMSSZ');
  const [, y, mo, d, h, mi, s] = date.map(Number) as number[];
  const signingMs = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  if (dateText.slice(0, 8) !== scopeDate)
    throw invalid(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${dateText.slice(0, 8)}'`);
  // AWS's own wording, which the SDK recognizes as clock skew and corrects on retry.
  if (signingMs < check.nowMs - MAX_CLOCK_SKEW_MS)
    throw invalid(`Signature expired: ${dateText} is now earlier than ${amzDate(check.nowMs - MAX_CLOCK_SKEW_MS)} (${amzDate(check.nowMs)} - 15 min.)`);
  if (signingMs > check.nowMs + MAX_CLOCK_SKEW_MS)
    throw invalid(`Signature not yet current: ${dateText} is still later than ${amzDate(check.nowMs + MAX_CLOCK_SKEW_MS)} (${amzDate(check.nowMs)} + 15 min.)`);

  const signedNames = signedHeaderList.split(';');
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-date')) throw incomplete("SignedHeaders must include 'host' and 'x-amz-date'");
  const signedHeaders: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headers[name];
    if (value === undefined) throw incomplete(`Header '${name}' is listed in SignedHeaders but missing from the request`);
    signedHeaders[name] = value;
  }
  // The signer takes x-amz-content-sha256 as the body hash when it is present, so a client could
  // sign one body and send another; signed or not, it must be the hash of the body received.
  const claimedHash = headers['x-amz-content-sha256'];
  if (claimedHash !== undefined && claimedHash.toLowerCase() !== createHash('sha256').update(request.body).digest('hex')) {
    throw invalid('x-amz-content-sha256 is not the SHA-256 of the request body (unsigned payloads are not accepted)');
  }

  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: credential.secretAccessKey },
    region: check.region,
    service: SIGNING_SERVICE,
    sha256: Sha256,
    // Canonicalize exactly the headers the client signed; never add one it did not.
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: '',
      path: request.path,
      query: request.query,
      headers: signedHeaders,
      body: request.body,
    },
    { signingDate: new Date(signingMs), signableHeaders: new Set(signedNames) },
  );
  const computed = Buffer.from(/Signature=([0-9a-f]{64})$/.exec(String(expected.headers['authorization'] ?? ''))?.[1] ?? '', 'hex');
  const received = Buffer.from(signature, 'hex');
  if (computed.length !== received.length || !timingSafeEqual(computed, received)) {
    throw invalid(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the ' +
        'service documentation for details.',
    );
  }
  return { accessKeyId, credential };
}
