/**
 * Human output of the CLI: aligned plain-text tables and key/value blocks. No colours and no
 * box-drawing, so the output reads the same in a terminal, a CI log and `grep`. Machine output is
 * `--json`, never these.
 *
 * Much of what the CLI prints was written by someone else: device models and OS versions come from
 * unauthenticated clients (through the attestation log), notes and messages from the service. A
 * terminal acts on control characters (ESC and C1 sequences erase lines, set the title, write the
 * clipboard with OSC 52, colour a forged line), and bidi overrides reorder what is shown, so every
 * such character is printed as a visible escape instead, in tables, fields, messages and JSON alike.
 */

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

/**
 * What a terminal must not receive raw: C0 controls (tab, CR and LF included: in a cell they would
 * break the columns or forge a line), DEL, C1 controls (0x9b is a one-byte CSI), Unicode's bidi and
 * zero-width format characters, line and paragraph separators, and unpaired surrogates (which no
 * encoder can write faithfully). Without the `u` flag each UTF-16 unit is matched on its own.
 */
const CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff';
const LONE_SURROGATE = '[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';
const UNSAFE = new RegExp(`[${CONTROLS}]|${LONE_SURROGATE}`, 'g');
/** UNSAFE less C0: JSON.stringify escapes those in strings, and the raw newlines of pretty JSON are its structure. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\r': '\\r', '\n': '\\n' };

function escapeUnit(unit: string): string {
  const code = unit.charCodeAt(0);
  return NAMED[unit] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
}

/**
 * `text` with every character a terminal would act on shown as an escape (`\x1b`, `\u009b`,
 * `\u202e`, `\n`): what others wrote is shown, never obeyed. Printable text, non-ASCII letters
 * included, is left as it is.
 * @example
 * ```ts
 * printable('Pixel\u001b]52;c;cm0=\u0007'); // 'Pixel\\x1b]52;c;cm0=\\x07'
 * ```
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, escapeUnit);
}

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

/**
 * JSON.stringify escapes C0 controls and unpaired surrogates but leaves DEL, C1 controls and bidi
 * characters raw; inside a JSON string `\u009b` means the same character, so escaping them keeps the
 * JSON valid and equal while `attestor log --json` in a terminal stays inert. Outside strings JSON
 * text is ASCII, so only string contents change.
 */
function terminalSafeJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Pretty JSON for `--json`, terminal-safe. */
export function toJson(value: unknown): string {
  return `${terminalSafeJson(JSON.stringify(value, null, 2))}\n`;
}

/** One JSON value on one line (JSON Lines, `log --json`), terminal-safe. */
export function toJsonLine(value: unknown): string {
  return `${terminalSafeJson(JSON.stringify(value))}\n`;
}
