/**
 * What `attestor stats` should say of a set of log entries, counted one by one: the oracle the
 * tests hold a log adapter's summarize (which reads counter items, not entries) against.
 */
import { OUTCOMES } from '../../packages/service/src/core/log-stats';
import type { AttestationOutcome, LogCounts } from '../../packages/service/src/core/ports';

export class LogTally {
  private total = 0;
  private nonceInvalid = 0;
  private readonly byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<AttestationOutcome, number>;
  private readonly byReason: Record<string, number> = {};

  add(outcome: AttestationOutcome, reasons: readonly string[]): void {
    this.total++;
    this.byOutcome[outcome]++;
    for (const reason of reasons) this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
  }

  addNonceInvalid(): void {
    this.nonceInvalid++;
  }

  counts(): LogCounts {
    return { total: this.total, byOutcome: { ...this.byOutcome }, byReason: { ...this.byReason }, nonceInvalid: this.nonceInvalid };
  }
}
