/**
 * SigV4 verification for the local gateway's admin routes, standing in for API Gateway's AWS_IAM
 * authorization. The expected signature is recomputed with the same signer the AWS SDK uses, so a
 * request the local gateway accepts is one API Gateway would accept with the same credential.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminCredentials } from '@attestor/contracts/local-state';
import { ADMIN_SIGNING_SERVICE } from '@attestor/contracts/local-state';

export interface SignedRequest {
  readonly method: string;
  /** Path without query string, as sent. */
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  /** Header names in any case. */
  readonly headers: Record<string, string | undefined>;
  readonly body: Buffer;
}

export type SigV4Result =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

const AUTH_PATTERN = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** API Gateway refuses signatures more than 5 minutes off. */
const MAX_SKEW_MS = 5 * 60 * 1000;

function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!m) return undefined;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** Finds the credential of an access key id; undefined for one the gateway does not know. */
export type CredentialLookup = (accessKeyId: string) => AdminCredentials | undefined;

export async function verifySigV4(request: SignedRequest, lookup: CredentialLookup, nowMs = Date.now()): Promise<SigV4Result> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers[name.toLowerCase()] = value;
  const authorization = headers['authorization'];
  // API Gateway's own wording for an unsigned request to an IAM route.
  if (!authorization) return { ok: false, status: 403, message: 'Missing Authentication Token' };
  const match = authorization.match(AUTH_PATTERN);
  if (!match) return { ok: false, status: 403, message: 'Authorization header is not a valid AWS4-HMAC-SHA256 signature' };
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = match as unknown as string[];
  const credentials = lookup(accessKeyId!);
  if (!credentials) return { ok: false, status: 403, message: 'The security token included in the request is invalid.' };
  if (service !== ADMIN_SIGNING_SERVICE || region !== credentials.region) {
    return { ok: false, status: 403, message: `Credential should be scoped to ${credentials.region}/${ADMIN_SIGNING_SERVICE}` };
  }
  const signingDate = parseAmzDate(headers['x-amz-date']);
  if (!signingDate || !scopeDate || signingDate.toISOString().slice(0, 10).replace(/-/g, '') !== scopeDate) {
    return { ok: false, status: 403, message: 'X-Amz-Date is missing or does not match the credential scope' };
  }
  if (Math.abs(nowMs - signingDate.getTime()) > MAX_SKEW_MS) return { ok: false, status: 403, message: 'Signature expired' };

  const signedNames = signedHeaderList!.split(';');
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-date')) {
    return { ok: false, status: 403, message: 'host and x-amz-date must be signed' };
  }
  const toSign: Record<string, string> = {};
  for (const name of signedNames) {
    const value = headers[name];
    if (value === undefined) return { ok: false, status: 403, message: `signed header ${name} is missing` };
    toSign[name] = value;
  }
  // The signer takes x-amz-content-sha256 as the payload hash when present, so a client could sign
  // one body and send another. Check the claimed hash against the body actually received.
  const claimedHash = headers['x-amz-content-sha256'];
  if (claimedHash !== undefined) {
    const actual = createHash('sha256').update(request.body).digest('hex');
    if (claimedHash !== 'UNSIGNED-PAYLOAD' && claimedHash.toLowerCase() !== actual) {
      return { ok: false, status: 403, message: 'x-amz-content-sha256 does not match the request body' };
    }
    if (claimedHash === 'UNSIGNED-PAYLOAD') return { ok: false, status: 403, message: 'unsigned payloads are not accepted' };
  }
  const [hostname, port] = (headers['host'] ?? '').split(':');
  const signer = new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    region: credentials.region,
    service: ADMIN_SIGNING_SERVICE,
    sha256: Sha256,
    // Canonicalize exactly the headers the client signed. Left on, the signer would add an
    // x-amz-content-sha256 header to the canonical request, refusing every spec-valid client
    // (botocore, curl --aws-sigv4) that does not sign one.
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: hostname ?? '',
      ...(port ? { port: Number(port) } : {}),
      path: request.path,
      query: request.query,
      headers: toSign,
      body: request.body.length > 0 ? request.body : undefined,
    },
    { signingDate, signableHeaders: new Set(signedNames) },
  );
  const expectedMatch = String(expected.headers['authorization'] ?? '').match(/Signature=([0-9a-f]{64})$/);
  const a = Buffer.from(expectedMatch?.[1] ?? '', 'hex');
  const b = Buffer.from(signature!, 'hex');
  if (a.length !== 32 || !timingSafeEqual(a, b)) {
    return { ok: false, status: 403, message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return { ok: true, accessKeyId: accessKeyId! };
}
