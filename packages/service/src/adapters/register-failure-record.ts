/**
 * The record Lambda sends to an asynchronous function's on-failure destination, read and (for the
 * local cloud, which keeps failures the same way) written. Lambda's shape: `requestPayload` is the
 * event as S3 sent it, `responsePayload` the function's error, `requestContext.approximateInvokeCount`
 * the attempts. One parser for both, so `attestor registrations failures` reads the same thing from
 * SQS in AWS and from the local cloud's file.
 */
import type { S3Event } from 'aws-lambda';
import type { RegisterFailure } from '../core/ports';
import { decodeS3EventKey } from '../handlers/register';

/** Long enough for the error's type and message; a record is operator-only, but need not carry a novel. */
const MAX_ERROR_CHARS = 500;

export interface DestinationRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: { readonly requestId: string; readonly condition: string; readonly approximateInvokeCount: number; readonly functionArn?: string };
  readonly requestPayload: S3Event;
  readonly responseContext?: { readonly statusCode?: number; readonly functionError?: string };
  readonly responsePayload?: { readonly errorType?: string; readonly errorMessage?: string };
}

/** A record as Lambda would write it after `attempts` failed invocations with `error`. */
export function destinationRecord(event: S3Event, error: unknown, attempts: number, at: Date, requestId: string): DestinationRecord {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return {
    version: '1.0',
    timestamp: at.toISOString(),
    requestContext: { requestId, condition: 'RetriesExhausted', approximateInvokeCount: attempts },
    requestPayload: event,
    responseContext: { statusCode: 200, functionError: 'Unhandled' },
    responsePayload: { errorType: name, errorMessage: message },
  };
}

/** What an operator sees of a record, and the event to hand back to the function; undefined if it is not one. */
export function failureFromRecord(id: string, body: string): { failure: RegisterFailure; event: S3Event } | undefined {
  let record: Partial<DestinationRecord>;
  try {
    record = JSON.parse(body) as Partial<DestinationRecord>;
  } catch {
    return undefined;
  }
  const event = record?.requestPayload;
  if (!event || !Array.isArray(event.Records)) return undefined;
  const objectKeys = event.Records.map((r) => {
    const raw = typeof r?.s3?.object?.key === 'string' ? r.s3.object.key : '';
    try {
      return decodeS3EventKey(raw);
    } catch {
      // Shown as S3 sent it: the malformed escape is why it failed.
      return raw;
    }
  });
  const time = Date.parse(String(record.timestamp));
  const { errorType, errorMessage } = record.responsePayload ?? {};
  const error = [errorType, errorMessage].filter((part) => typeof part === 'string' && part !== '').join(': ') || 'unknown error';
  const attempts = Number(record.requestContext?.approximateInvokeCount);
  return {
    failure: {
      id,
      failedAt: Number.isFinite(time) ? Math.floor(time / 1000) : 0,
      objectKeys,
      error: error.slice(0, MAX_ERROR_CHARS),
      attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : 1,
    },
    event,
  };
}
