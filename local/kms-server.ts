/**
 * A KMS-compatible endpoint for the local cloud. There is no KMS emulator to install (no LocalStack,
 * no moto, no Docker), so this speaks just enough of the AWS JSON 1.1 protocol (`X-Amz-Target:
 * TrentService.<Operation>`) for the real `KMSClient` to run the same adapter code as in AWS:
 * ECC_NIST_P256 signing keys, aliases, tags, enable/disable and scheduled deletion.
 *
 * Deliberate limits, because the local cloud is a single-user, loopback-only development stand-in:
 * requests are not SigV4-verified (only an Authorization header is demanded, so a misconfigured
 * client is noticed), key policies and grants are accepted and ignored, and one server process owns
 * a data directory at a time.
 */
import { createPrivateKey, createPublicKey, randomBytes, randomUUID, sign as signMessage, verify as verifyMessage, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { derToP1363, p1363ToDer } from '../src/core/ecdsa';
import { listen } from './listen';
import { generateP256KeyPair } from '../src/core/p256';

export interface KmsServer {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface KmsServerOptions {
  readonly dataDir: string;
  /** 0 (the default) picks an ephemeral port. */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** @default us-east-1 */
  readonly region?: string;
  /** @default 000000000000 */
  readonly accountId?: string;
}

export async function startKmsServer(options: KmsServerOptions): Promise<KmsServer> {
  const host = options.host ?? '127.0.0.1';
  const kms = await LocalKms.load(options.dataDir, options.region ?? 'us-east-1', options.accountId ?? '000000000000');
  const server = createServer((req, res) => {
    void handleRequest(kms, req, res);
  });
  const port = await listen(server, options.port ?? 0, host);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${hostPart}:${port}`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // SDK clients keep connections alive; idle ones would hold close() open forever.
        server.closeIdleConnections();
      }).then(() => kms.flush())),
  };
}

// ---------------------------------------------------------------------------------------------
// Protocol

const TARGET_PREFIX = 'TrentService.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Well above the largest legal request (a 32 KiB key policy); anything bigger is a client bug. */
const MAX_BODY_BYTES = 128 * 1024;

/** An error the client should see, serialized the way KMS does: `{"__type": ..., "message": ...}`. */
class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Input = Readonly<Record<string, unknown>>;
type Output = Record<string, unknown>;
type Handler = (kms: LocalKms, input: Input) => Output | Promise<Output>;

async function handleRequest(kms: LocalKms, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let operation = 'unknown';
  try {
    if (req.method !== 'POST') throw new KmsError('UnknownOperationException', `KMS accepts only POST requests, not ${req.method}`);
    if (!req.headers.authorization) throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (!req.headers.authorization.startsWith('AWS4-HMAC-SHA256 ')) {
      throw new KmsError('IncompleteSignatureException', 'Authorization header is not an AWS Signature Version 4 header');
    }
    const target = header(req, 'x-amz-target') ?? '';
    const handler = target.startsWith(TARGET_PREFIX) ? HANDLERS.get(target.slice(TARGET_PREFIX.length)) : undefined;
    if (!handler) throw new KmsError('UnknownOperationException', 'The requested operation is not supported by this KMS endpoint');
    operation = target.slice(TARGET_PREFIX.length);
    const contentType = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== CONTENT_TYPE && contentType !== 'application/json') {
      throw new KmsError('SerializationException', `Content-Type must be ${CONTENT_TYPE}`);
    }
    const input = parseBody(await readBody(req));
    await kms.purgeDeletedKeys();
    send(res, 200, await handler(kms, input));
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

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
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

// ---------------------------------------------------------------------------------------------
// Input validation. Type mismatches are SerializationException and constraint violations
// ValidationException, as in AWS; member names in messages are lowerCamelCase like AWS's.

const memberName = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

function validation(name: string, value: unknown, constraint: string): KmsError {
  const shown = typeof value === 'string' ? `'${value.length > 64 ? `${value.slice(0, 64)}...` : value}'` : String(value);
  return new KmsError('ValidationException', `1 validation error detected: Value ${shown} at '${memberName(name)}' failed to satisfy constraint: ${constraint}`);
}

function typeError(name: string, expected: string): KmsError {
  return new KmsError('SerializationException', `Expected ${expected} for member ${name}`);
}

function optString(input: Input, name: string, min = 1, max = 2048): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw typeError(name, 'a string');
  if (value.length < min) throw validation(name, value, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw validation(name, value, `Member must have length less than or equal to ${max}`);
  return value;
}

function reqString(input: Input, name: string, min = 1, max = 2048): string {
  const value = optString(input, name, min, max);
  if (value === undefined) throw validation(name, null, 'Member must not be null');
  return value;
}

function optEnum<T extends string>(input: Input, name: string, allowed: readonly T[]): T | undefined {
  const value = optString(input, name, 1, 256);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw validation(name, value, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  return value as T;
}

function reqEnum<T extends string>(input: Input, name: string, allowed: readonly T[]): T {
  const value = optEnum(input, name, allowed);
  if (value === undefined) throw validation(name, null, 'Member must not be null');
  return value;
}

function optInteger(input: Input, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(name, 'an integer');
  if (value < min) throw validation(name, value, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw validation(name, value, `Member must have value less than or equal to ${max}`);
  return value;
}

function optBoolean(input: Input, name: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw typeError(name, 'a boolean');
  return value;
}

function optStringList(input: Input, name: string, maxItems: number): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) throw typeError(name, 'a list of strings');
  if (value.length > maxItems) throw validation(name, `[${value.length} items]`, `Member must have length less than or equal to ${maxItems}`);
  return value;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Blob members travel as base64 in JSON protocols. */
function reqBlob(input: Input, name: string, max: number): Buffer {
  const value = input[name];
  if (value === undefined || value === null) throw validation(name, null, 'Member must not be null');
  if (typeof value !== 'string' || !BASE64.test(value)) throw typeError(name, 'a base64-encoded blob');
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length < 1) throw validation(name, '(empty blob)', 'Member must have length greater than or equal to 1');
  if (bytes.length > max) throw validation(name, `(${bytes.length} bytes)`, `Member must have length less than or equal to ${max}`);
  return bytes;
}

const MAX_TAGS = 50;

function optTags(input: Input, name: string): Map<string, string> | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw typeError(name, 'a list of tags');
  const tags = new Map<string, string>();
  for (const item of value) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw typeError(name, 'a list of tags');
    const tag = item as Input;
    const key = reqString(tag, 'TagKey', 1, 128);
    const tagValue = optString(tag, 'TagValue', 0, 256);
    if (tagValue === undefined) throw validation('TagValue', null, 'Member must not be null');
    if (key.startsWith('aws:')) throw new KmsError('TagException', `Tag keys beginning with "aws:" are reserved: ${key}`);
    if (tags.has(key)) throw new KmsError('TagException', `Duplicate tag key: ${key}`);
    tags.set(key, tagValue);
  }
  return tags;
}

// ---------------------------------------------------------------------------------------------
// Pagination: markers are opaque to clients; here they carry the sort key of the last item.

function paginate<T>(items: readonly T[], sortKey: (item: T) => string, limit: number, marker: string | undefined): { page: T[]; next?: string } {
  let start = 0;
  if (marker !== undefined) {
    const after = Buffer.from(marker, 'base64url').toString('utf8');
    if (!after || Buffer.from(after, 'utf8').toString('base64url') !== marker) throw new KmsError('InvalidMarkerException', 'The marker is not valid');
    start = items.findIndex((item) => sortKey(item) > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + limit);
  const last = page[page.length - 1];
  return start + limit < items.length && last !== undefined ? { page, next: Buffer.from(sortKey(last), 'utf8').toString('base64url') } : { page };
}

function listResult(listName: string, result: { page: Output[]; next?: string }): Output {
  return { [listName]: result.page, Truncated: result.next !== undefined, ...(result.next !== undefined ? { NextMarker: result.next } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Operations

const KEY_SPECS = ['ECC_NIST_EDWARDS25519', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ML_KEM_1024', 'ML_KEM_512', 'ML_KEM_768', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2', 'SYMMETRIC_DEFAULT'] as const;
const KEY_USAGES = ['ENCAPSULATE_DECAPSULATE', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'SIGN_VERIFY'] as const;
const SIGNING_ALGORITHMS = ['ECDSA_SHA_256', 'ECDSA_SHA_384', 'ECDSA_SHA_512', 'ED25519_PH_SHA_512', 'ED25519_SHA_512', 'ML_DSA_SHAKE_256', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512', 'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'SM2DSA'] as const;
const MESSAGE_TYPES = ['DIGEST', 'EXTERNAL_MU', 'RAW'] as const;
const ORIGINS = ['AWS_CLOUDHSM', 'AWS_KMS', 'EXTERNAL', 'EXTERNAL_KEY_STORE'] as const;

const MAX_RAW_MESSAGE_BYTES = 4096;
const SHA256_BYTES = 32;

const HANDLERS = new Map<string, Handler>([
  ['CreateKey', createKey],
  ['DescribeKey', (kms, input) => ({ KeyMetadata: kms.metadata(kms.resolve(reqString(input, 'KeyId'), true)) })],
  ['GetPublicKey', getPublicKey],
  ['Sign', signOperation],
  ['Verify', verifyOperation],
  ['CreateAlias', createAlias],
  ['UpdateAlias', updateAlias],
  ['DeleteAlias', deleteAlias],
  ['ListAliases', listAliases],
  ['ListKeys', listKeys],
  ['TagResource', tagResource],
  ['UntagResource', untagResource],
  ['ListResourceTags', listResourceTags],
  ['ScheduleKeyDeletion', scheduleKeyDeletion],
  ['CancelKeyDeletion', cancelKeyDeletion],
  ['DisableKey', (kms, input) => setEnabled(kms, input, false)],
  ['EnableKey', (kms, input) => setEnabled(kms, input, true)],
]);

async function createKey(kms: LocalKms, input: Input): Promise<Output> {
  optString(input, 'Policy', 1, 32768); // accepted for compatibility; key policies are not enforced locally
  const description = optString(input, 'Description', 0, 8192) ?? '';
  const keyUsage = optEnum(input, 'KeyUsage', KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
  const keySpec = optEnum(input, 'KeySpec', KEY_SPECS);
  const legacySpec = optEnum(input, 'CustomerMasterKeySpec', KEY_SPECS);
  if (keySpec && legacySpec && keySpec !== legacySpec) throw new KmsError('ValidationException', 'KeySpec and CustomerMasterKeySpec must not differ');
  const spec = keySpec ?? legacySpec ?? 'SYMMETRIC_DEFAULT';
  const origin = optEnum(input, 'Origin', ORIGINS) ?? 'AWS_KMS';
  optBoolean(input, 'BypassPolicyLockoutSafetyCheck');
  const tags = optTags(input, 'Tags') ?? new Map<string, string>();
  if (spec === 'ECC_NIST_P256' && keyUsage !== 'SIGN_VERIFY' && keyUsage !== 'KEY_AGREEMENT') {
    throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${spec}`);
  }
  if (spec !== 'ECC_NIST_P256' || keyUsage !== 'SIGN_VERIFY') {
    throw new KmsError('UnsupportedOperationException', 'This local KMS supports only KeySpec ECC_NIST_P256 with KeyUsage SIGN_VERIFY');
  }
  if (origin !== 'AWS_KMS' || optBoolean(input, 'MultiRegion') || optString(input, 'CustomKeyStoreId') || optString(input, 'XksKeyId')) {
    throw new KmsError('UnsupportedOperationException', 'This local KMS supports only single-Region keys with origin AWS_KMS');
  }
  const key = await kms.createKey(description, tags);
  return { KeyMetadata: kms.metadata(key) };
}

