/** `attestor policy get|set`: what an app's attestations must satisfy beyond being a genuine build. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Policy, Signal } from '../admin-client';
import { adminClient, appIdParser, checkRequest, examples, schemaParser, type CliContext } from '../context';
import { formatFields, toJson } from '../output';

const SIGNALS: readonly Signal[] = ['rooted', 'emulator', 'debugger', 'hooked'];

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

// The whole policy is checked against the service's schema (docs/ADMIN_API.md §1.4) before it is sent.
const minSdkParser = schemaParser((s) => s.policySchema.shape.minSdkVersion);

export function formatPolicy(appId: string, policy: Policy): string {
  const rejected = SIGNALS.filter((s) => policy.reject[s]);
  const allowed = SIGNALS.filter((s) => !policy.reject[s]);
  return formatFields([
    ['app', appId],
    ['reject', rejected.length ? rejected.join(', ') : 'none'],
    ['allow', allowed.length ? allowed.join(', ') : 'none'],
    ['min-sdk', policy.minSdkVersion ?? 'any'],
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
  readonly json?: boolean;
}

export function addPolicyCommands(program: Command, ctx: CliContext): void {
  const policy = program
    .command('policy')
    .description("An app's attestation policy: device signals to reject, minimum SDK version")
    .addHelpText('after', examples('$ attestor policy get --app com.example.app', '$ attestor policy set --app com.example.app --reject rooted,emulator'));

  policy
    .command('get')
    .description("Print an app's policy (the default one if none was set)")
    .addOption(new Option('--app <id>', 'app id (com.example.app)').argParser(appIdParser).makeOptionMandatory())
    .option('--json', 'print the policy as JSON')
    .addHelpText('after', examples('$ attestor policy get --app com.example.app', '$ attestor policy get --app com.example.app --json | jq .reject'))
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
    .option('--json', 'print the new policy as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor policy set --app com.example.app --reject rooted,emulator',
        '$ attestor policy set --app com.example.app --allow emulator',
        '$ attestor policy set --app com.example.app --min-sdk 1.2.0',
        '$ attestor policy set --app com.example.app --no-min-sdk',
        '',
        'The new policy applies to attestations within 30 seconds. Hooking frameworks are rejected by default,',
        'since they rewrite the app at run time; rooted, emulator and debugger are allowed by default.',
      ),
    )
    .action(async (options: SetOptions, command: Command) => {
      if (options.tokenTtl !== undefined) {
        command.error('error: --token-ttl is no longer a policy setting: every token of a deployment lives as long (tokenTtl of the stack, ATTESTOR_TOKEN_TTL_SECONDS locally)', {
          exitCode: 2,
          code: 'attestor.gone',
        });
      }
      const overlap = (options.reject ?? []).filter((s) => options.allow?.includes(s));
      if (overlap.length) command.error(`error: ${overlap.join(', ')} cannot be both rejected and allowed`, { exitCode: 2, code: 'attestor.conflict' });
      if (!options.reject && !options.allow && options.minSdk === undefined) {
        command.error('error: nothing to change: give --reject, --allow, --min-sdk or --no-min-sdk', { exitCode: 2, code: 'attestor.nothing' });
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
      };
      checkRequest(command, (s) => s.policySchema, next, { reject: '--reject', minSdkVersion: '--min-sdk' });
      const stored = await client.putPolicy(options.app, next);
      ctx.stdout.write(options.json ? toJson(stored) : formatPolicy(options.app, stored));
    });
}
