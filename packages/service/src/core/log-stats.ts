/** The outcomes an attestation is logged and counted under (`attestor stats` has a count for each). */
import type { AttestationOutcome } from './ports';

export const OUTCOMES: readonly AttestationOutcome[] = ['pass', 'fail', 'debug', 'allowlisted'];
