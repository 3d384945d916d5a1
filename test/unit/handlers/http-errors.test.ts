/**
 * The one mapping from the service's errors to HTTP (handlers/http.ts), against the bodies and
 * statuses docs/ADMIN_API.md §1.3 and PROTOCOL.md §2.1 document, and the adapters' translation of
 * SDK errors into the hierarchy (throttling becomes a 503 a client backs off from).
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { translateDynamoDbError, isConditionalCheckFailed } from '../../../packages/service/src/adapters/dynamodb-errors';
import { MalformedItemError } from '../../../packages/service/src/adapters/dynamodb-registry/items';
import { kmsSign, SigningKeyUnavailableError, TenantKeyIntegrityError } from '../../../packages/service/src/adapters/kms-keys';
import { KEY_PENDING_DELETION } from '../../../packages/contracts/src/metrics';
import { ConfigurationError } from '../../../packages/service/src/composition/environment';
import {
  BodyTooLargeError,
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  InvalidRequestError,
  KeyConflictError,
  NonceInvalidError,
  NotFoundError,
  ServiceError,
  TenantKeyMissingError,
} from '../../../packages/service/src/core/errors';
import { MultipartRejectedError } from '../../../packages/service/src/core/ports';
import { BuildObjectMissingError } from '../../../packages/service/src/core/registration';
import { errorResponse, httpHandler } from '../../../packages/service/src/handlers/http';
import type { LogFields, Logger } from '../../../packages/service/src/handlers/log';
import type { APIGatewayProxyEvent } from 'aws-lambda';

const body = (result: { body: string }) => JSON.parse(result.body) as unknown;
const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

describe('errors a client may see', () => {
  test.each([
    [
      'a bad field',
      new InvalidRequestError('minSdkVersion', 'must be a version such as 1.2.0'),
      400,
      { error: 'invalid_request', field: 'minSdkVersion', message: 'minSdkVersion must be a version such as 1.2.0' },
    ],
    ['a bad body', new InvalidRequestError('', 'body is not valid JSON'), 400, { error: 'invalid_request', message: 'body is not valid JSON' }],
    [
      'no tenant',
      new ForbiddenError('this credential has no access to any tenant'),
      403,
      { error: 'forbidden', message: 'this credential has no access to any tenant' },
    ],
    ['nothing there', new NotFoundError('no app com.x in tenant acme'), 404, { error: 'not_found', message: 'no app com.x in tenant acme' }],
    ['a conflict', new ConflictError('tenant acme exists'), 409, { error: 'conflict', message: 'tenant acme exists' }],
    ['a spent nonce', new NonceInvalidError(), 409, { error: 'nonce_invalid' }],
    ['a large body', new BodyTooLargeError(16384), 413, { error: 'body_too_large', message: 'body must be at most 16384 bytes' }],
  ])('%s answers its documented status and body', (_what, error, status, expected) => {
    const response = errorResponse(error);
    expect(response.statusCode).toBe(status);
    expect(body(response)).toEqual(expected);
    // Members in the documented order.
    expect(Object.keys(body(response) as object)).toEqual(Object.keys(expected));
    expect(response.headers).toEqual(JSON_HEADERS);
  });

  test('a dependency that refused the work answers 503 with Retry-After and no detail', () => {
    const response = errorResponse(new DependencyUnavailableError(
      'DynamoDB throttled the request: ThrottlingException on table attestor-secret',
      { retryAfterSeconds: 2 },
    ));
    expect(response.statusCode).toBe(503);
    expect(body(response)).toEqual({ error: 'service_unavailable' });
    expect(response.headers).toEqual({ ...JSON_HEADERS, 'retry-after': '2' });
    const key = errorResponse(new SigningKeyUnavailableError(
      'arn:aws:kms:us-east-1:123456789012:key/secret',
      Object.assign(new Error('x'), { name: 'DisabledException' }),
    ));
    expect([key.statusCode, key.headers?.['retry-after'], key.body]).toEqual([503, '30', '{"error":"service_unavailable"}']);
  });

  test.each([
    ['a key record conflict', new KeyConflictError('acme', 'kid-1')],
    ['a missing tenant key', new TenantKeyMissingError('acme')],
    ['a registry item of the wrong shape', new MalformedItemError('registry item APP#x/APP: tenantId is not a string')],
    ['a KMS key that does not match its record', new TenantKeyIntegrityError('kid k of tenant acme does not match')],
    ['a configuration error', new ConfigurationError('environment variable REGISTRY_TABLE is required')],
    ['a missing build object', new BuildObjectMissingError('builds/com.x/1/secret')],
    ['an unexpected multipart refusal', new MultipartRejectedError('InvalidPart', false)],
    ['a bare ServiceError', new ServiceError('something internal')],
  ])('%s is the service’s own fault: a bare 500 that names nothing', (_what, error) => {
    expect(error).toBeInstanceOf(ServiceError);
    const response = errorResponse(error);
    expect(response.statusCode).toBe(500);
    expect(response.body).toBe('{"error":"internal_error"}');
  });
});

describe('stable codes', () => {
  test('every error carries a snake_case code that says what failed', () => {
    const codes = [
      new InvalidRequestError('f', 'x'),
      new ForbiddenError('x'),
      new NotFoundError('x'),
      new ConflictError('x'),
      new NonceInvalidError(),
      new BodyTooLargeError(1),
      new DependencyUnavailableError('x'),
      new SigningKeyUnavailableError('k', new Error('x')),
      new KeyConflictError('t', 'k'),
      new TenantKeyMissingError('t'),
      new MalformedItemError('x'),
      new TenantKeyIntegrityError('x'),
      new ConfigurationError('x'),
      new BuildObjectMissingError('k'),
      new MultipartRejectedError('x', true),
    ].map((e) => [e.name, e.code]);
    expect(Object.fromEntries(codes)).toEqual({
      InvalidRequestError: 'invalid_request',
      ForbiddenError: 'forbidden',
      NotFoundError: 'not_found',
      ConflictError: 'conflict',
      NonceInvalidError: 'nonce_invalid',
      BodyTooLargeError: 'body_too_large',
      DependencyUnavailableError: 'dependency_unavailable',
      SigningKeyUnavailableError: 'signing_key_unavailable',
      KeyConflictError: 'tenant_key_exists',
      TenantKeyMissingError: 'tenant_key_missing',
      MalformedItemError: 'registry_item_malformed',
      TenantKeyIntegrityError: 'tenant_key_integrity',
      ConfigurationError: 'configuration_invalid',
      BuildObjectMissingError: 'build_object_missing',
      MultipartRejectedError: 'multipart_rejected',
    });
  });
});

describe('httpHandler logs', () => {
  class Recorder implements Logger {
    readonly lines: Array<{ level: string; event: string; fields?: LogFields }> = [];
    info(event: string, fields?: LogFields) {
      this.lines.push({ level: 'info', event, ...(fields ? { fields } : {}) });
    }
    warn(event: string, fields?: LogFields) {
      this.lines.push({ level: 'warn', event, ...(fields ? { fields } : {}) });
    }
    error(event: string, fields?: LogFields) {
      this.lines.push({ level: 'error', event, ...(fields ? { fields } : {}) });
    }
  }
  const failingWith = (error: unknown) => {
    const log = new Recorder();
    const handler = httpHandler('adminKeys', log, async () => {
      throw error;
    });
    return { log, run: () => handler({} as APIGatewayProxyEvent) };
  };

  test('a dependency refusal as a warning with its code, our own fault as an error with its code, a client mistake not at all', async () => {
    const throttled = failingWith(new DependencyUnavailableError('DynamoDB throttled the request', { code: 'dynamodb_throttled' }));
    await throttled.run();
    expect(throttled.log.lines).toEqual([
      {
        level: 'warn',
        event: 'dependency_unavailable',
        fields: { handler: 'adminKeys', code: 'dynamodb_throttled', errorName: 'DependencyUnavailableError', errorMessage: 'DynamoDB throttled the request' },
      },
    ]);
    const missing = failingWith(new TenantKeyMissingError('acme'));
    await missing.run();
    expect(missing.log.lines).toEqual([
      {
        level: 'error',
        event: 'unhandled_error',
        fields: { handler: 'adminKeys', code: 'tenant_key_missing', errorName: 'TenantKeyMissingError', errorMessage: 'tenant acme has no active signing key' },
      },
    ]);
    const mistake = failingWith(new NotFoundError('no app'));
    await mistake.run();
    expect(mistake.log.lines).toEqual([]);
  });
});

describe('adapters translate SDK errors', () => {
  const sdkError = (name: string) => Object.assign(new Error(`${name} from the SDK`), { name });

  test.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])('DynamoDB %s becomes a 503', (name) => {
    const cause = sdkError(name);
    const translated = translateDynamoDbError(cause);
    expect(translated).toBeInstanceOf(DependencyUnavailableError);
    expect(translated).toMatchObject({ code: 'dynamodb_throttled', cause });
  });

  test('anything else DynamoDB says is left as it is, and a failed condition is an answer, not an error', () => {
    for (const name of ['ConditionalCheckFailedException', 'ResourceNotFoundException', 'ValidationException']) {
      const error = sdkError(name);
      expect(translateDynamoDbError(error)).toBe(error);
    }
    expect(isConditionalCheckFailed(sdkError('ConditionalCheckFailedException'))).toBe(true);
  });

  test.each([
    ['DisabledException', SigningKeyUnavailableError, 'signing_key_unavailable'],
    ['ThrottlingException', DependencyUnavailableError, 'kms_unavailable'],
    ['AccessDeniedException', Error, undefined],
  ])('KMS %s from Sign is translated by the adapter', async (name, kind, code) => {
    const kms = { send: async () => Promise.reject(sdkError(name)) } as unknown as KMSClient;
    const error = await kmsSign(kms, 'alias/attestor/tenant/acme/kid', new Uint8Array(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(kind);
    expect((error as { code?: string }).code).toBe(code);
  });

  test('a key pending deletion has a code of its own (its alarm counts it); any other invalid state is an unavailable key', async () => {
    const refusing = (message: string) =>
      ({ send: async () => Promise.reject(Object.assign(new Error(message), { name: 'KMSInvalidStateException' })) }) as unknown as KMSClient;
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const pending = await kmsSign(refusing(`${arn} is pending deletion.`), arn, new Uint8Array(1)).catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(SigningKeyUnavailableError);
    expect((pending as { code?: string }).code).toBe(KEY_PENDING_DELETION);
    const importing = await kmsSign(refusing(`${arn} is pending import.`), arn, new Uint8Array(1)).catch((e: unknown) => e);
    expect((importing as { code?: string }).code).toBe('signing_key_unavailable');
  });
});