function getPublicKey(kms: LocalKms, input: Input): Output {
  const keyRef = reqString(input, 'KeyId');
  optStringList(input, 'GrantTokens', 10);
  const key = kms.resolve(keyRef, true);
  kms.requireUsable(key);
  return {
    KeyId: kms.arn(key.keyId),
    PublicKey: key.spki.toString('base64'),
    CustomerMasterKeySpec: key.stored.keySpec,
    KeySpec: key.stored.keySpec,
    KeyUsage: key.stored.keyUsage,
    SigningAlgorithms: ['ECDSA_SHA_256'],
  };
}

interface SigningRequest {
  readonly key: LiveKey;
  readonly message: Buffer;
  readonly messageType: 'RAW' | 'DIGEST';
  readonly algorithm: 'ECDSA_SHA_256';
}

/** Validation shared by Sign and Verify: the whole input is parsed before any key is looked up. */
function signingRequest(kms: LocalKms, input: Input): SigningRequest {
  const keyRef = reqString(input, 'KeyId');
  const message = reqBlob(input, 'Message', MAX_RAW_MESSAGE_BYTES);
  const algorithm = reqEnum(input, 'SigningAlgorithm', SIGNING_ALGORITHMS);
  const messageType = optEnum(input, 'MessageType', MESSAGE_TYPES) ?? 'RAW';
  optStringList(input, 'GrantTokens', 10);
  optBoolean(input, 'DryRun');
  const key = kms.resolve(keyRef, true);
  kms.requireUsable(key);
  if (algorithm !== 'ECDSA_SHA_256') {
    throw new KmsError('InvalidKeyUsageException', `Signing algorithm ${algorithm} is not supported for a ${key.stored.keySpec} key; use ECDSA_SHA_256`);
  }
  if (messageType === 'EXTERNAL_MU') throw new KmsError('InvalidKeyUsageException', 'MessageType EXTERNAL_MU is supported only for ML-DSA keys');
  if (messageType === 'DIGEST' && message.length !== SHA256_BYTES) {
    throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}: expected ${SHA256_BYTES} bytes`);
  }
  return { key, message, messageType, algorithm };
}

function checkDryRun(input: Input): void {
  if (optBoolean(input, 'DryRun')) throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set');
}

function signOperation(kms: LocalKms, input: Input): Output {
  const request = signingRequest(kms, input);
  checkDryRun(input);
  const signature =
    request.messageType === 'RAW'
      ? signMessage('sha256', request.message, request.key.privateKey)
      : p1363ToDer(signDigest(request.key.scalar(), request.message));
  return { KeyId: kms.arn(request.key.keyId), Signature: signature.toString('base64'), SigningAlgorithm: request.algorithm };
}

function verifyOperation(kms: LocalKms, input: Input): Output {
  const signature = reqBlob(input, 'Signature', 6144);
  const request = signingRequest(kms, input);
  checkDryRun(input);
  let valid = false;
  try {
    valid =
      request.messageType === 'RAW'
        ? verifyMessage('sha256', request.message, request.key.publicKey, signature)
        : verifyDigest(request.key.point(), request.message, derToP1363(signature));
  } catch {
    valid = false; // malformed DER is an invalid signature, not a server fault
  }
  if (!valid) throw new KmsError('KMSInvalidSignatureException', 'The signature verification failed');
  return { KeyId: kms.arn(request.key.keyId), SignatureValid: true, SigningAlgorithm: request.algorithm };
}

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

function aliasName(input: Input): string {
  const name = reqString(input, 'AliasName', 1, 256);
  if (!ALIAS_NAME.test(name)) {
    throw new KmsError('InvalidAliasNameException', `Alias name ${name} must begin with alias/ and contain only alphanumerics, /, _ and -`);
  }
  if (name.startsWith('alias/aws/')) throw new KmsError('InvalidAliasNameException', 'Alias names beginning with alias/aws/ are reserved for AWS managed keys');
  return name;
}

async function createAlias(kms: LocalKms, input: Input): Promise<Output> {
  const name = aliasName(input);
  const target = kms.resolve(reqString(input, 'TargetKeyId'), false);
  kms.requireNotPendingDeletion(target);
  await kms.createAlias(name, target.keyId);
  return {};
}

async function updateAlias(kms: LocalKms, input: Input): Promise<Output> {
  const name = aliasName(input);
  const target = kms.resolve(reqString(input, 'TargetKeyId'), false);
  kms.requireNotPendingDeletion(target);
  await kms.updateAlias(name, target.keyId);
  return {};
}

async function deleteAlias(kms: LocalKms, input: Input): Promise<Output> {
  await kms.deleteAlias(aliasName(input));
  return {};
}

function listAliases(kms: LocalKms, input: Input): Output {
  const keyId = optString(input, 'KeyId');
  const limit = optInteger(input, 'Limit', 1, 100) ?? 50;
  const marker = optString(input, 'Marker', 1, 1024);
  const filter = keyId === undefined ? undefined : kms.resolve(keyId, false).keyId;
  const aliases = kms.aliasList().filter((alias) => filter === undefined || alias.targetKeyId === filter);
  const result = paginate(aliases, (alias) => alias.name, limit, marker);
  return listResult('Aliases', {
    ...result,
    page: result.page.map((alias) => ({
      AliasName: alias.name,
      AliasArn: kms.aliasArn(alias.name),
      TargetKeyId: alias.targetKeyId,
      CreationDate: alias.createdAt / 1000,
      LastUpdatedDate: alias.updatedAt / 1000,
    })),
  });
}

function listKeys(kms: LocalKms, input: Input): Output {
  const limit = optInteger(input, 'Limit', 1, 1000) ?? 100;
  const marker = optString(input, 'Marker', 1, 1024);
  const result = paginate(kms.keyIds(), (id) => id, limit, marker);
  return listResult('Keys', { ...result, page: result.page.map((id) => ({ KeyId: id, KeyArn: kms.arn(id) })) });
}

async function tagResource(kms: LocalKms, input: Input): Promise<Output> {
  const keyRef = reqString(input, 'KeyId');
  const tags = optTags(input, 'Tags');
  if (!tags) throw validation('Tags', null, 'Member must not be null');
  const key = kms.resolve(keyRef, false);
  kms.requireNotPendingDeletion(key);
  await kms.updateKey(key, (stored) => {
    const merged = new Map([...Object.entries(stored.tags), ...tags]);
    if (merged.size > MAX_TAGS) throw new KmsError('TagException', `A key can have at most ${MAX_TAGS} tags`);
    return { ...stored, tags: Object.fromEntries(merged) };
  });
  return {};
}

async function untagResource(kms: LocalKms, input: Input): Promise<Output> {
  const keyRef = reqString(input, 'KeyId');
  const tagKeys = optStringList(input, 'TagKeys', MAX_TAGS);
  if (!tagKeys) throw validation('TagKeys', null, 'Member must not be null');
  const key = kms.resolve(keyRef, false);
  kms.requireNotPendingDeletion(key);
  await kms.updateKey(key, (stored) => ({ ...stored, tags: Object.fromEntries(Object.entries(stored.tags).filter(([k]) => !tagKeys.includes(k))) }));
  return {};
}

function listResourceTags(kms: LocalKms, input: Input): Output {
  const keyRef = reqString(input, 'KeyId');
  const limit = optInteger(input, 'Limit', 1, 50) ?? 50;
  const marker = optString(input, 'Marker', 1, 1024);
  const key = kms.resolve(keyRef, false);
  const tags = Object.entries(key.stored.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const result = paginate(tags, ([k]) => k, limit, marker);
  return listResult('Tags', { ...result, page: result.page.map(([TagKey, TagValue]) => ({ TagKey, TagValue })) });
}

const DAY_MS = 86_400_000;

async function scheduleKeyDeletion(kms: LocalKms, input: Input): Promise<Output> {
  const keyRef = reqString(input, 'KeyId');
  const days = optInteger(input, 'PendingWindowInDays', 7, 30) ?? 30;
  const key = kms.resolve(keyRef, false);
  kms.requireNotPendingDeletion(key);
  const stored = await kms.updateKey(key, (s) => ({ ...s, state: 'PendingDeletion', deletionDate: Date.now() + days * DAY_MS, pendingWindowInDays: days }));
  return { KeyId: kms.arn(key.keyId), DeletionDate: stored.deletionDate! / 1000, KeyState: 'PendingDeletion', PendingWindowInDays: days };
}

async function cancelKeyDeletion(kms: LocalKms, input: Input): Promise<Output> {
  const key = kms.resolve(reqString(input, 'KeyId'), false);
  if (key.stored.state !== 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${kms.arn(key.keyId)} is not pending deletion`);
  // As in AWS, a key rescued from deletion comes back disabled.
  await kms.updateKey(key, ({ deletionDate: _d, pendingWindowInDays: _p, ...rest }) => ({ ...rest, state: 'Disabled' }));
  return { KeyId: kms.arn(key.keyId) };
}

