/**
 * S3 for the local cloud: s3rver (the S3 API on disk) behind a thin front that adds the parts of
 * S3 the service relies on and s3rver lacks:
 * - SigV4 is verified (s3rver checks only that the access key id exists), for presigned URLs (so an
 *   upload URL signed for N bytes refuses any other size, as in AWS) and header-signed SDK requests
 *   alike, against the one credential this endpoint serves;
 * - unsigned requests are refused, as for a private bucket (s3rver would serve them);
 * - object creation becomes an AWS-shaped S3 event record, with the key URL-encoded the way S3
 *   encodes it in notifications (s3rver's records carry it raw and differ in shape).
 * Not checked: a header-signed body against its x-amz-content-sha256 (the signature covers the
 * claimed hash, so only someone holding the secret can choose it).
 */
import type { S3EventRecord } from 'aws-lambda';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LOCAL_REGION } from '@attestor/contracts/local-state';
import { listen } from './listen';

/**
 * The credential this endpoint serves when none is given: s3rver's built-in dummy account, whose
 * secret is public. s3rver knows no other access key id, so a caller that wants a secret of its own
 * (the local cloud does) keeps this id and passes its own secret.
 */
export const S3RVER_CREDENTIAL = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** An access key and its secret. */
export interface S3Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** S3 refuses a signature made more than 15 minutes from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

interface S3rverOptions {
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
  configureBuckets: Array<{ name: string }>;
}
/** s3rver's raw record: only the fields read here. */
interface S3rverRecord {
  eventName: string;
  requestParameters?: { sourceIPAddress?: string };
  s3: { bucket: { name: string }; object: { key: string; size?: number | string; eTag?: string } };
}
interface S3rverApp extends EventEmitter {
  configureBuckets(): Promise<unknown>;
  /** Koa's request handler. */
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
// s3rver ships no type declarations; this is the part of its API used here.
const S3rver = require('s3rver') as new (options: S3rverOptions) => S3rverApp;

/**
 * Encodes a key as S3 does in event notifications: application/x-www-form-urlencoded (a space as
 * '+', '+' as '%2B', like Java's URLEncoder, which leaves only A-Z a-z 0-9 . - * _ as they are),
 * except that '/' is left as is, which is what S3 sends in practice.
 */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}

type S3Error = { status: number; code: string; message: string };

