/**
 * Stable error codes of the SDK. Callers branch on `code`, never on the message text.
 * - `network`: the request did not reach the service or no response came back.
 * - `timeout`: a request took longer than `timeoutMs`.
 * - `nonce_invalid`: HTTP 409, the nonce was unknown, already used or expired; retry with a new attestation.
 * - `invalid_request`: HTTP 400 (or options the client refused before sending); `field` names the culprit.
 * - `service_error`: any other status, or a response that does not follow the protocol.
 * @example
 * ```ts
 * const retryable: AttestorErrorCode[] = ['network', 'timeout', 'nonce_invalid'];
 * ```
 */
export type AttestorErrorCode = 'network' | 'timeout' | 'nonce_invalid' | 'invalid_request' | 'service_error';

/**
 * Every failure of an exchange with the service. Messages never contain tokens, nonces or proofs.
 * @example
 * ```ts
 * try {
 *   await client.getToken();
 * } catch (error) {
 *   if (error instanceof AttestorError && error.code === 'timeout') scheduleRetry();
 *   else throw error;
 * }
 * ```
 */
export class AttestorError extends Error {
  override readonly name = 'AttestorError';
  /** HTTP status, when the service answered. */
  readonly status: number | undefined;
  /** Request field the service (or the client's own checks) rejected, for `invalid_request`. */
  readonly field: string | undefined;

  constructor(
    readonly code: AttestorErrorCode,
    message: string,
    options: { readonly status?: number; readonly field?: string; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.field = options.field;
  }
}
