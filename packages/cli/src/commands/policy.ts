/** `attestor policy get|set`: what an app's attestations must satisfy beyond being a genuine build. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  ANDROID_SECURITY_LEVELS,
  DEFAULT_HARDWARE_POLICY,
  HARDWARE_MODES,
  MAX_REMEMBER_DAYS,
  MIN_REMEMBER_DAYS,
  type AndroidSecurityLevel,
  type AppAttestEnvironment,
  type HardwareMode,
  type HardwarePolicy,
} from '@attestor/contracts/admin-api';
import type { Policy, Signal } from '../admin-client';
import { adminClient, appIdParser, checkRequest, examples, integerParser, schemaParser, type CliContext } from '../context';
import { formatFields, toJson } from '../output';

const SIGNALS: readonly Signal[] = ['rooted', 'emulator', 'debugger', 'hooked'];
const ENVIRONMENTS: readonly AppAttestEnvironment[] = ['production', 'development'];

function parseSignals(value: string): Signal[] {
  const names = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`name one or more of ${SIGNALS.join(', ')}, separated by commas`);
  for (const name of names) {
    if (!(SIGNALS as readonly string[]).includes(name)) throw new InvalidArgumentError(`"${name}" is not a signal: use ${SIGNALS.join(', ')}`);
  }
  return [...new Set(names)] as Signal[];
}

function parseEnvironments(value: string): AppAttestEnvironment[] {
  const names = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`name one or both of ${ENVIRONMENTS.join(', ')}, separated by commas`);
  for (const name of names) {
    if (!(ENVIRONMENTS as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`"${name}" is not an App Attest environment: use ${ENVIRONMENTS.join(', ')}`);
    }
  }
  return [...new Set(names)] as AppAttestEnvironment[];
}

/** YYYYMM as the service takes it; 2024-06 too, since that is how Android's settings show a patch level (2024-06-05). */
function parsePatchLevel(value: string): number {
  const match = /^(\d{4})-?(\d{2})$/.exec(value.trim());
  const month = match ? Number(match[2]) : 0;
  if (!match || month < 1 || month > 12) throw new InvalidArgumentError('must be a year and month, YYYYMM or YYYY-MM, e.g. 202406');
  return Number(`${match[1]}${match[2]}`);
}

// The whole policy is checked against the service's schema (docs/ADMIN_API.md §1.4) before it is sent.
const minSdkParser = schemaParser((s) => s.sdkVersionSchema);

/** Request fields as the options that set them, so a refusal names the option to fix. */
const OPTION_OF: Readonly<Record<string, string>> = {
  reject: '--reject',
  minSdkVersion: '--min-sdk',
  measurement: '--measurement',
  'hardware.ios': '--hardware-ios',
  'hardware.android': '--hardware-android',
  'hardware.otherPlatforms': '--other-platforms',
  'hardware.minAndroidSecurityLevel': '--min-security-level',
  'hardware.requireVerifiedBoot': '--require-verified-boot',
  'hardware.minAndroidPatchLevel': '--min-patch-level',
  'hardware.appAttestEnvironments': '--app-attest-env',
  'hardware.rememberDays': '--remember-days',
};

/** A service from before hardware evidence leaves hardware and measurement out; they are then the defaults. */
function hardwareOf(policy: Policy): HardwarePolicy {
  return { ...DEFAULT_HARDWARE_POLICY, ...policy.hardware };
}

export function formatPolicy(appId: string, policy: Policy): string {
  const rejected = SIGNALS.filter((s) => policy.reject[s]);
  const allowed = SIGNALS.filter((s) => !policy.reject[s]);
  const hw = hardwareOf(policy);
  const patch = hw.minAndroidPatchLevel;
  return formatFields([
    ['app', appId],
    ['reject', rejected.length ? rejected.join(', ') : 'none'],
    ['allow', allowed.length ? allowed.join(', ') : 'none'],
    ['min-sdk', policy.minSdkVersion ?? 'any'],
    ['measurement', policy.measurement ?? 'require'],
    ['hardware-ios', hw.ios],
    ['hardware-android', hw.android],
    ['other-platforms', hw.otherPlatforms],
    ['min-security-level', hw.minAndroidSecurityLevel],
    ['require-verified-boot', hw.requireVerifiedBoot ? 'yes' : 'no'],
    ['min-patch-level', patch === undefined ? 'any' : `${String(patch).slice(0, 4)}-${String(patch).slice(4)}`],
    ['app-attest-env', hw.appAttestEnvironments.join(', ')],
    ['remember-days', String(hw.rememberDays)],
  ]);
}