function sendError(res: ServerResponse, error: S3Error): void {
  const escape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${escape(error.code)}</Code><Message>${escape(error.message)}</Message>` +
    `<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
  // The refused request's body may still be arriving; closing the connection discards it rather
  // than parsing it as the next request.
  res.writeHead(error.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** RFC 3986 encoding as SigV4 canonicalisation requires (encodeURIComponent leaves !'()* alone). */
function sigV4Escape(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Query parameters as sent, decoded without form semantics ('+' stays '+', as SigV4 reads it). */
function parseQuery(search: string): Array<[string, string]> {
  if (!search) return [];
  return search.split('&').map((part) => {
    const eq = part.indexOf('=');
    const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    return [decodeURIComponent(k), decodeURIComponent(v)];
  });
}

/**
 * Recomputes the SigV4 query-string signature of a presigned request and compares it with the one
 * sent. Undefined means the signature is valid; expiry is left to s3rver, which checks it.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
export function verifyPresignedRequest(
  request: {
    method: string;
    /** Path as sent, still percent-encoded: S3 signs the path without re-encoding it. */
    path: string;
    query: ReadonlyArray<readonly [string, string]>;
    headers: IncomingMessage['headers'];
  },
  account: S3Credential = S3RVER_CREDENTIAL,
): S3Error | undefined {
  const param = (name: string) => request.query.find(([k]) => k === name)?.[1];
  const mismatch: S3Error = {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  };
  const credential = param('X-Amz-Credential')?.split('/');
  const amzDate = param('X-Amz-Date');
  const signedHeaders = param('X-Amz-SignedHeaders');
  const signature = param('X-Amz-Signature');
  if (!credential || credential.length !== 5 || !amzDate || !signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature)) {
    return { status: 400, code: 'AuthorizationQueryParametersError', message: 'Query-string authentication version 4 parameters are missing or malformed.' };
  }
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  const secret = accessKeyId === account.accessKeyId ? account.secretAccessKey : undefined;
  if (secret === undefined) {
    return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  }
  if (terminator !== 'aws4_request' || !amzDate.startsWith(date)) return mismatch;

  const names = signedHeaders.split(';');
  const canonicalHeaders = names
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalQuery = request.query
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [sigV4Escape(k), sigV4Escape(v)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const payloadHash = param('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
  const canonicalRequest = [request.method, request.path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = hmac(signingKey, stringToSign);
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? undefined : mismatch;
}

const AUTHORIZATION = new RegExp(
  '^AWS4-HMAC-SHA256 Credential=([^/,\\s]+)/(\\d{8})/([^/,\\s]+)/s3/aws4_request,\\s*SignedHeaders=([a-z0-9;_.-]+),\\s*Signature=([0-9a-f]{64})$',
);
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Recomputes the SigV4 signature of a header-signed request (what the AWS SDK sends) with the SDK's
 * own signer and compares it. The payload hash is what x-amz-content-sha256 claims (S3 requires the
 * header, and signs it); the body itself is not read here. Undefined means the signature is valid.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 */
export async function verifyHeaderSignedRequest(
  request: {
    method: string;
    /** Path as sent, still percent-encoded. */
    path: string;
    query: ReadonlyArray<readonly [string, string]>;
    headers: IncomingMessage['headers'];
  },
  credential: S3Credential = S3RVER_CREDENTIAL,
  nowMs = Date.now(),
): Promise<S3Error | undefined> {
  const header = (name: string) => {
    const value = request.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  const mismatch: S3Error = {
    status: 403,
    code: 'SignatureDoesNotMatch',
    message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  };
  const match = AUTHORIZATION.exec(header('authorization') ?? '');
  if (!match) {
    return { status: 400, code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed; only AWS4-HMAC-SHA256 for s3 is accepted.' };
  }
  const [, accessKeyId, scopeDate, region, signedHeaderList = '', signature = ''] = match;
  if (accessKeyId !== credential.accessKeyId) {
    return { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  }
  const dateText = header('x-amz-date') ?? '';
  const date = AMZ_DATE.exec(dateText);
  const payloadHash = header('x-amz-content-sha256');
  if (!date || dateText.slice(0, 8) !== scopeDate) {
    return { status: 403, code: 'AccessDenied', message: 'X-Amz-Date is missing or does not match the credential scope' };
  }
  if (payloadHash === undefined) return { status: 400, code: 'InvalidRequest', message: 'Missing required header for this request: x-amz-content-sha256' };
  const [, y, mo, d, h, mi, sec] = date.map(Number) as number[];
  const signingMs = Date.UTC(y!, mo! - 1, d!, h!, mi!, sec!);
  if (Math.abs(nowMs - signingMs) > MAX_SKEW_MS) {
    return { status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' };
  }
  const signedNames = signedHeaderList.split(';');
  if (!signedNames.includes('host') || !signedNames.includes('x-amz-content-sha256')) return mismatch;
  const signedHeaders: Record<string, string> = {};
  for (const name of signedNames) {
    const value = header(name);
    if (value === undefined) return mismatch;
    signedHeaders[name] = value;
  }
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of request.query) {
    const previous = query[k];
    query[k] = previous === undefined ? v : [...(Array.isArray(previous) ? previous : [previous]), v];
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: credential.accessKeyId, secretAccessKey: credential.secretAccessKey },
    region: region!,
    service: 's3',
    sha256: Sha256,
    // As the SDK signs for S3: the path as sent, and the payload hash it claims, nothing added.
    uriEscapePath: false,
    applyChecksum: false,
  });
  const expected = await signer.sign(
    { method: request.method, protocol: 'http:', hostname: '', path: request.path, query, headers: signedHeaders },
    { signingDate: new Date(signingMs), signableHeaders: new Set(signedNames) },
  );
  const computed = Buffer.from(/Signature=([0-9a-f]{64})$/.exec(String(expected.headers['authorization'] ?? ''))?.[1] ?? '', 'hex');
  const received = Buffer.from(signature, 'hex');
  return computed.length === received.length && timingSafeEqual(computed, received) ? undefined : mismatch;
}

/** What the front learned about a request, for naming the event s3rver emits while handling it. */
interface RequestInfo {
  readonly operation: 'Put' | 'Post' | 'Copy' | 'CompleteMultipartUpload';
  readonly requestId: string;
}

function operationOf(req: IncomingMessage, query: ReadonlyArray<readonly [string, string]>): RequestInfo['operation'] {
  // s3rver names a completed multipart upload ObjectCreated:Post; S3 says CompleteMultipartUpload.
  if (req.method === 'POST') return query.some(([k]) => k === 'uploadId') ? 'CompleteMultipartUpload' : 'Post';
  return req.headers['x-amz-copy-source'] ? 'Copy' : 'Put';
}

let sequence = 0;
/** S3's sequencer orders events for one key; a hex of time and a counter does the same here. */
function nextSequencer(): string {
  sequence = (sequence + 1) % 0x1000;
  return (BigInt(Date.now()) * 0x1000n + BigInt(sequence)).toString(16).toUpperCase().padStart(16, '0');
}

function toAwsRecord(raw: S3rverRecord, info: RequestInfo | undefined): S3EventRecord {
  const bucket = raw.s3.bucket.name;
  const operation = info?.operation ?? raw.eventName.replace(/^ObjectCreated:/, '');
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: LOCAL_REGION,
    eventTime: new Date().toISOString(),
    eventName: `ObjectCreated:${operation}`,
    userIdentity: { principalId: 'AWS:S3RVER' },
    requestParameters: { sourceIPAddress: (raw.requestParameters?.sourceIPAddress ?? '127.0.0.1').replace(/^::ffff:/, '') },
    responseElements: {
      'x-amz-request-id': info?.requestId ?? randomBytes(8).toString('hex').toUpperCase(),
      'x-amz-id-2': randomBytes(48).toString('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'local-object-created',
      bucket: { name: bucket, ownerIdentity: { principalId: 'S3RVER' }, arn: `arn:aws:s3:::${bucket}` },
      object: {
        key: encodeS3EventKey(raw.s3.object.key),
        size: Number(raw.s3.object.size ?? 0),
        eTag: raw.s3.object.eTag ?? '',
        sequencer: nextSequencer(),
      },
    },
  };
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface LocalS3 {
  /** http://127.0.0.1:<port>; clients need forcePathStyle and the credential it was started with. */
  readonly endpoint: string;
  /** Creates missing bucket directories again (after the data directory was deleted); objects that were in them are gone. */
  restoreBuckets(): Promise<void>;
  /** Stops the server, then waits for onObjectCreated calls still running. */
  close(): Promise<void>;
}

export async function startS3(options: {
  dataDir: string;
  /** 0 or undefined picks a free port. */
  port?: number;
  /** Created if absent; existing buckets and their objects are kept. */
  buckets: string[];
  /**
   * Called once per created object (Put, Post, Copy, CompleteMultipartUpload), before the response
   * to the request that created it is sent, so a caller that tracks the returned promise sees it
   * as pending once the upload has returned. Failures are reported on stderr, not retried.
   */
  onObjectCreated?: (record: S3EventRecord) => void | Promise<void>;
  /**
   * The one credential requests must be signed with. The access key id must be s3rver's (S3RVER);
   * the secret may be anyone's, and should be secret: whoever knows it may write builds.
   * @default S3RVER_CREDENTIAL, whose secret is public
   */
  credential?: S3Credential;
}): Promise<LocalS3> {
  const credential = options.credential ?? S3RVER_CREDENTIAL;
  if (credential.accessKeyId !== S3RVER_CREDENTIAL.accessKeyId) throw new Error(`s3rver knows only the access key id ${S3RVER_CREDENTIAL.accessKeyId}`);
  for (const name of options.buckets) {
    if (!BUCKET_NAME.test(name)) throw new Error(`invalid bucket name ${JSON.stringify(name)}`);
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const s3rver = new S3rver({
    directory: options.dataDir,
    silent: true,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  // Creates each bucket's directory if missing (mkdir -p), so a restart on the same dataDir keeps everything.
  await s3rver.configureBuckets();

  const requestContext = new AsyncLocalStorage<RequestInfo>();
  const pending = new Set<Promise<void>>();
  const notify = options.onObjectCreated;
  s3rver.on('event', (event: { Records: S3rverRecord[] }) => {
    for (const raw of event.Records) {
      if (!notify || !raw.eventName.startsWith('ObjectCreated:')) continue;
      const record = toAwsRecord(raw, requestContext.getStore());
      // Called synchronously here (s3rver emits before responding); the async wrapper turns a
      // synchronous throw into a rejection, so a failing handler cannot fail the upload itself.
      const delivery = (async () => notify(record))()
        .catch((error: unknown) => {
          process.stderr.write(
            `${JSON.stringify({
              level: 'error',
              event: 'local_s3_notification_failed',
              bucket: record.s3.bucket.name,
              objectKey: raw.s3.object.key,
              errorName: (error as Error)?.name,
              errorMessage: (error as Error)?.message,
            })}\n`,
          );
        })
        .finally(() => pending.delete(delivery));
      pending.add(delivery);
    }
  });

  const handle = s3rver.callback();
  const server = createServer((req, res) => {
    void front(req, res).catch(() => {
      if (!res.headersSent) sendError(res, { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' });
      else res.destroy();
    });
  });
  const front = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    let query: Array<[string, string]>;
    try {
      query = parseQuery(queryStart < 0 ? '' : url.slice(queryStart + 1));
    } catch {
      sendError(res, { status: 400, code: 'InvalidURI', message: 'Could not parse the specified URI.' });
      req.resume();
      return;
    }
    // A CORS preflight carries no credentials; s3rver answers it from the bucket's CORS rules.
    if (req.method !== 'OPTIONS') {
      const presigned = query.some(([k]) => k === 'X-Amz-Algorithm');
      const request = { method: req.method ?? 'GET', path, query, headers: req.headers };
      const error = presigned
        ? verifyPresignedRequest(request, credential)
        : req.headers.authorization === undefined
          ? { status: 403, code: 'AccessDenied', message: 'Access Denied' }
          : await verifyHeaderSignedRequest(request, credential);
      if (error) {
        sendError(res, error);
        req.resume();
        return;
      }
    }
    requestContext.run({ operation: operationOf(req, query), requestId: randomBytes(8).toString('hex').toUpperCase() }, () =>
      handle(req, res),
    );
  };
  const port = await listen(server, options.port ?? 0, '127.0.0.1');

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    restoreBuckets: async () => {
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      await s3rver.configureBuckets();
    },
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          // Idle keep-alive sockets of SDK clients would otherwise hold close() open.
          server.closeIdleConnections();
        });
        while (pending.size > 0) await Promise.allSettled([...pending]);
      })()),
  };
}
