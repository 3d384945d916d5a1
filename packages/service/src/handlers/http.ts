/**
 * HTTP plumbing shared by the API handlers: body parsing and the mapping from domain errors to
 * status codes. A client's mistake is always a 4xx with a JSON body naming the problem; only our
 * own faults become a 500, and those carry no detail.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { NonceInvalidError } from '../core/attestation';
import { InvalidRequestError } from '@attestor/contracts/errors';
import type { Logger } from './log';

/** Protocol requests are a few hundred bytes; anything far larger is refused before parsing. */
export const MAX_BODY_BYTES = 16 * 1024;

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body['error']));
  }
}

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

export function parseJsonBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): unknown {
  if (event.body === null || event.body === undefined || event.body === '') {
    throw new InvalidRequestError('', 'body is required (a JSON object)');
  }
  // Check the size before decoding, so an oversized base64 body is never expanded in memory.
  const encodedLimit = event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 : MAX_BODY_BYTES;
  if (event.body.length > encodedLimit) throw new HttpError(413, { error: 'body_too_large', message: `body must be at most ${MAX_BODY_BYTES} bytes` });
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw new HttpError(413, { error: 'body_too_large', message: `body must be at most ${MAX_BODY_BYTES} bytes` });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequestError('', 'body is not valid JSON');
  }
}

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** Wraps a handler so expected errors map to their status and unexpected ones to a bare 500. */
export function httpHandler(name: string, log: Logger, fn: ApiHandler): ApiHandler {
  return async (event) => {
    try {
      return await fn(event);
    } catch (error) {
      if (error instanceof InvalidRequestError) {
        return json(400, { error: 'invalid_request', ...(error.field ? { field: error.field } : {}), message: error.message });
      }
      if (error instanceof NonceInvalidError) return json(409, { error: error.code });
      if (error instanceof HttpError) return json(error.statusCode, error.body);
      log.error('unhandled_error', { handler: name, errorName: (error as Error)?.name, errorMessage: (error as Error)?.message });
      return json(500, { error: 'internal_error' });
    }
  };
}
