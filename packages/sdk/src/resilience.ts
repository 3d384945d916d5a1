/**
 * Retry and circuit-breaker rules of the SDK: pure logic over injected time, so tests can drive
 * them without sleeping. Portable (no Node APIs).
 */
import { AttestorError } from './errors';

/**
 * How one attestation retries transient failures (network errors, HTTP 5xx, 408, 429, and 409
 * nonce_invalid, which restarts with a fresh challenge). Delays use exponential backoff with full
 * jitter: a random wait between 0 and `min(maxDelayMs, baseDelayMs * 2^(attempt-1))`, so a fleet
 * of devices that failed together does not come back together. A `Retry-After` from the service
 * replaces the computed delay. No retry ever runs past the attestation's `timeoutMs`.
 * @example
 * ```ts
 * const retry: RetryOptions = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 2_000 };
 * ```
 */
export interface RetryOptions {
  /** Attempts per attestation, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** Upper bound of the first backoff delay, in ms. @default 250 */
  readonly baseDelayMs?: number;
  /** Upper bound of any backoff delay, in ms. @default 4000, or baseDelayMs if that is larger */
  readonly maxDelayMs?: number;
}

/**
 * When the client stops calling a failing service. After `failureThreshold` consecutive failed
 * attestations (each already retried) the circuit opens: attestations fail at once with
 * `circuit_open`, without a request, until a cool-down ends. Then one trial attestation may run
 * (half-open); if it succeeds the circuit closes, otherwise it reopens with twice the cool-down,
 * up to `maxCooldownMs`. Each cool-down is jittered between half and all of its length. A 429 whose
 * `Retry-After` is longer than the time left also keeps the circuit open until then.
 * @example
 * ```ts
 * const circuit: CircuitOptions = { failureThreshold: 3, cooldownMs: 10_000, maxCooldownMs: 120_000 };
 * ```
 */
export interface CircuitOptions {
  /** Consecutive failed attestations that open the circuit. @default 2 */
  readonly failureThreshold?: number;
  /** First cool-down, in ms. @default 5000 */
  readonly cooldownMs?: number;
  /** Longest cool-down, in ms. @default 60000, or cooldownMs if that is longer */
  readonly maxCooldownMs?: number;
}

/**
 * The circuit's state as reported in events and `status()`.
 * @example
 * ```ts
 * if (client.status().circuit === 'open') showOfflineBanner();
 * ```
 */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** Resolved retry settings. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Resolved circuit settings. */
export interface CircuitPolicy {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  readonly maxCooldownMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 4_000 };
export const DEFAULT_CIRCUIT: CircuitPolicy = { failureThreshold: 2, cooldownMs: 5_000, maxCooldownMs: 60_000 };

/** Validates and fills RetryOptions; returns the field at fault as a string when invalid. */
export function resolveRetry(options: RetryOptions | undefined): RetryPolicy | string {
  const given = definedOnly(options);
  const policy = { ...DEFAULT_RETRY, maxDelayMs: Math.max(DEFAULT_RETRY.maxDelayMs, given.baseDelayMs ?? 0), ...given };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) return 'retry.maxAttempts';
  if (!(policy.baseDelayMs >= 0 && Number.isFinite(policy.baseDelayMs))) return 'retry.baseDelayMs';
  if (!(policy.maxDelayMs >= policy.baseDelayMs && Number.isFinite(policy.maxDelayMs))) return 'retry.maxDelayMs';
  return policy;
}

/** Validates and fills CircuitOptions; returns the field at fault as a string when invalid. */
export function resolveCircuit(options: CircuitOptions | undefined): CircuitPolicy | string {
  const given = definedOnly(options);
  // A longer first cool-down than the default cap raises the cap rather than being refused.
  const policy = { ...DEFAULT_CIRCUIT, maxCooldownMs: Math.max(DEFAULT_CIRCUIT.maxCooldownMs, given.cooldownMs ?? 0), ...given };
  if (!Number.isInteger(policy.failureThreshold) || policy.failureThreshold < 1) return 'circuit.failureThreshold';
  if (!(policy.cooldownMs >= 0 && Number.isFinite(policy.cooldownMs))) return 'circuit.cooldownMs';
  if (!(policy.maxCooldownMs >= policy.cooldownMs && Number.isFinite(policy.maxCooldownMs))) return 'circuit.maxCooldownMs';
  return policy;
}

function definedOnly<T extends object>(options: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Full-jitter backoff before attempt `attempt + 1`, given that `attempt` (1-based) failed.
 * `random` returns a number in [0, 1), like Math.random.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * cap);
}

