/**
 * What the client reports about itself: events for `onEvent` listeners and the `status()`
 * snapshot. Types only, so every part of the client can name them without importing another.
 */
import type { AttestorErrorCode } from './errors';
import type { InstallKeyOutcome } from './install-key';
import type { CircuitState } from './resilience';

/**
 * Why a request went out without a token (the value of `Attestor-Status`).
 * - `no_network`: the service could not be reached (or its circuit is open after network failures).
 * - `timeout`: no token within `timeoutMs`.
 * - `rate_limited`: the service answered 429.
 * - `service_error`: the service answered with an error or something that does not follow the protocol.
 * - `client_error`: a fault on the device or in the integration: HTTP 400, a failing package
 *   source, key store or signal provider.
 * @example
 * ```ts
 * const retryLater: AttestorStatus[] = ['no_network', 'timeout', 'rate_limited', 'service_error'];
 * ```
 */
export type AttestorStatus = 'no_network' | 'timeout' | 'rate_limited' | 'service_error' | 'client_error';

/**
 * What the client reports to `onEvent` listeners: for logs and metrics. Events never carry
 * tokens, nonces, proofs, bindings, the debug secret or key material.
 * - `token_issued`: an attestation finished (the client cannot tell whether it passed: PROTOCOL.md §5.3).
 * - `attestation_failed`: an attestation gave up; `code` says why.
 * - `retry`: an attempt failed and another follows after `delayMs`.
 * - `circuit`: the circuit breaker changed state (`retryAtMs`: when an open circuit lets a trial through).
 * - `install_key`: how the install key was obtained (see InstallKeyOutcome); `problem` explains `replaced` and `ephemeral`.
 * - `stale_token`: a refresh failed and a token with less than 20% of its life left, but not expired, was handed out instead.
 * - `request_without_token`: `fetch` sent a request to a configured host without a token, with `Attestor-Status: status`.
 * @example
 * ```ts
 * client.onEvent((event) => {
 *   if (event.type === 'attestation_failed') log.warn('attestation failed', event.code, event.message);
 * });
 * ```
 */
export type AttestorEvent =
  | {
      readonly type: 'token_issued';
      readonly limitedUse: boolean;
      readonly bound: boolean;
      readonly background: boolean;
      readonly attempts: number;
      readonly durationMs: number;
    }
  | {
      readonly type: 'attestation_failed';
      readonly code: AttestorErrorCode;
      readonly status?: number;
      readonly message: string;
      readonly background: boolean;
      readonly attempts: number;
      readonly durationMs: number;
    }
  | { readonly type: 'retry'; readonly attempt: number; readonly delayMs: number; readonly code: AttestorErrorCode; readonly status?: number }
  | { readonly type: 'circuit'; readonly state: CircuitState; readonly retryAtMs?: number }
  | { readonly type: 'install_key'; readonly outcome: InstallKeyOutcome; readonly problem?: string }
  | { readonly type: 'stale_token'; readonly code: AttestorErrorCode; readonly expiresInMs: number }
  | { readonly type: 'request_without_token'; readonly status: AttestorStatus; readonly code: AttestorErrorCode | 'unexpected'; readonly host: string };

/**
 * A snapshot of the client for diagnostics screens and health logs.
 * @example
 * ```ts
 * const { circuit, token, lastError } = client.status();
 * ```
 */
export interface AttestorClientStatus {
  /** The circuit breaker: `open` means attestations fail at once until `retryAtMs`. */
  readonly circuit: CircuitState;
  readonly retryAtMs?: number;
  /**
   * The cached (unbound) token: `fresh`, `refresh_due` (a background refresh is due, more than 20%
   * of its life left), `expiring` (20% or less left: the next getToken waits for a new one) or `none`.
   */
  readonly token: 'none' | 'fresh' | 'refresh_due' | 'expiring';
  /** Consecutive failed attestations. */
  readonly consecutiveFailures: number;
  /** The most recent failure, with the local time it happened. */
  readonly lastError?: { readonly code: AttestorErrorCode; readonly status?: number; readonly atMs: number };
}