async function setEnabled(kms: LocalKms, input: Input, enabled: boolean): Promise<Output> {
  const key = kms.resolve(reqString(input, 'KeyId'), false);
  kms.requireNotPendingDeletion(key);
  await kms.updateKey(key, (s) => ({ ...s, state: enabled ? 'Enabled' : 'Disabled' }));
  return {};
}

// ---------------------------------------------------------------------------------------------
// State and persistence. Every check-and-change runs synchronously on the in-memory maps (one
// event-loop turn, so concurrent requests cannot interleave inside it); the files then catch up
// through a per-file write queue before the response is sent.

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

interface StoredKey {
  readonly version: 1;
  readonly keyId: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly description: string;
  readonly keySpec: 'ECC_NIST_P256';
  readonly keyUsage: 'SIGN_VERIFY';
  readonly state: KeyState;
  readonly deletionDate?: number;
  readonly pendingWindowInDays?: number;
  readonly tags: Readonly<Record<string, string>>;
  /** PKCS#8 PEM. The reason key files are written with mode 0600. */
  readonly privateKeyPem: string;
}

interface StoredAlias {
  readonly name: string;
  readonly targetKeyId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

class LiveKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly spki: Buffer;
  private cachedScalar: bigint | undefined;
  private cachedPoint: Point | undefined;

