/**
 * The `attestor` CLI: operators register app builds, manage apps, policies, devices, keys and
 * tenants, and read the attestation log through the admin API (docs/ADMIN_API.md), against AWS or
 * the local cloud alike. `run` takes its argv, environment and streams as arguments and returns the
 * exit code, so tests drive it in-process; bin.js wires it to the process.
 *
 * Exit codes: 0 success; 1 user or service error (one line on stderr saying what to do);
 * 2 usage error (commander's parse errors and invalid option values); 130 interrupted by Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { addAppCommands } from './commands/apps';
import { addDeviceCommands } from './commands/devices';
import { addKeyCommands } from './commands/keys';
import { addTokenCommands } from './commands/tokens';
import { addLogCommands } from './commands/log';
import { addPolicyCommands } from './commands/policy';
import { addRegisterCommand } from './commands/register';
import { addRegistrationCommands } from './commands/registrations';
import { addTenantCommands } from './commands/tenants';
import { addConsoleCommand } from './console/command';
import { DEFAULT_ENDPOINT, examples, fullName, parseEndpoint, schemaParser, type CliContext } from './context';
import { CliError, InterruptedError, oneLine } from './errors';
import { printable } from './output';

export { DEFAULT_ENDPOINT, type CliContext, type OutputStream } from './context';

/** The version of this package, from its package.json: one place, the one npm publishes. */
export const CLI_VERSION = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('attestor');
  program
    .description('Register app builds with an Attestor service and operate it: apps, policies, devices, keys, log, tenants.')
    .addOption(
      new Option('--endpoint <url>', `Attestor API base URL (default: $ATTESTOR_ENDPOINT, else ${DEFAULT_ENDPOINT})`).argParser(parseEndpoint),
    )
    .addOption(
      new Option('--tenant <id>', 'act as this tenant with the credential `tenants create` saved for it (default: $ATTESTOR_TENANT)')
        .argParser(schemaParser((v) => v.tenantIdSchema))
        .conflicts('credentials'),
    )
    .addOption(new Option('--credentials <file>', 'sign requests with the access key in this JSON file (default: $ATTESTOR_CREDENTIALS)'))
    .addHelpText(
      'after',
      examples(
        '$ npm start                      # the service on this machine, then in another terminal:',
        '$ attestor register --app com.example.app --version 1.4.0 app-release.apk',
        '$ attestor registrations list --app com.example.app',
        '$ attestor policy set --app com.example.app --reject rooted,emulator',
        '$ attestor log --follow',
        '$ attestor --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/prod keys jwks',
        '$ attestor --version              # this CLI\'s version',
        '',
        'Against a local endpoint (127.0.0.1, localhost, ::1) the CLI signs with the local admin credential',
        'of the service `npm start` runs in this project, found in the nearest .attestor/ of this directory',
        'or one above it (or in $ATTESTOR_HOME), or with a tenant\'s saved credential given --tenant; that',
        'service is also the default endpoint. Elsewhere it signs with your AWS credentials and AWS_REGION.',
        'Every read command takes --json.',
      ),
    );

  addRegisterCommand(program, ctx);
  addRegistrationCommands(program, ctx);
  addAppCommands(program, ctx);
  addPolicyCommands(program, ctx);
  addDeviceCommands(program, ctx);
  addKeyCommands(program, ctx);
  addTokenCommands(program, ctx);
  addLogCommands(program, ctx);
  addTenantCommands(program, ctx);
  addConsoleCommand(program, ctx);

  // Every command, however deep, writes through the context and ends in a usage error rather than
  // process.exit; an error names the command whose --help explains it.
  const configure = (command: Command) => {
    command
      .configureOutput({
        writeOut: (s) => void ctx.stdout.write(s),
        writeErr: (s) => void ctx.stderr.write(s),
        // Commander's errors (with its "Did you mean" suggestion) collapsed to the promised one line.
        // (without the full stop commander ends some of them with, before the pointer to --help).
        // "argument 'x' is invalid. must be ..." (our parsers' messages) is a sentence without a subject: joined with a colon.
        outputError: (s, write) => {
          const line = oneLine(s).replace(/ is invalid( for argument '[^']*')?\. (?![A-Z])/, ' is invalid$1: ');
          // A thumbprint is base64url, so one in 64 starts with '-' and reads as an option.
          const option = UNKNOWN_OPTION.exec(line)?.[1];
          if (option !== undefined && DEVICE_ID_SHAPE.test(option)) {
            write(`error: ${option} is a device id, not an option: put -- before it (\`${fullName(command)} --app APP -- ${option}\`)\n`);
            return;
          }
          write(`${line.replace(/\.$/, '')}; see \`${fullName(command)} --help\`\n`);
        },
      })
      .exitOverride()
      // `attestor keys help list` would be a second way to say `attestor keys list --help`.
      .helpCommand(false);
    command.commands.forEach(configure);
  };
  configure(program);
  // At the top, `attestor help [command]` is the habit of git and npm users; it also sidesteps
  // `npx attestor --help` being read by some npm versions as npm's own --help.
  program.helpCommand('help [command]', 'show help for a command');
  return program;
}

/** Commander's words for an option it does not know, and the shape of an install key's thumbprint. */
const UNKNOWN_OPTION = /unknown option '([^']+)'/;
const DEVICE_ID_SHAPE = /^-[A-Za-z0-9_-]{42}$/;

/** Runs the CLI and returns its exit code; never throws. */
export async function run(ctx: CliContext): Promise<number> {
  // Only alone: commander's own version option would also take `register --version 1.4.0` (the app's version) for itself.
  if (ctx.argv.length === 1 && (ctx.argv[0] === '--version' || ctx.argv[0] === '-V')) {
    ctx.stdout.write(`${CLI_VERSION}\n`);
    return 0;
  }
  try {
    await buildProgram(ctx).parseAsync([...ctx.argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other commander exit is a usage error and has already been printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      // Ending `log --follow` with Ctrl-C is how it is meant to end: exit 130, nothing to explain.
      if (!(error instanceof InterruptedError && error.message === '')) ctx.stderr.write(`error: ${oneLine(error.message)}\n`);
      return error.exitCode;
    }
    if (ctx.env['ATTESTOR_DEBUG']) {
      // Line by line: a stack keeps its lines, and a message in it that quotes the service stays inert.
      const stack = (error as Error)?.stack ?? String(error);
      ctx.stderr.write(`${stack.split('\n').map(printable).join('\n')}\n`);
    } else {
      const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      ctx.stderr.write(`error: unexpected failure (${oneLine(what).slice(0, 300)}); set ATTESTOR_DEBUG=1 to see the stack trace\n`);
    }
    return 1;
  }
}
