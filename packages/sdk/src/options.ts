/**
 * The options of AttestorClient: what an app may set, checked with the service's own rules and
 * completed with defaults once, in the constructor, so a typo fails at start-up and the rest of
 * the client reads settings that are known to be good.
 */
import { AttestorError } from './errors';
import type { AttestorEvent } from './events';
import type { InstallKeySource } from './evidence';
import { memoryHardwareKeyStore, type HardwareKeyStore, type HardwareProvider } from './hardware';
import type { HardwareSettings } from './hardware-keys';
import { parseHostRule, type HostRule } from './hosts';
import { memoryKeyStore, type KeyStore, type PlatformInstallKey } from './install-key';
import type { PackageSource } from './package-source';
import { APP_ID_PATTERN, DEFAULT_HARDWARE_KEY_MAX_AGE_DAYS, MAX_APP_ID_CHARS, MAX_DEVICE_TEXT_CHARS } from '@attestor/contracts/protocol';
import { decodeB64u } from './protocol';
import { resolveCircuit, resolveRetry, type CircuitOptions, type CircuitPolicy, type RetryOptions, type RetryPolicy } from './resilience';
import type { DeviceInfo, SignalProvider } from './signals';

/**
 * Options of AttestorClient.
 * @example
 * ```ts
 * const options: AttestorClientOptions = {
 *   endpoint: 'https://attest.example.com',
 *   appId: 'com.example.app',
 *   appVersion: '1.4.2',
 *   packageSource: filePackageSource(process.execPath),
 *   keyStore: fileKeyStore(path.join(dataDir, 'attestor-install-key.json')),
 *   hosts: ['api.example.com'],
 *   onEvent: (event) => log.info('attestor', event),
 * };
 * ```
 */
