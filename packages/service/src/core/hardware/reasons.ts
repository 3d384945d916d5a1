/** The verdict reasons hardware evidence adds (PROTOCOL.md §5.5); like every reason, they reach the log only. */
export const HARDWARE_REASONS = [
  /** The policy requires evidence and there is none, or no device record stands behind an assertion or a chainless Android attestation. */
  'hardware_missing',
  /** The evidence does not verify: bad signature, wrong challenge, wrong key, another install key. */
  'hardware_invalid',
  /** The chain does not lead to a trusted root, or a certificate below the root is not valid now. */
  'hardware_untrusted',
  /** A certificate of the chain is in Google's attestation status list (revoked or suspended). */
  'hardware_revoked',
  /** The evidence names another app than the registered identity (or the app has none for the platform). */
  'hardware_app_mismatch',
  /** An App Attest key attested twice, or an assertion whose counter did not grow (a replay). */
  'hardware_counter_replay',
  /** Verified evidence the policy does not accept: mode off, environment, security level, boot state, patch level. */
  'hardware_policy',
] as const;

export type HardwareReason = (typeof HARDWARE_REASONS)[number];
