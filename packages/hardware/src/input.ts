import { isBytes } from './bytes';
import { refuse } from './errors';

/** Views `value` as a Buffer without copying, refusing non-bytes and oversized input. */
export function requireBytes(value: unknown, what: string, limits: { min?: number; max: number }): Buffer {
  if (!isBytes(value)) return refuse('malformed', `${what} must be a Uint8Array`);
  const min = limits.min ?? 1;
  if (value.byteLength < min) refuse('malformed', `${what} is shorter than ${min} bytes`);
  if (value.byteLength > limits.max) refuse('malformed', `${what} is larger than ${limits.max} bytes`);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function requireDate(value: unknown, what: string): Date {
  // Duck-typed: a Date from another realm (a vm context, a test runner) is still a Date.
  if (Object.prototype.toString.call(value) !== '[object Date]' || Number.isNaN((value as Date).getTime())) {
    return refuse('malformed', `${what} must be a valid Date`);
  }
  return value as Date;
}

export function requireString(value: unknown, what: string, maxLength = 1024): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    return refuse('malformed', `${what} must be a non-empty string of at most ${maxLength} characters`);
  }
  return value;
}

/** App Attest counters are 32-bit; larger or fractional numbers are caller bugs. */
export function requireCounter(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    return refuse('malformed', `${what} must be an integer from 0 to 2^32-1`);
  }
  return value;
}
