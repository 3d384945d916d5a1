/**
 * Stable error codes of the SDK. Callers branch on `code`, never on the message text.
 * - `network`: the request did not reach the service or no response came back.
 * - `timeout`: the attestation did not finish within `timeoutMs` (all retries included).
 * - `nonce_invalid`: HTTP 409 on every attempt: the nonce was unknown, already used or expired.
 * - `invalid_request`: HTTP 400 (or options the client refused before sending); `field` names the culprit.
 * - `rate_limited`: HTTP 429 and the service's `Retry-After` did not fit in the time left.
 * - `service_error`: any other status, or a response that does not follow the protocol.
 * - `circuit_open`: recent attestations failed, so the client does not call the service until its
 *   cool-down ends (`retryAtMs`); `cause` is the failure that opened the circuit.
 * - `local_error`: something on the device failed before any request: the package source, the
 *   key store or a platform install key, or a signal provider (`cause` has the original error).
 * - `hardware_error`: the hardware provider (App Attest, Android Keystore) threw or returned
 *   something unusable, so no attest request was sent (`cause` has the provider's error). Not
 *   retried within the attestation; the next one tries again (with a new hardware key if one was
 *   being made).
 * @example
 * ```ts
 * const transient: AttestorErrorCode[] = ['network', 'timeout', 'rate_limited', 'circuit_open'];
 * ```
 */
export type AttestorErrorCode =
  | 'network'
  | 'timeout'
  | 'nonce_invalid'
  | 'invalid_request'
  | 'rate_limited'
  | 'service_error'
  | 'circuit_open'
  | 'local_error'
  | 'hardware_error';

/**
 * Every failure of an attestation. Messages never contain tokens, nonces, proofs or secrets.
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
  /** For `rate_limited` and `circuit_open`: the local time (ms since the epoch) before which the client will not call the service. */
  readonly retryAtMs: number | undefined;

  /**
   * @example
   * ```ts
   * throw new AttestorError('service_error', 'POST /v1/attest answered HTTP 502', { status: 502 });
   * ```
   */
  constructor(
    readonly code: AttestorErrorCode,
    message: string,
    options: { readonly status?: number; readonly field?: string; readonly retryAtMs?: number; readonly cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.field = options.field;
    this.retryAtMs = options.retryAtMs;
  }
}

/** A failure's message for an AttestorError built around it; not exported by the package. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Platform fetch says only "fetch failed"; the cause's code (ECONNREFUSED, ENOTFOUND) is what helps.
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}
