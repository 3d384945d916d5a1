/**
 * One attestation from start to token: the device's evidence, then the exchange, retried on
 * transient failures (with the backoff of resilience.ts), under the circuit breaker and within one
 * deadline, `timeoutMs`. Reports what happens as events and remembers the last failure.
 */
import { AttestorError, describeError } from './errors';
import type { AttestorClientStatus, AttestorEvent } from './events';
import type { LocalEvidence, Prepared } from './evidence';
import { exchange, type ExchangeSettings } from './exchange';
import type { ClientSettings } from './options';
import { backoffDelayMs, isRetryable, type Circuit, type CircuitTicket } from './resilience';
import type { CachedToken } from './token-slots';

/** What to attest for. */
export interface AttestationRequest {
  readonly binding: string | undefined;
  readonly limitedUse: boolean;
  /** A refresh nobody waits for (reported in events). */
  readonly background: boolean;
}

/** The settings the attester reads. */
export type AttesterSettings = ExchangeSettings & Pick<ClientSettings, 'retry' | 'random' | 'sleep'>;

/** Runs attestations for one client. */
export class Attester {
  private lastFailure: AttestorClientStatus['lastError'];

  constructor(
    private readonly settings: AttesterSettings,
    private readonly circuit: Circuit,
    private readonly evidence: LocalEvidence,
    private readonly emit: (event: AttestorEvent) => void,
  ) {}

  /** The most recent failed attestation, with the local time it happened. */
  lastError(): AttestorClientStatus['lastError'] {
    return this.lastFailure;
  }

  /** One attestation with retries, under the circuit breaker and one deadline. */
  async attest(request: AttestationRequest): Promise<CachedToken> {
    const startedMs = this.settings.now();
    const deadlineMs = startedMs + this.settings.timeoutMs;
    let attempts = 0;
    const fail = (error: AttestorError): never => {
      this.lastFailure = { code: error.code, ...(error.status !== undefined ? { status: error.status } : {}), atMs: this.settings.now() };
      this.emit({
        type: 'attestation_failed',
        code: error.code,
        ...(error.status !== undefined ? { status: error.status } : {}),
        message: error.message,
        background: request.background,
        attempts,
        durationMs: this.settings.now() - startedMs,
      });
      throw error;
    };

    let prepared: Prepared;
    try {
      prepared = await this.withDeadline(this.evidence.prepare(request.binding, request.limitedUse), deadlineMs);
    } catch (error) {
      return fail(error instanceof AttestorError ? error : new AttestorError('local_error', describeError(error), { cause: error }));
    }

    const admission = this.circuit.admit(this.settings.now());
    if ('refused' in admission) return fail(admission.refused);
    const ticket: CircuitTicket = admission.ticket;
    for (;;) {
      attempts++;
      let error: AttestorError;
      try {
        const entry = await exchange(this.settings, prepared, deadlineMs);
        this.circuit.succeeded(ticket);
        this.emit({
          type: 'token_issued',
          limitedUse: request.limitedUse,
          bound: request.binding !== undefined,
          background: request.background,
          attempts,
          durationMs: this.settings.now() - startedMs,
        });
        return entry;
      } catch (caught) {
        error = caught instanceof AttestorError ? caught : new AttestorError('local_error', describeError(caught), { cause: caught });
      }
      const delayMs = this.retryDelay(error, attempts, deadlineMs);
      if (delayMs === undefined) {
        // Failures on the device say nothing about the service's health.
        if (error.code === 'local_error' || error.code === 'hardware_error') {
          this.circuit.released(ticket);
        } else {
          this.circuit.failed(ticket, error, this.settings.now());
          if (error.retryAtMs !== undefined && error.retryAtMs > this.settings.now()) this.circuit.holdUntil(error.retryAtMs, error);
        }
        return fail(error);
      }
      this.emit({ type: 'retry', attempt: attempts, delayMs, code: error.code, ...(error.status !== undefined ? { status: error.status } : {}) });
      if (delayMs > 0) await this.settings.sleep(delayMs);
    }
  }

  /** The wait before the next attempt, or undefined to give up. */
  private retryDelay(error: AttestorError, attempts: number, deadlineMs: number): number | undefined {
    if (!isRetryable(error) || attempts >= this.settings.retry.maxAttempts) return undefined;
    const now = this.settings.now();
    // A 409 means the nonce is gone: a new challenge can follow at once.
    const delayMs =
      error.code === 'nonce_invalid'
        ? 0
        : error.retryAtMs !== undefined
          ? Math.max(0, error.retryAtMs - now)
          : backoffDelayMs(this.settings.retry, attempts, this.settings.random);
    return now + delayMs < deadlineMs ? delayMs : undefined;
  }

  /** Stops waiting for `work` at the deadline; the work goes on (package sources, key stores and signal providers take no signal). */
  private withDeadline<T>(work: Promise<T>, deadlineMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const message = `preparing the attestation (package digest, install key, signals) took longer than ${this.settings.timeoutMs} ms`;
          reject(new AttestorError('timeout', message));
        },
        Math.max(0, deadlineMs - this.settings.now()),
      );
      work.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }
}
