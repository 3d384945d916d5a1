/**
 * The `attestor` CLI: operators register app builds and read signing keys through the admin API,
 * against AWS or the local cloud alike. `run` takes its argv, environment and streams as
 * arguments and returns the exit code, so tests drive it in-process; bin.js wires it to the process.
 *
 * Exit codes: 0 success; 1 user or service error (one line on stderr saying what to do);
 * 2 usage error (commander's parse errors and invalid option values).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { AdminClient, Registration } from './admin-client';
import { resolveCredentials } from './credentials';
import { DurationError, parseExpireAfter } from './duration';
import { CliError, oneLine } from './errors';
import type { Progress, ProgressStream } from './progress';

/*
 * zod, the SigV4 signer and cli-progress are loaded by the command that needs them, not at startup:
 * together they are most of the CLI's load time, and `--help` or a usage error should be instant.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const load = {
  validation: () => require('../core/validation') as typeof import('../core/validation'),
  adminClient: () => require('./admin-client') as typeof import('./admin-client'),
  upload: () => require('./upload') as typeof import('./upload'),
  progress: () => require('./progress') as typeof import('./progress'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';
/** The admin API's limit on `note`. */
const MAX_NOTE_CHARS = 500;

export type OutputStream = ProgressStream;

export interface CliContext {
  /** Arguments after the program name. */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Used for admin calls and the upload; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** How long `register` waits for the service to settle an upload. @default 120000 */
  readonly registerTimeoutMs?: number;
}

interface GlobalOptions {
  readonly endpoint?: URL;
}

/** zod schema → commander argument parser, so a malformed value is a usage error (exit 2) before any work. */
type Validation = typeof import('../core/validation');
function schemaParser(pick: (validation: Validation) => Validation['appIdSchema'] | Validation['appVersionSchema']) {
  return (value: string): string => {
    const result = pick(load.validation()).safeParse(value);
    if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'is invalid');
    return result.data;
  };
}

