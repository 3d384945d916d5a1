/**
 * Counts of attestation outcomes and reasons (`attestor stats`), kept as running totals so that a
 * log adapter can count a month of entries page by page without holding them.
 */
import type { AttestationOutcome, LogCounts } from './ports';

export const OUTCOMES: readonly AttestationOutcome[] = ['pass', 'fail', 'debug', 'allowlisted'];

export class LogTally {
  private total = 0;
  private readonly byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<AttestationOutcome, number>;
  private readonly byReason: Record<string, number> = {};

  add(outcome: AttestationOutcome, reasons: readonly string[]): void {
    this.total++;
    this.byOutcome[outcome]++;
    for (const reason of reasons) this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
  }

  counts(): LogCounts {
    return { total: this.total, byOutcome: { ...this.byOutcome }, byReason: { ...this.byReason } };
  }
}