export interface AttestorClientOptions {
  /** Base URL of the Attestor API; `/v1/challenge` and `/v1/attest` are appended. */
  readonly endpoint: string;
  /** Reverse-DNS app id as registered, e.g. `com.example.app`. */
  readonly appId: string;
  /** Version string as registered, e.g. `1.4.2`. */
  readonly appVersion: string;
  /** Digest of the running package; asked once per client. */
  readonly packageSource: PackageSource;
  /** Where the install key lives. @default memoryKeyStore(): a new install key per client */
  readonly keyStore?: KeyStore;
  /**
   * An install key the platform keeps and signs with (a Secure Enclave key), instead of a
   * `keyStore`. Not with an Android hardware provider, whose Keystore key is the install key.
   */
  readonly installKey?: PlatformInstallKey;
  /**
   * Hardware attestation (PROTOCOL.md §5.5): an App Attest or Android key attestation provider,
   * bridged by the app; the SDK adds its evidence to every attestation. @default none
   */
  readonly hardware?: HardwareProvider;
  /** Where the hardware key's id, age and delivery are remembered between runs. @default memoryHardwareKeyStore(): a new hardware key per client */
  readonly hardwareKeyStore?: HardwareKeyStore;
  /**
   * A new hardware key is made once the current one is older than this many days (by the device
   * clock); keep it below the app policy's `rememberDays`. More than 0, at most 365. @default 7
   */
  readonly hardwareKeyMaxAgeDays?: number;
  /** Device integrity signals, from one provider or several (a signal is true if any says so). @default none: all false */
  readonly signals?: SignalProvider | readonly SignalProvider[];
  /**
   * @default platform, osVersion and model "unknown"; with a hardware provider, platform is the
   * provider's ("ios" or "android"), and a different one is refused: the service picks the app's
   * hardware policy by it
   */
  readonly device?: DeviceInfo;
  /** Budget of one attestation in ms: local preparation, every request and every retry. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * A debug secret from `attestor devices add --debug` (base64url of 32 bytes), for CI and
   * emulators: lets this install pass and shows it as debug in the attestation log. Never ship it
   * in a release build.
   */
  readonly debugSecret?: string;
  /**
   * Where `fetch` attaches tokens (see parseHostRule for the forms: `api.example.com`,
   * `*.example.com`, `https://api.example.com:8443`, `http://10.0.2.2:3000`). Requests to other
   * hosts go out untouched. @default the endpoint's origin
   */
  readonly hosts?: readonly string[];
  /** Add `Attestor-Proof` (proof of possession of the install key) to every request `fetch` decorates. @default false */
  readonly proof?: boolean;
  /** Bind the tokens `fetch` attaches to each request's Authorization header (claim `pay`). @default no binding */
  readonly bindTo?: 'authorization';
  readonly retry?: RetryOptions;
  readonly circuit?: CircuitOptions;
  /** Listener for every AttestorEvent; more can be added with onEvent(). */
  readonly onEvent?: (event: AttestorEvent) => void;
  /** The transport. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Local time in ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Waits between retries. @default a setTimeout promise */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** AttestorClientOptions checked and with every default filled in. */
export interface ClientSettings {
  /** Without trailing slashes, so paths append cleanly. */
  readonly endpoint: string;
  readonly appId: string;
  readonly appVersion: string;
  readonly packageSource: PackageSource;
  readonly installKeySource: InstallKeySource;
  readonly hardware: HardwareSettings | undefined;
  readonly signalProviders: readonly SignalProvider[];
  /** Cut to the lengths the service accepts. */
  readonly device: DeviceInfo;
  readonly timeoutMs: number;
  readonly debugSecret: string | undefined;
  readonly hostRules: readonly HostRule[];
  readonly proof: boolean;
  readonly bindTo: 'authorization' | undefined;
  readonly retry: RetryPolicy;
  readonly circuit: CircuitPolicy;
  readonly fetchFn: typeof fetch;
  readonly now: () => number;
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onEvent: ((event: AttestorEvent) => void) | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const UNKNOWN_DEVICE: DeviceInfo = { platform: 'unknown', osVersion: 'unknown', model: 'unknown' };

/**
 * A device member as the service takes it (PROTOCOL.md §2.2): every character outside printable
 * ASCII becomes `?` (a code point, so a surrogate pair is one `?`), then cut to `max`, so an unusual
 * model name costs the operator some letters in the log rather than the app its attestation.
 */
function deviceText(text: string, max: number): string {
  return text.replace(/[^\x20-\x7e]/gu, '?').slice(0, max);
}

/** Checks the options (throws AttestorError `invalid_request` naming the field) and fills in the defaults; no I/O. */
export function resolveClientOptions(options: AttestorClientOptions): ClientSettings {
  const invalid = (field: string, message: string) => new AttestorError('invalid_request', `${field} ${message}`, { field });
  // Checked here with the service's own rules so a typo fails at start-up, not as a wasted nonce.
  let endpointUrl: URL;
  try {
    endpointUrl = new URL(options.endpoint);
  } catch {
    throw invalid('endpoint', 'must be an http(s) URL');
  }
  if (!/^https?:\/\/[^/]/.test(options.endpoint) || endpointUrl.search || endpointUrl.hash) {
    throw invalid('endpoint', 'must be an http(s) URL without query or fragment');
  }
  if (typeof options.appId !== 'string' || options.appId.length > MAX_APP_ID_CHARS || !APP_ID_PATTERN.test(options.appId)) {
    throw invalid('appId', 'must be reverse-DNS style (e.g. com.example.app), at most 255 characters');
  }
  if (typeof options.appVersion !== 'string' || options.appVersion.length > 64 || !VERSION_PATTERN.test(options.appVersion)) {
    throw invalid('appVersion', 'must be 1-64 characters of letters, digits and . _ + -, starting with a letter or digit');
  }
  if (typeof options.packageSource?.digest !== 'function') throw invalid('packageSource', 'must have a digest() method');
  const { installKeySource, hardware } = resolveKeys(options, invalid);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw invalid('timeoutMs', 'must be a positive number of milliseconds');
  // The secret itself never appears in the message.
  if (options.debugSecret !== undefined && (typeof options.debugSecret !== 'string' || decodeB64u(options.debugSecret)?.length !== 32)) {
    throw invalid('debugSecret', 'must be base64url of 32 bytes (43 characters), as printed by `attestor devices add --debug`');
  }
  const hostEntries = options.hosts ?? [endpointUrl.origin];
  const hostRules = hostEntries.map((entry) => {
    const rule = parseHostRule(entry);
    if (!rule) {
      const forms = 'a host (api.example.com), a wildcard (*.example.com) or an origin (https://api.example.com:8443)';
      throw invalid('hosts', `entry ${JSON.stringify(String(entry))} must be ${forms}`);
    }
    return rule;
  });
  if (options.bindTo !== undefined && options.bindTo !== 'authorization') throw invalid('bindTo', 'must be "authorization" when set');
  const retry = resolveRetry(options.retry);
  if (typeof retry === 'string') throw invalid(retry, 'is out of range');
  const circuit = resolveCircuit(options.circuit);
  if (typeof circuit === 'string') throw invalid(circuit, 'is out of range');
  const globalFetch = globalThis.fetch as typeof fetch | undefined;
  if (options.fetch === undefined && typeof globalFetch !== 'function') throw invalid('fetch', 'is required on platforms without a global fetch');

  const device = options.device ?? (hardware ? { ...UNKNOWN_DEVICE, platform: hardware.provider.platform } : UNKNOWN_DEVICE);
  const platform = hardware?.provider.platform;
  if (platform !== undefined && device.platform !== platform) {
    throw invalid('device.platform', `must be "${platform}" with a ${platform} hardware provider: the service picks the app's hardware policy by it`);
  }
  return {
    endpoint: options.endpoint.replace(/\/+$/, ''),
    appId: options.appId,
    appVersion: options.appVersion,
    packageSource: options.packageSource,
    installKeySource,
    hardware,
    signalProviders: options.signals === undefined ? [] : Array.isArray(options.signals) ? [...options.signals] : [options.signals as SignalProvider],
    device: {
      platform: deviceText(device.platform, MAX_DEVICE_TEXT_CHARS.platform),
      osVersion: deviceText(device.osVersion, MAX_DEVICE_TEXT_CHARS.osVersion),
      model: deviceText(device.model, MAX_DEVICE_TEXT_CHARS.model),
    },
    timeoutMs,
    debugSecret: options.debugSecret,
    hostRules,
    proof: options.proof === true,
    bindTo: options.bindTo,
    retry,
    circuit,
    // Bound so a platform fetch that checks its `this` (browsers, some polyfills) keeps working.
    fetchFn: options.fetch ?? globalFetch!.bind(globalThis),
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    onEvent: options.onEvent,
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The service keeps a device record at most 365 days (rememberDays), so an older key could never be current. */
const MAX_HARDWARE_KEY_AGE_DAYS = 365;
const PROVIDER_METHODS = { ios: ['attest', 'assert'], android: ['attest', 'sign', 'currentKey'] } as const;

/** The install key's source and the hardware settings; combinations that cannot work are refused, naming the option. */
function resolveKeys(
  options: AttestorClientOptions,
  invalid: (field: string, message: string) => AttestorError,
): { installKeySource: InstallKeySource; hardware: HardwareSettings | undefined } {
  const { keyStore, installKey, hardware: provider, hardwareKeyStore } = options;
  if (keyStore !== undefined && (typeof keyStore?.load !== 'function' || typeof keyStore.save !== 'function')) {
    throw invalid('keyStore', 'must have load() and save() methods');
  }
  if (installKey !== undefined && (typeof installKey?.publicKey !== 'function' || typeof installKey.sign !== 'function')) {
    throw invalid('installKey', 'must have publicKey() and sign() methods');
  }
  if (installKey !== undefined && keyStore !== undefined) throw invalid('installKey', 'and keyStore are exclusive: the install key lives in one place');
  if (provider !== undefined) {
    const methods = (PROVIDER_METHODS as Record<string, readonly string[]>)[(provider as { platform?: unknown } | null)?.platform as string];
    if (!methods) throw invalid('hardware.platform', 'must be "ios" (App Attest) or "android" (key attestation)');
    const missing = methods.find((name) => typeof (provider as unknown as Record<string, unknown>)[name] !== 'function');
    if (missing !== undefined) throw invalid(`hardware.${missing}`, 'must be a function');
    if (provider.platform === 'android') {
      const why = 'must not be set with an Android hardware provider: its Keystore key is the install key';
      if (keyStore !== undefined) throw invalid('keyStore', why);
      if (installKey !== undefined) throw invalid('installKey', why);
    }
  }
  if (hardwareKeyStore !== undefined && (typeof hardwareKeyStore?.load !== 'function' || typeof hardwareKeyStore.save !== 'function')) {
    throw invalid('hardwareKeyStore', 'must have load() and save() methods');
  }
  const maxAgeDays = options.hardwareKeyMaxAgeDays ?? DEFAULT_HARDWARE_KEY_MAX_AGE_DAYS;
  if (typeof maxAgeDays !== 'number' || !(maxAgeDays > 0 && maxAgeDays <= MAX_HARDWARE_KEY_AGE_DAYS)) {
    throw invalid('hardwareKeyMaxAgeDays', `must be a number of days, more than 0 and at most ${MAX_HARDWARE_KEY_AGE_DAYS}`);
  }
  const installKeySource: InstallKeySource =
    provider?.platform === 'android'
      ? { kind: 'hardware' }
      : installKey !== undefined
        ? { kind: 'platform', key: installKey }
        : { kind: 'store', store: keyStore ?? memoryKeyStore() };
  const hardware = provider && { provider, store: hardwareKeyStore ?? memoryHardwareKeyStore(), maxAgeMs: maxAgeDays * DAY_MS };
  return { installKeySource, hardware };
}