function parseEndpoint(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('must be a URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('must be an http or https URL');
  if (url.search || url.hash) throw new InvalidArgumentError('must not carry a query or fragment');
  return url;
}

function parseExpireAfterOption(value: string): number {
  try {
    return parseExpireAfter(value);
  } catch (error) {
    if (error instanceof DurationError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

function parseNote(value: string): string {
  if (value.length > MAX_NOTE_CHARS) throw new InvalidArgumentError(`must be at most ${MAX_NOTE_CHARS} characters`);
  return value;
}

function endpointOf(ctx: CliContext, options: GlobalOptions): URL {
  if (options.endpoint) return options.endpoint;
  const fromEnv = ctx.env['ATTESTOR_ENDPOINT'];
  if (!fromEnv) return new URL(DEFAULT_ENDPOINT);
  try {
    return parseEndpoint(fromEnv);
  } catch (error) {
    throw new CliError(`ATTESTOR_ENDPOINT ${(error as Error).message}: fix or unset it`);
  }
}

function adminClient(ctx: CliContext, command: Command): AdminClient {
  const endpoint = endpointOf(ctx, command.optsWithGlobals<GlobalOptions>());
  const { credentials, region } = resolveCredentials(endpoint, ctx.env, ctx.cwd);
  return new (load.adminClient().AdminClient)({ endpoint: endpoint.href, credentials, region, ...(ctx.fetch ? { fetch: ctx.fetch } : {}) });
}

const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.000Z$/, 'Z');

function formatRegistration(r: Registration): string {
  const rows: Array<[string, string]> = [
    ['app', r.appId],
    ['version', r.version],
    ['size', `${r.size} bytes`],
    ['sha256', r.sha256],
    ['expires', r.expiresAt === undefined ? 'never' : isoSeconds(r.expiresAt)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(8)} ${v}\n`).join('');
}

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => (l ? `  ${l}` : '')).join('\n')}\n`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('attestor');
  const usageHint = (name: string) => `; see \`${name} --help\``;
  const configure = (command: Command, name: string) =>
    command
      .configureOutput({
        writeOut: (s) => void ctx.stdout.write(s),
        writeErr: (s) => void ctx.stderr.write(s),
        // Commander's errors (with its "Did you mean" suggestion) collapsed to the promised one line.
        outputError: (s, write) => write(`${oneLine(s)}${usageHint(name)}\n`),
      })
      .exitOverride();

  configure(program, 'attestor')
    .description('Register app builds with an Attestor service and read its signing keys.')
    .addOption(
      new Option('--endpoint <url>', `Attestor API base URL (default: $ATTESTOR_ENDPOINT, else ${DEFAULT_ENDPOINT})`).argParser(parseEndpoint),
    )
    .addHelpText(
      'after',
      examples(
        '$ npm start                      # the service on this machine, then in another terminal:',
        '$ attestor register --app com.example.app --version 1.4.0 app-release.apk',
        '$ attestor keys jwks > jwks.json',
        '$ attestor --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/prod keys jwks',
        '',
        'Against a local endpoint (127.0.0.1, localhost, ::1) the CLI signs with the local admin credential',
        'in $ATTESTOR_HOME (default ./.attestor); elsewhere with your AWS credentials and AWS_REGION.',
      ),
    );

  const register = program
    .command('register')
    .description('Upload a build, wait until the service has hashed it, and print its registration')
    .argument('<file>', 'the build file (.apk, .aab, .ipa; at most 2 GiB)')
    .addOption(new Option('--app <id>', 'app id, reverse-DNS style (com.example.app)').argParser(schemaParser((v) => v.appIdSchema)).makeOptionMandatory())
    .addOption(new Option('--version <version>', 'app version (letters, digits, . _ + -)').argParser(schemaParser((v) => v.appVersionSchema)).makeOptionMandatory())
    .addOption(new Option('--expire-after <duration>', 'attestations of this build fail after this long, e.g. 30d, 12h, 90m').argParser(parseExpireAfterOption))
    .addOption(new Option('--note <text>', `free text kept with the registration (at most ${MAX_NOTE_CHARS} characters)`).argParser(parseNote))
    .option('--json', 'print the registration as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor register --app com.example.app --version 1.4.0 app-release.apk',
        '$ attestor register --app com.example.app --version 1.4.0-beta.2 --expire-after 30d --note "beta 2" app.apk',
        '$ attestor register --app com.example.app --version 1.4.0 --json app.apk | jq -r .sha256',
        '',
        'Registering the same build under the same version again is harmless and prints the same registration.',
      ),
    )
    .action(async (file: string, options: { app: string; version: string; expireAfter?: number; note?: string; json?: boolean }, command: Command) => {
      // Everything that can be checked locally is, before the first request.
      const { checkBuildFile, registerBuild } = load.upload();
      const build = checkBuildFile(file);
      const client = adminClient(ctx, command);
      let progress: Progress | undefined;
      const result = await registerBuild({
        client,
        appId: options.app,
        version: options.version,
        file: build,
        ...(options.expireAfter !== undefined ? { expireAfterSeconds: options.expireAfter } : {}),
        ...(options.note !== undefined ? { note: options.note } : {}),
        ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
        ...(ctx.registerTimeoutMs !== undefined ? { timeoutMs: ctx.registerTimeoutMs } : {}),
        onUploadStart: (f) => {
          progress = load.progress().createProgress(ctx.stderr, 'uploading', f.size);
        },
        onProgress: (sent) => progress?.update(sent),
        onUploadDone: () => {
          progress?.done();
          progress = undefined;
          if (!ctx.stderr.isTTY) ctx.stderr.write('waiting for the service to hash and register the build\n');
        },
      }).finally(() => progress?.abort());
      if (result.alreadyRegistered) {
        ctx.stderr.write(`${options.app} ${options.version} was already registered with this build; the registration is unchanged\n`);
      }
      ctx.stdout.write(options.json ? `${JSON.stringify(result.registration)}\n` : formatRegistration(result.registration));
    });
  configure(register, 'attestor register');

  const keys = program
    .command('keys')
    .description('Signing keys of your tenant')
    .addHelpText('after', examples('$ attestor keys jwks > jwks.json'));
  configure(keys, 'attestor keys');
  const jwks = keys
    .command('jwks')
    .description('Print the public signing keys as a JWKS (the keys that verify attestation tokens)')
    .option('--json', 'compact single-line JSON (default: indented)')
    .addHelpText(
      'after',
      examples('$ attestor keys jwks > jwks.json', '$ attestor keys jwks --json | jq -r ".keys[].kid"', '', 'Only the JWKS goes to stdout, so the output can be piped or redirected as is.'),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const client = adminClient(ctx, command);
      const body = await client.jwks();
      ctx.stdout.write(`${options.json ? JSON.stringify(body) : JSON.stringify(body, null, 2)}\n`);
    });
  configure(jwks, 'attestor keys jwks');

  return program;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function run(ctx: CliContext): Promise<number> {
  try {
    await buildProgram(ctx).parseAsync([...ctx.argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other commander exit is a usage error and has already been printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      ctx.stderr.write(`error: ${oneLine(error.message)}\n`);
      return error.exitCode;
    }
    if (ctx.env['ATTESTOR_DEBUG']) {
      ctx.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    } else {
      const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      ctx.stderr.write(`error: unexpected failure (${oneLine(what).slice(0, 300)}); set ATTESTOR_DEBUG=1 to see the stack trace\n`);
    }
    return 1;
  }
}
