/**
 * Human output of the CLI: aligned plain-text tables and key/value blocks. No colours and no
 * box-drawing, so the output reads the same in a terminal, a CI log and `grep`. Machine output is
 * `--json`, never these.
 *
 * Much of what the CLI prints was written by someone else: device models and OS versions come from
 * unauthenticated clients (through the attestation log), notes and messages from the service. A
 * terminal acts on control characters (ESC and C1 sequences erase lines, set the title, write the
 * clipboard with OSC 52, colour a forged line), and bidi overrides reorder what is shown, so every
 * such character is printed as a visible escape instead, in tables, fields, messages and JSON alike
 * (@attestor/contracts/terminal, which the local service's live lines share).
 */
import { printable, terminalSafeJson } from '@attestor/contracts/terminal';

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Numbers read best right-aligned. @default 'left' */
  readonly align?: 'left' | 'right';
}

/** A table with a header row; columns separated by two spaces, trailing spaces trimmed. */
export function formatTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  const cells = rows.map((row) => columns.map((column) => oneCell(column.value(row))));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => (columns[i]!.align === 'right' ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].map((l) => `${l}\n`).join('');
}

/** `key  value` lines with the values aligned. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${key.padEnd(width)}  ${oneCell(value)}\n`).join('');
}

export { printable };

function oneCell(value: string): string {
  return printable(value);
}

/** Unix seconds as ISO 8601 UTC without milliseconds: sortable, unambiguous, and what `date -u` users expect. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `2025-01-01T00:00:00Z`, or the placeholder when absent. */
export function isoOr(seconds: number | undefined, absent: string): string {
  return seconds === undefined ? absent : isoSeconds(seconds);
}

/** Pretty JSON for `--json`, terminal-safe. */
export function toJson(value: unknown): string {
  return `${terminalSafeJson(JSON.stringify(value, null, 2))}\n`;
}

/** One JSON value on one line (JSON Lines, `log --json`), terminal-safe. */
export function toJsonLine(value: unknown): string {
  return `${terminalSafeJson(JSON.stringify(value))}\n`;
}