interface SetOptions {
  readonly app: string;
  /** Protocol 1's per-app lifetime: refused with what to do instead. */
  readonly tokenTtl?: string;
  readonly reject?: Signal[];
  readonly allow?: Signal[];
  /** A version, or false for --no-min-sdk. */
  readonly minSdk?: string | false;
  readonly measurement?: 'require' | 'off';
  readonly hardwareIos?: HardwareMode;
  readonly hardwareAndroid?: HardwareMode;
  readonly otherPlatforms?: 'allow' | 'refuse';
  readonly minSecurityLevel?: AndroidSecurityLevel;
  readonly requireVerifiedBoot?: boolean;
  /** YYYYMM, or false for --no-min-patch-level. */
  readonly minPatchLevel?: number | false;
  readonly appAttestEnv?: AppAttestEnvironment[];
  readonly rememberDays?: number;
  readonly json?: boolean;
}

const HARDWARE_OPTIONS = [
  'hardwareIos',
  'hardwareAndroid',
  'otherPlatforms',
  'minSecurityLevel',
  'requireVerifiedBoot',
  'minPatchLevel',
  'appAttestEnv',
  'rememberDays',
] as const satisfies ReadonlyArray<keyof SetOptions>;

export function addPolicyCommands(program: Command, ctx: CliContext): void {
  const policy = program
    .command('policy')
    .description("An app's attestation policy: device signals to reject, minimum SDK version, hardware evidence, measurement")
    .addHelpText(
      'after',
      examples(
        '$ attestor policy get --app com.example.app',
        '$ attestor policy set --app com.example.app --reject rooted,emulator',
        '$ attestor policy set --app com.example.app --hardware-android prefer',
      ),
    );

  policy
    .command('get')
    .description("Print an app's policy (the default one if none was set)")
    .addOption(new Option('--app <id>', 'app id (com.example.app)').argParser(appIdParser).makeOptionMandatory())
    .option('--json', 'print the policy as JSON')
    .addHelpText('after', examples('$ attestor policy get --app com.example.app', '$ attestor policy get --app com.example.app --json | jq .hardware'))
    .action(async (options: { app: string; json?: boolean }, command: Command) => {
      const current = await adminClient(ctx, command).getPolicy(options.app);
      ctx.stdout.write(options.json ? toJson(current) : formatPolicy(options.app, current));
    });

  policy
    .command('set')
    .description('Change parts of a policy; what you do not name stays as it is')
    .addOption(new Option('--app <id>', 'app id (com.example.app)').argParser(appIdParser).makeOptionMandatory())
    .addOption(new Option('--token-ttl <duration>').hideHelp())
    .addOption(new Option('--reject <signals>', `fail attestations from devices reporting these: ${SIGNALS.join(',')}`).argParser(parseSignals))
    .addOption(new Option('--allow <signals>', 'stop rejecting these signals').argParser(parseSignals))
    .addOption(new Option('--min-sdk <version>', 'fail attestations from SDKs older than this, e.g. 1.2.0').argParser(minSdkParser))
    .addOption(new Option('--no-min-sdk', 'accept any SDK version'))
    .addOption(new Option('--hardware-ios <mode>', 'App Attest evidence: off (ignored), prefer (checked when sent), require').choices(HARDWARE_MODES))
    .addOption(new Option('--hardware-android <mode>', 'Android key attestation: off, prefer, require').choices(HARDWARE_MODES))
    .addOption(new Option('--other-platforms <choice>', 'when a platform requires hardware: may other platforms attest at all').choices(['allow', 'refuse']))
    .addOption(new Option('--min-security-level <level>', 'weakest Android key storage accepted').choices(ANDROID_SECURITY_LEVELS))
    .addOption(new Option('--require-verified-boot', 'Android: verified boot and a locked bootloader (the default)'))
    .addOption(new Option('--no-require-verified-boot', 'Android: accept unlocked or unverified devices'))
    .addOption(new Option('--min-patch-level <yyyymm>', 'Android: oldest OS patch level accepted, e.g. 202406').argParser(parsePatchLevel))
    .addOption(new Option('--no-min-patch-level', 'Android: accept any patch level'))
    .addOption(new Option('--app-attest-env <list>', `App Attest environments accepted: ${ENVIRONMENTS.join(',')}`).argParser(parseEnvironments))
    .addOption(
      new Option('--remember-days <n>', `how long a verified install is remembered, ${MIN_REMEMBER_DAYS} to ${MAX_REMEMBER_DAYS}`).argParser(
        integerParser(MIN_REMEMBER_DAYS, MAX_REMEMBER_DAYS),
      ),
    )
    .addOption(new Option('--measurement <mode>', 'require: the build must be registered and match; off: store identity only').choices(['require', 'off']))
    .option('--json', 'print the new policy as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor policy set --app com.example.app --reject rooted,emulator',
        '$ attestor policy set --app com.example.app --allow emulator',
        '$ attestor policy set --app com.example.app --min-sdk 1.2.0',
        '$ attestor policy set --app com.example.app --no-min-sdk',
        '$ attestor policy set --app com.example.app --hardware-ios prefer --hardware-android prefer',
        '$ attestor policy set --app com.example.app --hardware-android require --min-security-level strongbox --min-patch-level 2024-06',
        '$ attestor policy set --app com.example.app --measurement off \\',
        '    --hardware-ios require --hardware-android require --other-platforms refuse',
        '',
        'The new policy applies to attestations within 30 seconds. Hooking frameworks are rejected by default,',
        'since they rewrite the app at run time; rooted, emulator and debugger are allowed by default.',
        'Hardware evidence is checked against the app identity (`attestor apps identity set`); roll it out',
        'with prefer first, then require. --measurement off needs both platforms at require and other',
        'platforms refused: otherwise some client would pass with no proof at all.',
      ),
    )
    .action(async (options: SetOptions, command: Command) => {
      if (options.tokenTtl !== undefined) {
        command.error(
          'error: --token-ttl is no longer a policy setting: every token of a deployment lives as long (tokenTtl of the stack, ' +
            'ATTESTOR_TOKEN_TTL_SECONDS locally)',
          {
            exitCode: 2,
            code: 'attestor.gone',
          },
        );
      }
      const overlap = (options.reject ?? []).filter((s) => options.allow?.includes(s));
      if (overlap.length) command.error(`error: ${overlap.join(', ')} cannot be both rejected and allowed`, { exitCode: 2, code: 'attestor.conflict' });
      const hardwareNamed = HARDWARE_OPTIONS.some((name) => options[name] !== undefined);
      if (!options.reject && !options.allow && options.minSdk === undefined && options.measurement === undefined && !hardwareNamed) {
        command.error(
          'error: nothing to change: give --reject, --allow, --min-sdk, --no-min-sdk, --measurement or a hardware option such as --hardware-android',
          { exitCode: 2, code: 'attestor.nothing' },
        );
      }
      const client = adminClient(ctx, command);
      // The service replaces the whole policy (docs/ADMIN_API.md §6), so read it, change what was named, write it back.
      const current = await client.getPolicy(options.app);
      const reject = { ...current.reject };
      for (const s of options.reject ?? []) reject[s] = true;
      for (const s of options.allow ?? []) reject[s] = false;
      const minSdkVersion = options.minSdk === false ? undefined : (options.minSdk ?? current.minSdkVersion);
      const next: Policy = {
        reject,
        ...(minSdkVersion !== undefined ? { minSdkVersion } : {}),
        // Sent only when the service showed them or the operator named them, so a service from before
        // hardware evidence is not sent members it would ignore.
        ...(current.hardware !== undefined || hardwareNamed ? { hardware: nextHardware(hardwareOf(current), options) } : {}),
        ...(current.measurement !== undefined || options.measurement !== undefined
          ? { measurement: options.measurement ?? current.measurement ?? 'require' }
          : {}),
      };
      checkRequest(command, (s) => s.policySchema, next, OPTION_OF);
      const stored = await client.putPolicy(options.app, next);
      ctx.stdout.write(options.json ? toJson(stored) : formatPolicy(options.app, stored));
    });
}

function nextHardware(current: HardwarePolicy, options: SetOptions): HardwarePolicy {
  const minAndroidPatchLevel = options.minPatchLevel === false ? undefined : (options.minPatchLevel ?? current.minAndroidPatchLevel);
  return {
    ios: options.hardwareIos ?? current.ios,
    android: options.hardwareAndroid ?? current.android,
    otherPlatforms: options.otherPlatforms ?? current.otherPlatforms,
    minAndroidSecurityLevel: options.minSecurityLevel ?? current.minAndroidSecurityLevel,
    requireVerifiedBoot: options.requireVerifiedBoot ?? current.requireVerifiedBoot,
    ...(minAndroidPatchLevel !== undefined ? { minAndroidPatchLevel } : {}),
    appAttestEnvironments: options.appAttestEnv ?? [...current.appAttestEnvironments],
    rememberDays: options.rememberDays ?? current.rememberDays,
  };
}
