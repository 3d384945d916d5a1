/**
 * Device integrity signals and their pluggable providers. Portable (no Node APIs); the Node
 * provider lives in ./node, React Native and native apps write their own (docs/SDK.md).
 */

/**
 * What the device reports about its own integrity. The service's policy decides which of them fail
 * an attestation (by default only `hooked`). Self-reported: they raise the cost of abuse, they do
 * not prove anything (PROTOCOL.md §9).
 * @example
 * ```ts
 * const signals: DeviceSignals = { rooted: false, emulator: true, debugger: false, hooked: false };
 * ```
 */
export interface DeviceSignals {
  /** Rooted or jailbroken. */
  readonly rooted: boolean;
  /** Running in an emulator or simulator. */
  readonly emulator: boolean;
  /** A debugger or inspector is attached or listening. */
  readonly debugger: boolean;
  /** Code was injected into the process: instrumentation frameworks, preloaded modules, loader hooks. */
  readonly hooked: boolean;
}

/**
 * A source of DeviceSignals, asked once per attestation (so answers may change while the app
 * runs). A provider reports only what it can observe; signals it leaves out count as false. With
 * several providers a signal is true if any of them says so. A provider that throws fails that
 * attestation locally (code `local_error`): the SDK never reports "clean" on a provider's behalf.
 * @example
 * ```ts
 * // React Native, with jail-monkey:
 * const jailMonkeySignals: SignalProvider = {
 *   signals: async () => ({ rooted: JailMonkey.isJailBroken(), hooked: JailMonkey.hookDetected(), debugger: await JailMonkey.isDebuggedMode() }),
 * };
 * ```
 */
export interface SignalProvider {
  signals(): Promise<Partial<DeviceSignals>>;
}

/**
 * Descriptive device fields, sent as `device.platform`, `device.osVersion` and `device.model`.
 * Longer values are cut to the protocol limits (32, 64 and 128 UTF-16 code units) rather than
 * rejected, so an unusual device name cannot lock an app out.
 * @example
 * ```ts
 * const device: DeviceInfo = { platform: 'android', osVersion: '14', model: 'Pixel 8' };
 * ```
 */
export interface DeviceInfo {
  readonly platform: string;
  readonly osVersion: string;
  readonly model: string;
}

/**
 * All signals false: what a client without providers reports.
 * @example
 * ```ts
 * const signals = providers.length === 0 ? NO_SIGNALS : await readSignals(providers);
 * ```
 */
export const NO_SIGNALS: DeviceSignals = Object.freeze({ rooted: false, emulator: false, debugger: false, hooked: false });

/**
 * Asks every provider and combines the answers: a signal is true if any provider reports exactly
 * `true` (anything else, such as the string "true", counts as not reported).
 * @example
 * ```ts
 * const signals = await readSignals([nodeSignalProvider(), myEmulatorCheck]);
 * ```
 */
export async function readSignals(providers: readonly SignalProvider[]): Promise<DeviceSignals> {
  if (providers.length === 0) return NO_SIGNALS;
  const answers = await Promise.all(providers.map((p) => p.signals()));
  const any = (name: keyof DeviceSignals) => answers.some((a) => typeof a === 'object' && a !== null && a[name] === true);
  return { rooted: any('rooted'), emulator: any('emulator'), debugger: any('debugger'), hooked: any('hooked') };
}
