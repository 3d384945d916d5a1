import { HardwareAttestationError, type HardwareErrorCode } from '../../src';

/** The code a verifier refused with, or 'accepted'; any other exception fails the test. */
export function outcomeOf(action: () => unknown): HardwareErrorCode | 'accepted' {
  try {
    action();
    return 'accepted';
  } catch (err) {
    if (err instanceof HardwareAttestationError) return err.code;
    throw err;
  }
}