  constructor(public stored: StoredKey) {
    this.privateKey = createPrivateKey({ key: stored.privateKeyPem, format: 'pem' });
    this.publicKey = createPublicKey(this.privateKey);
    this.spki = this.publicKey.export({ format: 'der', type: 'spki' });
  }

  get keyId(): string {
    return this.stored.keyId;
  }

  /** The private scalar, for DIGEST signing (node:crypto always hashes the message itself). */
  scalar(): bigint {
    return (this.cachedScalar ??= b64uToBigint(this.privateKey.export({ format: 'jwk' }).d));
  }

  point(): Point {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return (this.cachedPoint ??= { x: b64uToBigint(jwk.x), y: b64uToBigint(jwk.y), z: 1n });
  }
}

const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:([^:]*):([^:]*):(key|alias)\/(.+)$/;

class LocalKms {
  private readonly keys = new Map<string, LiveKey>();
  private readonly aliases = new Map<string, StoredAlias>();
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(
    private readonly dataDir: string,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  static async load(dataDir: string, region: string, accountId: string): Promise<LocalKms> {
    const kms = new LocalKms(dataDir, region, accountId);
    await mkdir(kms.keysDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(kms.keysDir)) {
      const path = join(kms.keysDir, name);
      // Leftovers of a write interrupted before its rename; the previous file is still intact.
      if (name.endsWith('.tmp')) await rm(path, { force: true });
      if (!name.endsWith('.json')) continue;
      const stored = parseStoredKey(await readFile(path, 'utf8'), path);
      kms.keys.set(stored.keyId, new LiveKey(stored));
    }
    let aliasText: string | undefined;
    try {
      aliasText = await readFile(kms.aliasesPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const alias of aliasText === undefined ? [] : parseStoredAliases(aliasText, kms.aliasesPath)) kms.aliases.set(alias.name, alias);
    await kms.purgeDeletedKeys();
    return kms;
  }

  private get keysDir(): string {
    return join(this.dataDir, 'keys');
  }

  private get aliasesPath(): string {
    return join(this.dataDir, 'aliases.json');
  }

  arn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  aliasArn(name: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${name}`;
  }

  /** Accepts a key id or key ARN, and where AWS does (`allowAlias`) an alias name or alias ARN. */
  resolve(keyRef: string, allowAlias: boolean): LiveKey {
    let keyId: string | undefined;
    let alias: string | undefined;
    const arn = KMS_ARN.exec(keyRef);
    if (arn) {
      const [, region, account, kind, rest] = arn;
      if (region !== this.region || account !== this.accountId) throw new KmsError('NotFoundException', `Invalid arn ${keyRef}: not in ${this.region}/${this.accountId}`);
      if (kind === 'key') keyId = rest;
      else alias = `alias/${rest}`;
    } else if (keyRef.startsWith('alias/')) {
      alias = keyRef;
    } else if (keyRef.startsWith('arn:')) {
      throw new KmsError('NotFoundException', `Invalid arn ${keyRef}`);
    } else {
      keyId = keyRef;
    }
    if (alias !== undefined) {
      if (!allowAlias) throw new KmsError('ValidationException', `${keyRef} is an alias; this operation accepts only a key ID or key ARN`);
      const entry = this.aliases.get(alias);
      if (!entry) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(alias)} is not found.`);
      keyId = entry.targetKeyId;
    }
    if (keyId === undefined || !KEY_ID.test(keyId)) throw new KmsError('NotFoundException', `Invalid keyId ${keyRef}`);
    const key = this.keys.get(keyId);
    if (!key) throw new KmsError('NotFoundException', `Key '${this.arn(keyId)}' does not exist`);
    return key;
  }

