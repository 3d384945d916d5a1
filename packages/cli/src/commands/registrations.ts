/** `attestor registrations list|remove|expire`: the registered builds of an app. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Registration } from '../admin-client';
import { adminClient, appIdParser, checkRequest, durationParser, examples, versionParser, type CliContext } from '../context';
import { MAX_EXPIRE_AFTER_SECONDS } from '../duration';
import { formatTable, isoOr, isoSeconds, printable, toJson } from '../output';
import { formatRegistration } from './register';
import { addRegisterFailureCommand } from './register-failures';

const afterDuration = durationParser(0, MAX_EXPIRE_AFTER_SECONDS, 'use now, or a duration up to 3650d');

/** `--after now` reads better than `--after 0s` for "expire it immediately". */
function parseAfter(value: string): number {
  if (value.trim().toLowerCase() === 'now') return 0;
  try {
    return afterDuration(value);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`${error.message} (or now)`);
    throw error;
  }
}

const appOption = () => new Option('--app <id>', 'app id (com.example.app)').argParser(appIdParser).makeOptionMandatory();
const versionOption = () => new Option('--version <version>', 'the registered version').argParser(versionParser).makeOptionMandatory();

export function formatRegistrations(registrations: readonly Registration[]): string {
  return formatTable(registrations, [
    { header: 'VERSION', value: (r) => r.version },
    { header: 'SIZE', value: (r) => String(r.size), align: 'right' },
    { header: 'SHA256', value: (r) => r.sha256 },
    { header: 'REGISTERED', value: (r) => isoSeconds(r.registeredAt) },
    { header: 'EXPIRES', value: (r) => isoOr(r.expiresAt, 'never') },
    { header: 'NOTE', value: (r) => r.note ?? '' },
  ]);
}

export function addRegistrationCommands(program: Command, ctx: CliContext): void {
  const registrations = program
    .command('registrations')
    .description('Registered builds of an app: list, remove, expire; uploads that failed to register')
    .addHelpText(
      'after',
      examples(
        '$ attestor registrations list --app com.example.app',
        '$ attestor registrations expire --app com.example.app --version 1.3.0 --after 7d',
        '$ attestor registrations remove --app com.example.app --version 1.2.0',
      ),
    );

  registrations
    .command('list')
    .description('List the registered builds of an app, newest first')
    .addOption(appOption())
    .option('--json', 'print the registrations as a JSON array')
    .addHelpText(
      'after',
      examples('$ attestor registrations list --app com.example.app', '$ attestor registrations list --app com.example.app --json | jq -r ".[].version"'),
    )
    .action(async (options: { app: string; json?: boolean }, command: Command) => {
      const list = await adminClient(ctx, command).listRegistrations(options.app);
      if (options.json) return void ctx.stdout.write(toJson(list));
      if (list.length === 0) {
        ctx.stderr.write(`${options.app} has no registered builds; register one with \`attestor register --app ${options.app} --version V FILE\`\n`);
        return;
      }
      ctx.stdout.write(formatRegistrations(list));
    });

  registrations
    .command('remove')
    .description('Remove a registration: attestations of that build fail within 30 s')
    .addOption(appOption())
    .addOption(versionOption())
    .option('--json', 'print the removed registration as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor registrations remove --app com.example.app --version 1.2.0',
        '',
        'Tokens already issued to that build stay valid until they expire (at most the token TTL).',
        'To phase a build out instead, let it expire: attestor registrations expire ... --after 7d',
      ),
    )
    .action(async (options: { app: string; version: string; json?: boolean }, command: Command) => {
      const removed = await adminClient(ctx, command).removeRegistration(options.app, options.version);
      if (options.json) return void ctx.stdout.write(toJson(removed));
      ctx.stderr.write(`removed ${printable(removed.appId)} ${printable(removed.version)}; attestations of this build fail within 30 s\n`);
      ctx.stdout.write(formatRegistration(removed));
    });

  registrations
    .command('expire')
    .description('Set when attestations of a registered build start failing')
    .addOption(appOption())
    .addOption(versionOption())
    .addOption(new Option('--after <duration>', 'from now: e.g. 7d, 12h, 90m, or now').argParser(parseAfter).makeOptionMandatory())
    .option('--json', 'print the updated registration as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor registrations expire --app com.example.app --version 1.3.0 --after 7d',
        '$ attestor registrations expire --app com.example.app --version 1.3.0 --after now',
        '',
        'The new expiry replaces any earlier one, so this also extends a registration.',
      ),
    )
    .action(async (options: { app: string; version: string; after: number; json?: boolean }, command: Command) => {
      checkRequest(command, (s) => s.expireRequestSchema, { afterSeconds: options.after }, { afterSeconds: '--after' });
      const updated = await adminClient(ctx, command).expireRegistration(options.app, options.version, options.after);
      if (options.json) return void ctx.stdout.write(toJson(updated));
      ctx.stdout.write(formatRegistration(updated));
    });

  addRegisterFailureCommand(registrations, ctx);
}
