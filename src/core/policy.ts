import { DEFAULT_TOKEN_TTL_SECONDS } from './protocol';

export type SignalName = 'rooted' | 'emulator' | 'debugger' | 'hooked';
export const SIGNAL_NAMES: readonly SignalName[] = ['rooted', 'emulator', 'debugger', 'hooked'];

/** What an app's attestations must satisfy beyond being a genuine registered build. */
export interface Policy {
  readonly tokenTtlSeconds: number;
  /** Signals that make an attestation fail when the device reports them. */
  readonly reject: Readonly<Record<SignalName, boolean>>;
  /** Lowest SDK version accepted (dotted numeric, e.g. "1.2.0"); absent accepts any. */
  readonly minSdkVersion?: string;
}

/**
 * Hooking frameworks rewrite the app at run time, which defeats the package measurement, so the
 * default rejects them; rooted, emulator and debugger are common in legitimate testing and are
 * left to the customer.
 */
export const DEFAULT_POLICY: Policy = {
  tokenTtlSeconds: DEFAULT_TOKEN_TTL_SECONDS,
  reject: { rooted: false, emulator: false, debugger: false, hooked: true },
};

/** Compares dotted numeric versions ("1.10.0" > "1.9"); non-numeric parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function policyViolations(policy: Policy, signals: Readonly<Record<SignalName, boolean>>, sdkVersion: string): string[] {
  const reasons: string[] = [];
  for (const name of SIGNAL_NAMES) {
    if (policy.reject[name] && signals[name]) reasons.push(`device_${name}`);
  }
  if (policy.minSdkVersion !== undefined && compareVersions(sdkVersion, policy.minSdkVersion) < 0) {
    reasons.push('sdk_too_old');
  }
  return reasons;
}
