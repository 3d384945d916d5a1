/**
 * The HTTP side of the local KMS: AWS JSON 1.1 (`POST /`, `X-Amz-Target: TrentService.<Operation>`),
 * SigV4 authentication, the caller's authorization, and KMS-shaped errors.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../listen';
import { KmsError } from './errors';
import type { EncryptionContext, Input, Output } from './input';
import type { Prepared } from './operation';
import { OPERATIONS } from './operations';
import { verifySignature } from './signature';
import { LocalKms } from './store';

/** What a credential's `authorize` hook is asked; it stands in for IAM and key policies. */
export interface KmsAuthorizationRequest {
  /** e.g. `Decrypt`. */
  readonly operation: string;
  /** ARN of the key acted on (resolved from an alias, or from the ciphertext for Decrypt); absent for CreateKey and ListKeys. */
  readonly keyId?: string;
  /** Present for GenerateDataKeyWithoutPlaintext and Decrypt (empty when the request has none). */
  readonly encryptionContext?: Readonly<Record<string, string>>;
}

export interface LocalKmsCredential {
  readonly secretAccessKey: string;
  /** @default every request is allowed */
  readonly authorize?: (request: KmsAuthorizationRequest) => boolean;
}

export interface KmsServer {
  readonly endpoint: string;
  readonly port: number;
  /** Writes every key and alias held in memory to the data directory again; returns the number of keys. */
  persistAll(): Promise<number>;
  close(): Promise<void>;
}

export interface KmsServerOptions {
  readonly dataDir: string;
  /** 0 (the default) picks an ephemeral port. */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** The region requests must be signed for, and of the key ARNs. @default us-east-1 */
  readonly region?: string;
  /** @default 000000000000 */
  readonly accountId?: string;
  /**
   * The credential of an access key id, or undefined for one this endpoint does not know.
   * @default only LOCAL_SERVICE_CREDENTIAL (S3RVER/S3RVER, the local cloud's service credential), allowed everything
   */
  readonly credentials?: (accessKeyId: string) => LocalKmsCredential | undefined;
}

/** The one credential the local cloud's AWS SDK clients use for every stand-in (s3rver accepts only this). */
export const LOCAL_SERVICE_CREDENTIAL = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const serviceCredentialOnly = (accessKeyId: string): LocalKmsCredential | undefined =>
  accessKeyId === LOCAL_SERVICE_CREDENTIAL.accessKeyId ? { secretAccessKey: LOCAL_SERVICE_CREDENTIAL.secretAccessKey } : undefined;

export async function startKmsServer(options: KmsServerOptions): Promise<KmsServer> {
  const host = options.host ?? '127.0.0.1';
  const kms = await LocalKms.load(options.dataDir, options.region ?? 'us-east-1', options.accountId ?? '000000000000');
  const credentials = options.credentials ?? serviceCredentialOnly;
  const server = createServer((req, res) => {
    void handleRequest(kms, credentials, req, res);
  });
  const port = await listen(server, options.port ?? 0, host);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${hostPart}:${port}`,
    port,
    persistAll: () => kms.persistAll(),
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // SDK clients keep connections alive; idle ones would hold close() open forever.
        server.closeIdleConnections();
      }).then(() => kms.flush())),
  };
}

const TARGET_PREFIX = 'TrentService.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Well above the largest legal request (a 32 KiB key policy); anything bigger is a client bug. */
const MAX_BODY_BYTES = 128 * 1024;

async function handleRequest(
  kms: LocalKms,
  credentials: NonNullable<KmsServerOptions['credentials']>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let operation = 'unknown';
  try {
    if (req.method !== 'POST') throw new KmsError('UnknownOperationException', `KMS accepts only POST requests, not ${req.method}`);
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query: Record<string, string[]> = {};
    for (const [name, value] of url.searchParams) (query[name] ??= []).push(value);
    const { accessKeyId, credential } = await verifySignature(
      { method: req.method, path: url.pathname, query, headers: flatHeaders(req), body },
      { region: kms.region, nowMs: Date.now(), credentials },
    );
    const target = header(req, 'x-amz-target') ?? '';
    const run = target.startsWith(TARGET_PREFIX) ? OPERATIONS.get(target.slice(TARGET_PREFIX.length)) : undefined;
    if (!run) throw new KmsError('UnknownOperationException', 'The requested operation is not supported by this KMS endpoint');
    operation = target.slice(TARGET_PREFIX.length);
    const contentType = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== CONTENT_TYPE && contentType !== 'application/json') {
      throw new KmsError('SerializationException', `Content-Type must be ${CONTENT_TYPE}`);
    }
    const input = parseBody(body);
    await kms.purgeDeletedKeys();
    const prepared = run(kms, input);
    authorize(kms, accessKeyId, credential, operation, prepared);
    send(res, 200, await prepared.execute());
  } catch (error) {
    if (error instanceof KmsError) {
      if (error.status === 413) res.setHeader('connection', 'close');
      send(res, error.status, { __type: error.type, message: error.message });
    } else {
      // Only the class and operation: messages of unexpected errors could quote request contents.
      console.error(`kms-server: internal error in ${operation}: ${error instanceof Error ? error.name : typeof error}`);
      send(res, 500, { __type: 'KMSInternalException', message: 'The request failed because of an internal error' });
    }
  }
}

function authorize(kms: LocalKms, accessKeyId: string, credential: LocalKmsCredential, operation: string, prepared: Prepared): void {
  const keyArn = prepared.key ? kms.arn(prepared.key.keyId) : undefined;
  const request: KmsAuthorizationRequest = {
    operation,
    ...(keyArn !== undefined ? { keyId: keyArn } : {}),
    ...(prepared.encryptionContext !== undefined ? { encryptionContext: prepared.encryptionContext } : {}),
  };
  if (!credential.authorize || credential.authorize(request)) return;
  const context = prepared.encryptionContext === undefined ? '' : ` with encryption context ${describeContext(prepared.encryptionContext)}`;
  throw new KmsError('AccessDeniedException', `${accessKeyId} is not authorized to perform: kms:${operation} on resource: ${keyArn ?? '*'}${context}`);
}

const describeContext = (context: EncryptionContext): string =>
  JSON.stringify(Object.fromEntries(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))));

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(',') : value;
  return headers;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new KmsError('RequestEntityTooLargeException', `Request body exceeds ${MAX_BODY_BYTES} bytes`, 413));
        // Stop buffering; the connection is closed after the error response.
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    // A client that hangs up mid-body is not a server fault; answer (if anyone listens) as a bad request.
    req.on('error', () => reject(new KmsError('SerializationException', 'The request body could not be read')));
  });
}

function parseBody(body: Buffer): Input {
  // The SDK sends "{}" for operations without input; an empty body means the same.
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new KmsError('SerializationException', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KmsError('SerializationException', 'Request body must be a JSON object');
  }
  return parsed as Input;
}

function send(res: ServerResponse, status: number, body: Output): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}
