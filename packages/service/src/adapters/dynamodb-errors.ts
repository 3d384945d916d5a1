/**
 * DynamoDB's errors as the service's. Matched by name rather than instanceof: a second copy of the
 * SDK in node_modules (or a bundle) would throw an instance of a different class with the same name.
 */
import { DependencyUnavailableError } from '../core/errors';

/** A conditional write found the condition false: the answer to a race, not a failure. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/** What DynamoDB says when a table or partition takes more than it can: the same request succeeds a moment later. */
const THROTTLED = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

/**
 * A throttled request becomes a DependencyUnavailableError (HTTP 503 with Retry-After, so clients
 * back off instead of retrying at once); anything else is returned as it is, for the caller to rethrow.
 */
export function translateDynamoDbError(error: unknown): unknown {
  const name = (error as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && THROTTLED.has(name)) {
    return new DependencyUnavailableError(`DynamoDB throttled the request: ${name}`, { code: 'dynamodb_throttled', cause: error });
  }
  return error;
}
