/**
 * HTTP plumbing shared by the API handlers: body parsing and the one mapping from the service's
 * errors (core/errors.ts) to status codes and bodies (docs/ADMIN_API.md §1.3, PROTOCOL.md §2.1). A
 * client's mistake is always a 4xx with a JSON body naming the problem; a dependency that refused
 * the work is a 503 with Retry-After; only our own faults become a 500, and those carry no detail.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import {
  BodyTooLargeError,
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  InvalidRequestError,
  NonceInvalidError,
  NotFoundError,
  RateLimitedError,
  RoleRequiredError,
  ServiceError,
  type WireErrorCode,
} from '../core/errors';
import { errorFields, type Logger } from './log';
import { noMetrics, type ServiceMetrics } from './metrics';

/** Protocol requests are a few hundred bytes; anything far larger is refused before parsing. */
export const MAX_BODY_BYTES = 16 * 1024;

const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { ...HEADERS }, body: JSON.stringify(body) };
}

export function parseJsonBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): unknown {
  if (event.body === null || event.body === undefined || event.body === '') {
    throw new InvalidRequestError('', 'body is required (a JSON object)');
  }
  // Check the size before decoding, so an oversized base64 body is never expanded in memory.
  const encodedLimit = event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 : MAX_BODY_BYTES;
  if (event.body.length > encodedLimit) throw new BodyTooLargeError(MAX_BODY_BYTES);
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw new BodyTooLargeError(MAX_BODY_BYTES);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequestError('', 'body is not valid JSON');
  }
}

/** An error as a client sees it: status, the body's `error` code, and what else the body and headers carry. */
interface ErrorAnswer {
  readonly status: number;
  readonly error: WireErrorCode;
  /** The message is shown for a client's mistakes only; a dependency's or our own failure says nothing. */
  readonly message?: string;
  readonly field?: string;
  readonly retryAfterSeconds?: number;
  /** A refusal for the caller's role: the roles that may call the route, and the caller's. */
  readonly roles?: { readonly requiredRoles: readonly string[]; readonly role: string; readonly tenantId: string; readonly principal: string };
}

/** The one mapping from the service's errors to what a client sees; undefined for anything unexpected. */
export function answerTo(error: unknown): ErrorAnswer | undefined {
  if (!(error instanceof ServiceError)) return undefined;
  if (error instanceof InvalidRequestError) {
    return { status: 400, error: 'invalid_request', message: error.message, ...(error.field ? { field: error.field } : {}) };
  }
  if (error instanceof RoleRequiredError) {
    const { requiredRoles, role, tenantId, principal } = error;
    return { status: 403, error: 'forbidden', message: error.message, roles: { requiredRoles, role, tenantId, principal } };
  }
  if (error instanceof ForbiddenError) return { status: 403, error: 'forbidden', message: error.message };
  if (error instanceof NotFoundError) return { status: 404, error: 'not_found', message: error.message };
  // PROTOCOL.md §2.1: the body is exactly {"error":"nonce_invalid"}.
  if (error instanceof NonceInvalidError) return { status: 409, error: 'nonce_invalid' };
  if (error instanceof ConflictError) return { status: 409, error: 'conflict', message: error.message };
  if (error instanceof BodyTooLargeError) return { status: 413, error: 'body_too_large', message: error.message };
  if (error instanceof RateLimitedError) return { status: 429, error: 'rate_limited', message: error.message, retryAfterSeconds: error.retryAfterSeconds };
  if (error instanceof DependencyUnavailableError) return { status: 503, error: 'service_unavailable', retryAfterSeconds: error.retryAfterSeconds };
  return undefined;
}

/** The response for an error answerTo maps; anything else is a bare 500 internal_error. */
export function errorResponse(error: unknown): APIGatewayProxyResult {
  const answer = answerTo(error);
  if (!answer) return json(500, { error: 'internal_error' });
  const { status, error: code, field, message, retryAfterSeconds, roles } = answer;
  // Members in the documented order: error, field, message, then what a role refusal adds (the caller's own tenant and principal).
  const response = json(status, {
    error: code,
    ...(field !== undefined ? { field } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(roles ?? {}),
  });
  return retryAfterSeconds === undefined ? response : { ...response, headers: { ...response.headers, 'retry-after': String(retryAfterSeconds) } };
}

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/**
 * Wraps a handler so expected errors map to their status and unexpected ones to a bare 500. A 503
 * (a dependency refused or throttled) is counted, by the error's code, for the throttling alarm.
 */
export function httpHandler(name: string, log: Logger, fn: ApiHandler, metrics: Pick<ServiceMetrics, 'dependencyUnavailable'> = noMetrics): ApiHandler {
  return async (event) => {
    try {
      return await fn(event);
    } catch (error) {
      const answer = answerTo(error);
      if (answer?.status === 503) {
        log.warn('dependency_unavailable', { handler: name, ...errorFields(error) });
        metrics.dependencyUnavailable({ handler: name, dependency: (error as { code: string }).code });
      }
      else if (!answer) log.error('unhandled_error', { handler: name, ...errorFields(error) });
      return errorResponse(error);
    }
  };
}
