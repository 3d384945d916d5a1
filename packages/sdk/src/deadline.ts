/** The one budget of an attestation (`timeoutMs`) applied to a step that takes no abort signal. */
import { AttestorError } from './errors';

/** What a deadline needs to know: the clock it is measured on, and the budget for the message. */
export interface DeadlineClock {
  readonly now: () => number;
  readonly timeoutMs: number;
}

/**
 * Settles as `work` does, or rejects with AttestorError `timeout` at `deadlineMs`. The work itself
 * goes on (providers and platform calls take no signal); callers that must not overlap it wait for
 * it separately.
 */
export function beforeDeadline<T>(work: Promise<T>, deadlineMs: number, clock: DeadlineClock, at: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AttestorError('timeout', `the attestation took longer than ${clock.timeoutMs} ms (at ${at})`)),
      Math.max(0, deadlineMs - clock.now()),
    );
    work.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