  requireNotPendingDeletion(key: LiveKey): void {
    if (key.stored.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${this.arn(key.keyId)} is pending deletion.`);
  }

  /** For cryptographic operations: the key must be enabled. */
  requireUsable(key: LiveKey): void {
    this.requireNotPendingDeletion(key);
    if (key.stored.state === 'Disabled') throw new KmsError('DisabledException', `${this.arn(key.keyId)} is disabled.`);
  }

  metadata(key: LiveKey): Output {
    const s = key.stored;
    return {
      AWSAccountId: this.accountId,
      KeyId: s.keyId,
      Arn: this.arn(s.keyId),
      CreationDate: s.createdAt / 1000,
      Enabled: s.state === 'Enabled',
      Description: s.description,
      KeyUsage: s.keyUsage,
      KeyState: s.state,
      ...(s.deletionDate !== undefined ? { DeletionDate: s.deletionDate / 1000, PendingDeletionWindowInDays: s.pendingWindowInDays } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: s.keySpec,
      KeySpec: s.keySpec,
      SigningAlgorithms: ['ECDSA_SHA_256'],
      MultiRegion: false,
    };
  }

  async createKey(description: string, tags: ReadonlyMap<string, string>): Promise<LiveKey> {
    const { privateKey } = generateP256KeyPair();
    const key = new LiveKey({
      version: 1,
      keyId: randomUUID(),
      createdAt: Date.now(),
      description,
      keySpec: 'ECC_NIST_P256',
      keyUsage: 'SIGN_VERIFY',
      state: 'Enabled',
      tags: Object.fromEntries(tags),
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    });
    this.keys.set(key.keyId, key);
    await this.persistKey(key.keyId);
    return key;
  }

  async updateKey(key: LiveKey, change: (stored: StoredKey) => StoredKey): Promise<StoredKey> {
    key.stored = change(key.stored);
    await this.persistKey(key.keyId);
    return key.stored;
  }

  keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  aliasList(): StoredAlias[] {
    return [...this.aliases.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async createAlias(name: string, targetKeyId: string): Promise<void> {
    if (this.aliases.has(name)) throw new KmsError('AlreadyExistsException', `An alias with the name ${this.aliasArn(name)} already exists`);
    const now = Date.now();
    this.aliases.set(name, { name, targetKeyId, createdAt: now, updatedAt: now });
    await this.persistAliases();
  }

  async updateAlias(name: string, targetKeyId: string): Promise<void> {
    const alias = this.aliases.get(name);
    if (!alias) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(name)} is not found.`);
    this.aliases.set(name, { ...alias, targetKeyId, updatedAt: Date.now() });
    await this.persistAliases();
  }

