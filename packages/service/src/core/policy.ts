export { SIGNAL_NAMES, type Policy, type SignalName } from '@attestor/contracts/admin-api';
import { DEFAULT_HARDWARE_POLICY, SIGNAL_NAMES, type HardwarePolicy, type Policy, type SignalName } from '@attestor/contracts/admin-api';

/**
 * Hooking frameworks rewrite the app at run time, which defeats the package measurement, so the
 * default rejects them; rooted, emulator and debugger are common in legitimate testing and are
 * left to the customer.
 */
export const DEFAULT_POLICY: Policy = {
  reject: { rooted: false, emulator: false, debugger: false, hooked: true },
};

/** A policy as the admin API takes it: hardware may name only the settings that differ from DEFAULT_HARDWARE_POLICY. */
export type PolicySettings = Omit<Policy, 'hardware'> & { readonly hardware?: Partial<HardwarePolicy> };

/** A policy with every optional setting stated: what the admin API shows and stores, and what attestations are judged by. */
export type CompletePolicy = Policy & { readonly hardware: HardwarePolicy; readonly measurement: 'require' | 'off' };

/**
 * Fills in what a policy leaves out: hardware member by member from DEFAULT_HARDWARE_POLICY,
 * measurement `require`. Policies stored before hardware evidence existed have neither, and mean
 * exactly this: no hardware, the build measured.
 */
export function completePolicy(policy: PolicySettings): CompletePolicy {
  // Member by member with ??, so that a member present but undefined takes the default too.
  const given: Partial<HardwarePolicy> = policy.hardware ?? {};
  const d = DEFAULT_HARDWARE_POLICY;
  const minAndroidPatchLevel = given.minAndroidPatchLevel;
  return {
    reject: { ...policy.reject },
    ...(policy.minSdkVersion !== undefined ? { minSdkVersion: policy.minSdkVersion } : {}),
    hardware: {
      ios: given.ios ?? d.ios,
      android: given.android ?? d.android,
      otherPlatforms: given.otherPlatforms ?? d.otherPlatforms,
      minAndroidSecurityLevel: given.minAndroidSecurityLevel ?? d.minAndroidSecurityLevel,
      requireVerifiedBoot: given.requireVerifiedBoot ?? d.requireVerifiedBoot,
      ...(minAndroidPatchLevel !== undefined ? { minAndroidPatchLevel } : {}),
      appAttestEnvironments: [...(given.appAttestEnvironments ?? d.appAttestEnvironments)],
      rememberDays: given.rememberDays ?? d.rememberDays,
    },
    measurement: policy.measurement ?? 'require',
  };
}

/**
 * Compares versions such as "1.10.0" > "1.9" with SemVer precedence: dotted numeric release
 * parts first; then a prerelease ("1.2.0-beta") sorts before its release, so a beta SDK does not
 * meet a minimum of the final release, and prereleases compare identifier by identifier (numeric
 * ones numerically and below alphanumeric ones: 1.2.0-alpha < 1.2.0-alpha.1 < 1.2.0-rc.1).
 * Build metadata ("+42") is ignored.
 */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const withoutBuild = v.split('+')[0] ?? '';
    const dash = withoutBuild.indexOf('-');
    const release = dash < 0 ? withoutBuild : withoutBuild.slice(0, dash);
    return {
      parts: release.split('.').map((p) => Number.parseInt(p, 10) || 0),
      prerelease: dash < 0 ? undefined : withoutBuild.slice(dash + 1).split('.'),
    };
  };
  const [va, vb] = [split(a), split(b)];
  for (let i = 0; i < Math.max(va.parts.length, vb.parts.length); i++) {
    const d = (va.parts[i] ?? 0) - (vb.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (!va.prerelease || !vb.prerelease) return va.prerelease ? -1 : vb.prerelease ? 1 : 0;
  for (let i = 0; i < Math.max(va.prerelease.length, vb.prerelease.length); i++) {
    const [x, y] = [va.prerelease[i], vb.prerelease[i]];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (nx && ny && Number(x) !== Number(y)) return Math.sign(Number(x) - Number(y));
    if (nx !== ny) return nx ? -1 : 1;
    if (!nx && x !== y) return x < y ? -1 : 1;
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
