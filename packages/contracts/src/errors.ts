/**
 * The service's error hierarchy: every error it raises on purpose is a ServiceError with a stable
 * `code` that callers, logs and tests branch on; messages are for humans. The classes here are the
 * ones a client can meet: the service answers each with one status and `error` code
 * (docs/ADMIN_API.md §1.3, PROTOCOL.md §2.1; the mapping is @attestor/service's handlers/http.ts).
 * Errors only the service sees extend ServiceError in @attestor/service and answer a bare 500, so
 * their messages (key ids, table names) never reach a client.
 *
 * Kept free of imports, so the CLI and the SDK can branch on these codes without bundling anything.
 *
 * @example
 * ```ts
 * if (!app || app.tenantId !== tenantId) throw new NotFoundError(`no app ${appId} in tenant ${tenantId}`);
 * // ...and whoever catches it branches on the code:
 * if (error instanceof ServiceError && error.code === 'not_found') return undefined;
 * ```
 */

/** The `error` member of an HTTP error body from the service: what its clients branch on. */
export type WireErrorCode =
  | 'invalid_request'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'nonce_invalid'
  | 'body_too_large'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal_error';

/** Base of every error the service raises on purpose; anything else that escapes is a bug. */
export class ServiceError extends Error {
  override readonly name: string = 'ServiceError';
  /** Stable: snake_case, never reworded. Subclasses name the specific failure. */
  readonly code: string = 'service_error';
}

/** A request failed validation; `field` names the first offending field ('' for the body itself). HTTP 400. */
export class InvalidRequestError extends ServiceError {
  override readonly name = 'InvalidRequestError';
  override readonly code = 'invalid_request';
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(field ? `${field} ${detail}` : detail);
  }
}

/** The caller may not do this: its credential maps to no tenant, or the operation is an operator's. HTTP 403. */
export class ForbiddenError extends ServiceError {
  override readonly name: string = 'ForbiddenError';
  override readonly code = 'forbidden';
}

/**
 * The caller's principal has a role (docs/ADMIN_API.md §1.2) that may not call this route. HTTP 403
 * like any refusal, with the roles that may in the body (`requiredRoles`), so that a client can say
 * which credential to use instead.
 */
export class RoleRequiredError extends ForbiddenError {
  override readonly name = 'RoleRequiredError';
  constructor(
    /** `${method} ${path}` of the route, as the route table writes it. */
    readonly route: string,
    /** The caller's role. */
    readonly role: string,
    /** The roles that may call the route, least privileged first. */
    readonly requiredRoles: readonly string[],
    /** Who the caller is, so that the answer can say whose role to change. */
    readonly tenantId: string,
    readonly principal: string,
  ) {
    super(`${route} needs role ${requiredRoles.join(' or ')}; principal ${principal} has role ${role} in tenant ${tenantId}`);
  }
}

/**
 * No such thing in the caller's tenant. Another tenant's things are reported exactly like missing
 * ones, so that a tenant cannot probe what others have. HTTP 404.
 */
export class NotFoundError extends ServiceError {
  override readonly name = 'NotFoundError';
  override readonly code = 'not_found';
}

/** The thing exists already, belongs to another tenant, or is in a state that forbids the change. HTTP 409. */
export class ConflictError extends ServiceError {
  override readonly name = 'ConflictError';
  override readonly code = 'conflict';
}

/** An attest request's nonce is unknown, already used, expired or another app's (PROTOCOL.md §5.1). HTTP 409, no detail. */
export class NonceInvalidError extends ServiceError {
  override readonly name = 'NonceInvalidError';
  override readonly code = 'nonce_invalid';
  /** The tenant of the app the request named, when that app is registered: what the replay is counted under. */
  constructor(readonly tenantId?: string) {
    super('nonce is unknown, already used or expired');
  }
}

/** The request body is larger than the service reads. HTTP 413. */
export class BodyTooLargeError extends ServiceError {
  override readonly name = 'BodyTooLargeError';
  override readonly code = 'body_too_large';
  constructor(readonly limitBytes: number) {
    super(`body must be at most ${limitBytes} bytes`);
  }
}

/**
 * The caller asked for something it may do only so often (a tenant's key rotation, once an hour).
 * HTTP 429 with Retry-After; the message says when, so a person can act on it.
 */
export class RateLimitedError extends ServiceError {
  override readonly name = 'RateLimitedError';
  override readonly code = 'rate_limited';
  constructor(
    message: string,
    /** Seconds until the same request would be accepted: Retry-After. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export interface DependencyUnavailableOptions {
  /** The specific failure, for logs and callers. @default 'dependency_unavailable' */
  readonly code?: string;
  /** What the service suggests to a client in Retry-After. @default 1 */
  readonly retryAfterSeconds?: number;
  readonly cause?: unknown;
}

/**
 * Something the service depends on (DynamoDB, KMS, S3) refused or throttled the work, so the
 * request may succeed later unchanged. HTTP 503 with Retry-After and no detail; adapters translate
 * their SDK's errors into this (or a subclass) and rethrow anything they do not recognise.
 */
export class DependencyUnavailableError extends ServiceError {
  override readonly name: string = 'DependencyUnavailableError';
  override readonly code: string;
  readonly retryAfterSeconds: number;
  constructor(message: string, options: DependencyUnavailableOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'dependency_unavailable';
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }
}