  async deleteAlias(name: string): Promise<void> {
    if (!this.aliases.delete(name)) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(name)} is not found.`);
    await this.persistAliases();
  }

  /** Keys whose deletion date has passed are gone, and so are their aliases, as in AWS. */
  async purgeDeletedKeys(now = Date.now()): Promise<void> {
    const expired = [...this.keys.values()].filter((k) => k.stored.state === 'PendingDeletion' && (k.stored.deletionDate ?? Infinity) <= now);
    if (expired.length === 0) return;
    for (const key of expired) this.keys.delete(key.keyId);
    for (const [name, alias] of this.aliases) if (!this.keys.has(alias.targetKeyId)) this.aliases.delete(name);
    await Promise.all([...expired.map((key) => this.persistKey(key.keyId)), this.persistAliases()]);
  }

  /** Resolves once every queued write has finished. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }

  /** Writes the key's current state, or removes its file if the key is gone. */
  private persistKey(keyId: string): Promise<void> {
    const path = join(this.keysDir, `${keyId}.json`);
    return this.enqueue(path, async () => {
      const key = this.keys.get(keyId);
      if (key) await atomicWrite(path, `${JSON.stringify(key.stored, null, 2)}\n`);
      else await rm(path, { force: true });
    });
  }

  private persistAliases(): Promise<void> {
    return this.enqueue(this.aliasesPath, () => atomicWrite(this.aliasesPath, `${JSON.stringify(this.aliasList(), null, 2)}\n`));
  }

  /**
   * Serializes writes per file. Each write serializes the state current when it runs, so the file
   * converges to the latest state even when changes race.
   */
  private enqueue(path: string, write: () => Promise<void>): Promise<void> {
    const next = (this.writes.get(path) ?? Promise.resolve()).catch(() => undefined).then(write);
    this.writes.set(path, next);
    void next.finally(() => {
      if (this.writes.get(path) === next) this.writes.delete(path);
    }).catch(() => undefined);
    return next;
  }
}

/** Write to a temporary file, flush it, rename over the target: readers see old or new, never half. */
async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

function parseStoredKey(text: string, path: string): StoredKey {
  const fail = (what: string): never => {
    throw new Error(`kms-server: ${path} is not a valid key file (${what})`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  const v = value as Partial<StoredKey> | null;
  if (typeof v !== 'object' || v === null || v.version !== 1) return fail('version');
  if (typeof v.keyId !== 'string' || !KEY_ID.test(v.keyId) || !path.endsWith(`${v.keyId}.json`)) return fail('keyId');
  if (typeof v.createdAt !== 'number' || typeof v.description !== 'string') return fail('createdAt/description');
  if (v.keySpec !== 'ECC_NIST_P256' || v.keyUsage !== 'SIGN_VERIFY') return fail('keySpec/keyUsage');
  if (v.state !== 'Enabled' && v.state !== 'Disabled' && v.state !== 'PendingDeletion') return fail('state');
  if (v.state === 'PendingDeletion' && typeof v.deletionDate !== 'number') return fail('deletionDate');
  if (typeof v.tags !== 'object' || v.tags === null || !Object.values(v.tags).every((t) => typeof t === 'string')) return fail('tags');
  if (typeof v.privateKeyPem !== 'string') return fail('privateKeyPem');
  return v as StoredKey;
}

function parseStoredAliases(text: string, path: string): StoredAlias[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`kms-server: ${path} is not valid JSON`);
  }
  const valid = (a: unknown): a is StoredAlias => {
    const x = a as Partial<StoredAlias> | null;
    return typeof x === 'object' && x !== null && typeof x.name === 'string' && typeof x.targetKeyId === 'string' && typeof x.createdAt === 'number' && typeof x.updatedAt === 'number';
  };
  if (!Array.isArray(value) || !value.every(valid)) throw new Error(`kms-server: ${path} is not a valid alias file`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// ECDSA P-256 over a caller-supplied digest (MessageType DIGEST). node:crypto has no way to sign
// or verify a prehashed message with EC keys, so this does the curve arithmetic with BigInt.
// It is not constant-time: acceptable for a loopback-only stand-in holding development keys,
// and the RAW path (the one Attestor uses) goes through OpenSSL.

interface Point {
  readonly x: bigint;
  readonly y: bigint;
  /** Jacobian coordinates; z = 0 is the point at infinity. */
  readonly z: bigint;
}

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Point = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  z: 1n,
};
const INFINITY: Point = { x: 1n, y: 1n, z: 0n };

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modPow(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

/** Inverse modulo a prime (both P and N are), by Fermat's little theorem. */
const invert = (a: bigint, m: bigint): bigint => modPow(a, m - 2n, m);

/** dbl-2001-b (a = -3). */
function double(p: Point): Point {
  if (p.z === 0n || p.y === 0n) return INFINITY;
  const delta = (p.z * p.z) % P;
  const gamma = (p.y * p.y) % P;
  const beta = (p.x * gamma) % P;
  const alpha = (3n * mod((p.x - delta) * (p.x + delta), P)) % P;
  const x = mod(alpha * alpha - 8n * beta, P);
  const z = mod((p.y + p.z) * (p.y + p.z) - gamma - delta, P);
  const y = mod(alpha * (4n * beta - x) - 8n * gamma * gamma, P);
  return { x, y, z };
}

/** add-2007-bl. */
function add(p: Point, q: Point): Point {
  if (p.z === 0n) return q;
  if (q.z === 0n) return p;
  const z1z1 = (p.z * p.z) % P;
  const z2z2 = (q.z * q.z) % P;
  const u1 = (p.x * z2z2) % P;
  const u2 = (q.x * z1z1) % P;
  const s1 = (((p.y * q.z) % P) * z2z2) % P;
  const s2 = (((q.y * p.z) % P) * z1z1) % P;
  const h = mod(u2 - u1, P);
  const r = mod(2n * (s2 - s1), P);
  if (h === 0n) return r === 0n ? double(p) : INFINITY;
  const i = (4n * h * h) % P;
  const j = (h * i) % P;
  const v = (u1 * i) % P;
  const x = mod(r * r - j - 2n * v, P);
  const y = mod(r * (v - x) - 2n * s1 * j, P);
  const z = mod(((p.z + q.z) * (p.z + q.z) - z1z1 - z2z2) * h, P);
  return { x, y, z };
}

function multiply(k: bigint, p: Point): Point {
  let acc = INFINITY;
  for (let bit = BigInt(k.toString(2).length - 1); bit >= 0n; bit--) {
    acc = double(acc);
    if ((k >> bit) & 1n) acc = add(acc, p);
  }
  return acc;
}

function affineX(p: Point): bigint {
  const zInv = invert(p.z, P);
  return (((p.x * zInv) % P) * zInv) % P;
}

const bytesToBigint = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const b64uToBigint = (text: string | undefined): bigint => bytesToBigint(Buffer.from(text ?? '', 'base64url'));

function bigintTo32(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
}

/** ECDSA with a fresh random nonce per signature, like KMS (signatures are not deterministic). */
function signDigest(d: bigint, digest: Uint8Array): Buffer {
  const z = bytesToBigint(digest); // 256-bit digest, 256-bit order: no truncation
  for (;;) {
    const k = bytesToBigint(randomBytes(32));
    if (k === 0n || k >= N) continue;
    const r = affineX(multiply(k, G)) % N;
    if (r === 0n) continue;
    const s = (invert(k, N) * mod(z + r * d, N)) % N;
    if (s === 0n) continue;
    return Buffer.concat([bigintTo32(r), bigintTo32(s)]);
  }
}

function verifyDigest(q: Point, digest: Uint8Array, p1363: Uint8Array): boolean {
  const r = bytesToBigint(p1363.subarray(0, 32));
  const s = bytesToBigint(p1363.subarray(32));
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const w = invert(s, N);
  const point = add(multiply((bytesToBigint(digest) * w) % N, G), multiply((r * w) % N, q));
  return point.z !== 0n && affineX(point) % N === r;
}
