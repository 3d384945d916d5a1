/**
 * What every AWS dependency says when it cannot do the work right now: throttling (each service has
 * its own name for it), its own 5xx, a timeout, or a connection that broke. The SDK retries these
 * itself; what is still failing after its last attempt becomes a DependencyUnavailableError, so a
 * client gets 503 with Retry-After (handlers/http.ts) and never a 500. Matched by name and code, not
 * `instanceof`: a bundle may carry two copies of the SDK.
 */
import { DependencyUnavailableError } from '../core/errors';

export type AwsDependency = 'dynamodb' | 's3' | 'kms' | 'sqs' | 'lambda' | 'cloudwatch';

/** Throttling as each service names it: DynamoDB's two, KMS's and SQS's, S3's SlowDown, Lambda's TooManyRequests. */
const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
]);

/** The service could not answer in time or depends on something that could not (KMS names two of its own). */
const TIMEOUTS = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'DependencyTimeoutException']);

/** Node's errors for a connection that could not be made or broke mid-request. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/** Why the error is transient ('throttled', 'server_error', 'timeout', 'network'), or undefined when it is not. */
/**
 * The SDK wraps what it cannot recognise as an Error (one from another realm: a VM context, a test
 * runner's sandbox) as "AWS SDK error wrapper for <name>: <message>"; the name is still the cause's.
 */
const WRAPPED = /^AWS SDK error wrapper for (\w+)/;

export function transientKind(error: unknown): 'throttled' | 'server_error' | 'timeout' | 'network' | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, $fault, $metadata } = error as SdkErrorShape;
  const message = (error as { message?: unknown }).message;
  const wrapped = typeof message === 'string' ? WRAPPED.exec(message)?.[1] : undefined;
  const name = wrapped ?? (error as SdkErrorShape).name;
  if (typeof name === 'string' && THROTTLING.has(name)) return 'throttled';
  const status = $metadata?.httpStatusCode;
  if (status === 429) return 'throttled';
  if (typeof name === 'string' && TIMEOUTS.has(name)) return 'timeout';
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return 'network';
  // An SDK error that says the service failed, or any 5xx it answered (a bare 502 from a proxy has no fault).
  if ($fault === 'server' || (typeof status === 'number' && status >= 500)) return 'server_error';
  return undefined;
}

/**
 * A transient failure of `dependency` as a DependencyUnavailableError (code `<dependency>_<kind>`,
 * e.g. `dynamodb_throttled`), the cause kept for the log; anything else is returned as it is, for
 * the caller to handle or rethrow. Already-translated errors pass through.
 */
export function translateAwsError(error: unknown, dependency: AwsDependency): unknown {
  if (error instanceof DependencyUnavailableError) return error;
  const kind = transientKind(error);
  if (kind === undefined) return error;
  const name = (error as { name?: unknown }).name;
  return new DependencyUnavailableError(`${dependency} is unavailable (${kind}): ${typeof name === 'string' ? name : 'error'}`, {
    code: `${dependency}_${kind}`,
    cause: error,
  });
}
