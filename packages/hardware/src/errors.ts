/**
 * The stable failure codes of every verifier in this package. Callers branch on these; the
 * messages are for humans and may change.
 *
 * - `malformed`: not CBOR / not DER / wrong structure / oversized input / unusable arguments.
 * - `untrusted_chain`: the certificates do not chain, by name and signature, to a trusted root.
 * - `expired`: a certificate below the root is not valid at `now` (expired or not yet valid).
 * - `revoked`: a certificate's serial number is in `revokedSerials`.
 * - `extension_missing`: the leaf lacks the attestation extension (Apple nonce, Android KeyDescription).
 * - `challenge_mismatch`: the attested nonce or challenge is not the one expected.
 * - `app_mismatch`: the evidence names another app (App Attest rpIdHash).
 * - `key_mismatch`: keyId is not the SHA-256 of the attested key, or credentialId is not keyId.
 * - `environment_not_allowed`: the App Attest aaguid names an environment not in `environments`.
 * - `counter_invalid`: attestation counter not 0, or assertion counter not above `previousCounter`.
 * - `bad_signature`: the assertion signature does not verify with the stored key.
 */
export const HARDWARE_ERROR_CODES = [
  'malformed',
  'untrusted_chain',
  'expired',
  'revoked',
  'extension_missing',
  'challenge_mismatch',
  'app_mismatch',
  'key_mismatch',
  'environment_not_allowed',
  'counter_invalid',
  'bad_signature',
] as const;

/** One of {@link HARDWARE_ERROR_CODES}. */
export type HardwareErrorCode = (typeof HARDWARE_ERROR_CODES)[number];

/**
 * The only error the verifiers throw. Parser and crypto exceptions are wrapped (kept as `cause`)
 * so that callers never have to tell a hostile input from a library bug by message text.
 *
 * @example
 * ```ts
 * try {
 *   verifyAppAttestAssertion(input);
 * } catch (err) {
 *   if (err instanceof HardwareAttestationError && err.code === 'counter_invalid') replayed();
 *   else throw err;
 * }
 * ```
 */
export class HardwareAttestationError extends Error {
  override readonly name = 'HardwareAttestationError';
  readonly code: HardwareErrorCode;

  constructor(code: HardwareErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Throws a {@link HardwareAttestationError}; typed `never` so checks read as guards. */
export function refuse(code: HardwareErrorCode, message: string, cause?: unknown): never {
  throw new HardwareAttestationError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Runs one verification step and turns any foreign exception (asn1js, CBOR, OpenSSL) into
 * `code`, so a crafted input can never surface a raw parser error to the caller.
 */
export function attempt<T>(code: HardwareErrorCode, message: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof HardwareAttestationError) throw err;
    return refuse(code, message, err);
  }
}

/**
 * Runs a whole public verifier. Anything that is not already a HardwareAttestationError (a
 * library edge case the checks did not foresee) becomes `malformed`, so callers never see raw
 * exceptions from parsers fed hostile input.
 */
export function guarded<T>(verifier: () => T): T {
  return attempt('malformed', 'the evidence could not be read', verifier);
}
