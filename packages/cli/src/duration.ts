/**
 * Durations on the command line (`30d`, `12h`, `90m`, `1d12h`) to whole seconds. Units are explicit
 * on purpose: a bare number is ambiguous (seconds? days?) for an expiry, so it is refused.
 */

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 } as const;
type Unit = keyof typeof UNIT_SECONDS;

const WHOLE = /^(?:\d+[smhdw])+$/;
const PART = /(\d+)([smhdw])/g;

/** The admin API's bounds for `expireAfterSeconds`; checked here so a bad value fails before any upload. */
export const MIN_EXPIRE_AFTER_SECONDS = 60;
export const MAX_EXPIRE_AFTER_SECONDS = 10 * 365 * 86400;

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** Parses e.g. `30d`, `12h`, `90m`, `45s`, `2w` or a sum such as `1d12h`. Throws DurationError. */
export function parseDuration(text: string): number {
  const compact = text.trim().toLowerCase();
  if (!WHOLE.test(compact)) {
    throw new DurationError(`"${text}" is not a duration: use a number with a unit, e.g. 30d, 12h, 90m (units s m h d w)`);
  }
  let seconds = 0;
  for (const [, amount, unit] of compact.matchAll(PART)) seconds += Number(amount) * UNIT_SECONDS[unit as Unit];
  if (!Number.isSafeInteger(seconds)) throw new DurationError(`"${text}" is too long`);
  return seconds;
}

/** parseDuration plus the bounds the admin API enforces on build expiry. */
export function parseExpireAfter(text: string): number {
  const seconds = parseDuration(text);
  if (seconds < MIN_EXPIRE_AFTER_SECONDS || seconds > MAX_EXPIRE_AFTER_SECONDS) {
    throw new DurationError(`"${text}" is out of range: builds can expire after 1m at the earliest and 3650d at the latest`);
  }
  return seconds;
}

/** Seconds as the largest whole unit that divides them, the way they are typed: 300 → "5m", 2592000 → "30d". */
export function formatDuration(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds >= UNIT_SECONDS[unit] && seconds % UNIT_SECONDS[unit] === 0) return `${seconds / UNIT_SECONDS[unit]}${unit}`;
  }
  return `${seconds}s`;
}
