/** `attestor register`: upload a build and wait until the service has hashed it into a registration. */
import { Option, type Command } from 'commander';
import type { Registration } from '../admin-client';
import { adminClient, appIdParser, checkRequest, durationParser, examples, noteParser, versionParser, type CliContext } from '../context';
import { MAX_EXPIRE_AFTER_SECONDS, MIN_EXPIRE_AFTER_SECONDS } from '../duration';
import { formatFields, isoOr, toJson } from '../output';
import type { Progress, Status } from '../progress';

/* eslint-disable @typescript-eslint/no-require-imports */
const load = {
  upload: () => require('../upload') as typeof import('../upload'),
  progress: () => require('../progress') as typeof import('../progress'),
};
/* eslint-enable @typescript-eslint/no-require-imports */

export function formatRegistration(r: Registration): string {
  return formatFields([
    ['app', r.appId],
    ['version', r.version],
    ['size', `${r.size} bytes`],
    ['sha256', r.sha256],
    ['expires', isoOr(r.expiresAt, 'never')],
    ...(r.note !== undefined ? ([['note', r.note]] as const) : []),
  ]);
}

export const expireAfterParser = durationParser(
  MIN_EXPIRE_AFTER_SECONDS,
  MAX_EXPIRE_AFTER_SECONDS,
  'builds can expire after 1m at the earliest and 3650d at the latest',
);

interface RegisterOptions {
  readonly app: string;
  readonly version: string;
  readonly expireAfter?: number;
  readonly note?: string;
  readonly json?: boolean;
}

export function addRegisterCommand(program: Command, ctx: CliContext): void {
  program
    .command('register')
    .description('Upload a build, wait until the service has hashed it, and print its registration')
    .argument('<file>', 'the build file (.apk, .aab, .ipa; at most 2 GiB)')
    .addOption(new Option('--app <id>', 'app id, reverse-DNS style (com.example.app); created if new').argParser(appIdParser).makeOptionMandatory())
    .addOption(new Option('--version <version>', 'app version (letters, digits, . _ + -)').argParser(versionParser).makeOptionMandatory())
    .addOption(new Option('--expire-after <duration>', 'attestations of this build fail after this long, e.g. 30d, 12h, 90m').argParser(expireAfterParser))
    .addOption(new Option('--note <text>', 'free text kept with the registration (at most 500 characters)').argParser(noteParser))
    .option('--json', 'print the registration as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor register --app com.example.app --version 1.4.0 app-release.apk',
        '$ attestor register --app com.example.app --version 1.4.0-beta.2 --expire-after 30d --note "beta 2" app.apk',
        '$ attestor register --app com.example.app --version 1.4.0 --json app.apk | jq -r .sha256',
        '',
        'Builds over 64 MiB go up in parts, several at a time; a failed part is retried on its own.',
        'Registering the same build under the same version again is harmless and prints the same registration.',
      ),
    )
    .action(async (file: string, options: RegisterOptions, command: Command) => {
      // Everything that can be checked locally is, before the first request.
      const { checkBuildFile, registerBuild, MAX_BUILD_BYTES } = load.upload();
      const build = checkBuildFile(file);
      checkRequest(
        command,
        (s) => s.uploadRequestSchema(MAX_BUILD_BYTES),
        {
          version: options.version,
          size: build.size,
          ...(options.expireAfter !== undefined ? { expireAfterSeconds: options.expireAfter } : {}),
          ...(options.note !== undefined ? { note: options.note } : {}),
        },
        { version: '--version', expireAfterSeconds: '--expire-after', note: '--note', size: 'FILE' },
      );
      const client = adminClient(ctx, command);
      let progress: Progress | undefined;
      let waiting: Status | undefined;
      const result = await registerBuild({
        client,
        appId: options.app,
        version: options.version,
        file: build,
        ...(options.expireAfter !== undefined ? { expireAfterSeconds: options.expireAfter } : {}),
        ...(options.note !== undefined ? { note: options.note } : {}),
        ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        ...(ctx.registerTimeoutMs !== undefined ? { timeoutMs: ctx.registerTimeoutMs } : {}),
        // Hashing is quick (about 1.5 GB/s) but not instant for a large build: a terminal shows it; a log needs no line for it.
        onHashStart: (f) => {
          if (ctx.stderr.isTTY) progress = load.progress().createProgress(ctx.stderr, 'hashing', f.size);
        },
        onHashProgress: (hashed) => progress?.update(hashed),
        onHashDone: () => {
          progress?.done();
          progress = undefined;
        },
        onUploadStart: (f, parts) => {
          progress = load.progress().createProgress(ctx.stderr, parts > 1 ? `uploading (${parts} parts)` : 'uploading', f.size);
        },
        onProgress: (sent) => progress?.update(sent),
        onUploadDone: () => {
          progress?.done();
          progress = undefined;
        },
        onWaitStart: () => {
          waiting = load.progress().createStatus(ctx.stderr, 'waiting for the service to hash and register the build');
        },
      }).finally(() => {
        progress?.abort();
        waiting?.done();
      });
      if (result.alreadyRegistered) {
        ctx.stderr.write(`${options.app} ${options.version} was already registered with this build; the registration is unchanged\n`);
      }
      ctx.stdout.write(options.json ? toJson(result.registration) : formatRegistration(result.registration));
    });
}
