/**
 * Text written by others, made safe to show on a terminal: the CLI's output and the local service's
 * live lines (`npm start`) both print what devices and the service sent, and both escape it here.
 *
 * A terminal acts on control characters (ESC and C1 sequences erase lines, set the title, write the
 * clipboard with OSC 52, colour a forged line), and bidi overrides reorder what is shown, so every
 * such character is printed as a visible escape instead.
 */

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

/**
 * JSON.stringify escapes C0 controls and unpaired surrogates but leaves DEL, C1 controls and bidi
 * characters raw; inside a JSON string `\u009b` means the same character, so escaping them keeps the
 * JSON valid and equal while JSON shown on a terminal stays inert. Outside strings JSON text is
 * ASCII, so only string contents change.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