/**
 * Delay in ms asked for by a `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date), or undefined when absent or unreadable. A date in the past means no delay.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with a day name; Date.parse alone would read "-3" as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * Whether a failed attempt may be retried, judged by the error alone (attempt count and time
 * left are checked separately). 400 and protocol violations are client or deployment bugs that a
 * retry cannot fix.
 */
export function isRetryable(error: AttestorError): boolean {
  switch (error.code) {
    case 'network':
    case 'nonce_invalid':
    case 'rate_limited':
      return true;
    case 'service_error':
      return error.status !== undefined && (error.status >= 500 || error.status === 408);
    default:
      return false;
  }
}

/** What the circuit says about starting an attestation: go ahead (with a ticket to report back), or an error to fail with. */
export type Admission = { readonly ticket: CircuitTicket } | { readonly refused: AttestorError };

/** Handed out per admitted attestation; exactly one outcome is recorded with it. */
export interface CircuitTicket {
  readonly trial: boolean;
}

/**
 * The circuit breaker. All times are the client's `now()` in ms. `onChange` hears every state
 * change (for events).
 */
export class Circuit {
  private current: CircuitState = 'closed';
  private failures = 0;
  private openUntilMs = 0;
  private nextCooldownMs: number;
  private trialRunning = false;
  private opener: AttestorError | undefined;

  constructor(
    private readonly policy: CircuitPolicy,
    private readonly random: () => number,
    private readonly onChange: (state: CircuitState, retryAtMs: number | undefined) => void,
  ) {
    this.nextCooldownMs = policy.cooldownMs;
  }

  /** Current state; an open circuit whose cool-down is over reads as half_open. */
  state(nowMs: number): CircuitState {
    if (this.current === 'open' && nowMs >= this.openUntilMs && !this.trialRunning) return 'half_open';
    return this.current;
  }

  /** Local time the circuit lets a trial through, when open. */
  retryAtMs(): number | undefined {
    return this.current === 'closed' ? undefined : this.openUntilMs;
  }

  /** Consecutive failed attestations so far. */
  consecutiveFailures(): number {
    return this.failures;
  }

  admit(nowMs: number): Admission {
    if (this.current === 'closed') return { ticket: { trial: false } };
    if (nowMs < this.openUntilMs || this.trialRunning) {
      const cause = this.opener;
      return {
        refused: new AttestorError('circuit_open', `not calling the service until its cool-down ends${cause ? ` (last failure: ${cause.code})` : ''}`, {
          retryAtMs: this.openUntilMs,
          ...(cause ? { cause } : {}),
        }),
      };
    }
    this.trialRunning = true;
    this.set('half_open', undefined);
    return { ticket: { trial: true } };
  }

  succeeded(ticket: CircuitTicket): void {
    if (ticket.trial) this.trialRunning = false;
    this.failures = 0;
    this.nextCooldownMs = this.policy.cooldownMs;
    this.opener = undefined;
    if (this.current !== 'closed') this.set('closed', undefined);
  }

  failed(ticket: CircuitTicket, error: AttestorError, nowMs: number): void {
    if (ticket.trial) this.trialRunning = false;
    this.failures++;
    // A half-open circuit whose cool-down another trial already restarted keeps that cool-down.
    if (!ticket.trial && this.current !== 'closed') return;
    if (ticket.trial || this.failures >= this.policy.failureThreshold) {
      const cooldown = this.nextCooldownMs;
      this.nextCooldownMs = Math.min(this.policy.maxCooldownMs, cooldown * 2);
      this.open(error, nowMs + Math.round(cooldown * (0.5 + 0.5 * Math.min(Math.max(this.random(), 0), 1))));
    }
  }

  /** A local failure: the service was not involved, so nothing changes but the trial slot. */
  released(ticket: CircuitTicket): void {
    if (!ticket.trial) return;
    this.trialRunning = false;
    if (this.current === 'half_open') this.set('open', this.openUntilMs);
  }

  /** The service asked not to be called before `untilMs` (Retry-After). */
  holdUntil(untilMs: number, error: AttestorError): void {
    if (untilMs <= this.openUntilMs && this.current !== 'closed') return;
    this.open(error, Math.max(untilMs, this.openUntilMs));
  }

  private open(error: AttestorError, untilMs: number): void {
    this.opener = error;
    this.openUntilMs = untilMs;
    this.set('open', untilMs);
  }

  private set(state: CircuitState, retryAtMs: number | undefined): void {
    this.current = state;
    this.onChange(state, retryAtMs);
  }
}
