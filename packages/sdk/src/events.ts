/**
 * What the client reports about itself: events for `onEvent` listeners and the `status()`
 * snapshot. Types only, so every part of the client can name them without importing another.
 */
import type { HardwarePlatform } from '@attestor/contracts/protocol';
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
 *   source, key store, signal provider or hardware provider.
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
 * - `hardware_key`: the hardware provider made a new key (see HardwareKeyReason); on Android that is a new install key too.
 * - `hardware_store`: the HardwareKeyStore failed to load or save; the client goes on with what it holds in memory.
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
  | { readonly type: 'request_without_token'; readonly status: AttestorStatus; readonly code: AttestorErrorCode | 'unexpected'; readonly host: string }
  | { readonly type: 'hardware_key'; readonly platform: HardwarePlatform; readonly reason: HardwareKeyReason }
  | { readonly type: 'hardware_store'; readonly operation: 'load' | 'save'; readonly problem: string };

/**
 * Why the client made a new hardware key (event `hardware_key`).
 * - `none`: it remembers no key for this platform (first run, an empty or unreadable store, or one
 *   holding something else).
 * - `expired`: the key is older than `hardwareKeyMaxAgeDays`, or the device clock now reads before
 *   the key's creation.
 * - `undelivered`: the attestation that carried the key's evidence never got the service's answer,
 *   so the service may not know the key (and the evidence was bound to that attestation's nonce).
 * - `key_changed`: iOS: the install key is no longer the one the App Attest key vouches for.
 *   Android: the Keystore holds no key, or another key than the one remembered.
 * - `unusable`: the provider failed to use the remembered key (an assertion or a signature threw
 *   or did not verify), as App Attest does once an app's data is restored on another device; that
 *   attestation failed with `hardware_error`, the next one makes a new key.
 * @example
 * ```ts
 * client.onEvent((e) => { if (e.type === 'hardware_key' && e.reason !== 'expired') log.info('new hardware key', e.reason); });
 * ```
 */
export type HardwareKeyReason = 'none' | 'expired' | 'undelivered' | 'key_changed' | 'unusable';

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
