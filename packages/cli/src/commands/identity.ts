/**
 * `attestor apps identity get|set`: how the stores identify an app (App Attest team and bundle id,
 * Android package and signing certificates), which hardware evidence is checked against
 * (PROTOCOL.md §5.5, docs/ADMIN_API.md §3).
 */
import { Option, type Command } from 'commander';
import type { AppIdentity } from '../admin-client';
import { adminClient, appIdParser, checkRequest, examples, integerParser, load, schemaParser, type CliContext } from '../context';
import { formatFields, toJson } from '../output';

const appOption = () => new Option('--app <id>', 'app id (com.example.app)').argParser(appIdParser).makeOptionMandatory();

/** Request fields as the options that set them, so a refusal names the option to fix. */
const OPTION_OF: Readonly<Record<string, string>> = {
  'ios.teamId': '--ios-team',
  'ios.bundleId': '--ios-bundle',
  'android.packageName': '--android-package',
  'android.signingCertificates': '--android-cert',
  'android.minVersionCode': '--android-min-version-code',
};

export function formatIdentity(appId: string, identity: AppIdentity): string {
  const { ios, android } = identity;
  return formatFields([
    ['app', appId],
    ...(ios
      ? ([
          ['ios team', ios.teamId],
          ['ios bundle', ios.bundleId],
        ] as const)
      : ([['ios', 'none']] as const)),
    ...(android
      ? ([
          ['android package', android.packageName],
          ...android.signingCertificates.map((digest) => ['android certificate', digest] as const),
          ['android min versionCode', android.minVersionCode === undefined ? 'any' : String(android.minVersionCode)],
        ] as const)
      : ([['android', 'none']] as const)),
  ]);
}

interface SetOptions {
  readonly app: string;
  readonly iosTeam?: string;
  readonly iosBundle?: string;
  readonly clearIos?: boolean;
  readonly androidPackage?: string;
  readonly androidCert?: string[];
  /** A number, or false for --no-android-min-version-code. */
  readonly androidMinVersionCode?: number | false;
  readonly clearAndroid?: boolean;
  readonly json?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
const certificateParser = schemaParser((s) => s.signingCertificateSchema);
// The bound comes from the service's schema, loaded only when the option is used.
const versionCodeParser = (value: string): number => integerParser(0, load.schemas().MAX_ANDROID_VERSION_CODE)(value);

export function addIdentityCommands(apps: Command, ctx: CliContext): void {
  const identity = apps
    .command('identity')
    .description("An app's store identity, which hardware evidence must match: iOS team and bundle id, Android package and signing certificates")
    .addHelpText(
      'after',
      examples(
        '$ attestor apps identity get --app com.example.app',
        '$ attestor apps identity set --app com.example.app --ios-team ABCDE12345 --ios-bundle com.example.app',
        '$ attestor apps identity set --app com.example.app --android-package com.example.app --android-cert 3F:A1:…:9C',
      ),
    );

  identity
    .command('get')
    .description("Print an app's store identity (each platform shows none until it is set)")
    .addOption(appOption())
    .option('--json', 'print the identity as JSON ({} when none is set)')
    .addHelpText(
      'after',
      examples('$ attestor apps identity get --app com.example.app', '$ attestor apps identity get --app com.example.app --json | jq .android'),
    )
    .action(async (options: { app: string; json?: boolean }, command: Command) => {
      const current = await adminClient(ctx, command).getIdentity(options.app);
      ctx.stdout.write(options.json ? toJson(current) : formatIdentity(options.app, current));
    });

  identity
    .command('set')
    .description('Change parts of an identity; what you do not name stays as it is')
    .addOption(appOption())
    .addOption(new Option('--ios-team <id>', 'Apple Team ID: 10 upper-case letters and digits').argParser(schemaParser((s) => s.appleTeamIdSchema)))
    .addOption(new Option('--ios-bundle <id>', 'bundle id (CFBundleIdentifier), e.g. com.example.app').argParser(schemaParser((s) => s.bundleIdSchema)))
    .addOption(new Option('--clear-ios', 'remove the iOS identity').conflicts(['iosTeam', 'iosBundle']))
    .addOption(new Option('--android-package <name>', 'Android package name (applicationId)').argParser(schemaParser((s) => s.androidPackageSchema)))
    .addOption(
      new Option('--android-cert <sha256>', 'SHA-256 of a signing certificate, hex or AB:CD:… as keytool prints it; repeat for several; replaces the list')
        .argParser((value: string, previous: string[] | undefined) => collect(certificateParser(value), previous)),
    )
    .addOption(new Option('--android-min-version-code <n>', 'fail Android evidence from builds with a lower versionCode').argParser(versionCodeParser))
    .addOption(new Option('--no-android-min-version-code', 'accept any versionCode'))
    .addOption(new Option('--clear-android', 'remove the Android identity').conflicts(['androidPackage', 'androidCert', 'androidMinVersionCode']))
    .option('--json', 'print the new identity as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor apps identity set --app com.example.app --ios-team ABCDE12345 --ios-bundle com.example.app',
        '$ attestor apps identity set --app com.example.app --android-package com.example.app \\',
        '    --android-cert 3FA1…9C --android-cert 0B7E…D2 --android-min-version-code 120',
        '$ attestor apps identity set --app com.example.app --clear-ios',
        '',
        'Take the Android digests from the Play Console (Setup > App signing: the app signing key, and the',
        'upload key if you also ship builds signed with it) or `keytool -printcert -jarfile app.apk`.',
        '--android-cert replaces the whole list: name every certificate that should still be accepted.',
        'Takes effect within 30 seconds. An iOS or Android identity set for the first time needs all its',
        'parts: --ios-team and --ios-bundle; --android-package and at least one --android-cert.',
      ),
    )
    .action(async (options: SetOptions, command: Command) => {
      const touchesIos = options.iosTeam !== undefined || options.iosBundle !== undefined || options.clearIos === true;
      const setsAndroid = options.androidPackage !== undefined || options.androidCert !== undefined || options.androidMinVersionCode !== undefined;
      const touchesAndroid = setsAndroid || options.clearAndroid === true;
      if (!touchesIos && !touchesAndroid) {
        command.error(
          'error: nothing to change: give --ios-team/--ios-bundle, --android-package/--android-cert/--android-min-version-code, --clear-ios or --clear-android',
          { exitCode: 2, code: 'attestor.nothing' },
        );
      }
      const client = adminClient(ctx, command);
      // The service replaces the whole identity (docs/ADMIN_API.md §3), so read it, change what was named, write it back.
      const current = await client.getIdentity(options.app);
      const next: { ios?: AppIdentity['ios']; android?: AppIdentity['android'] } = { ...current };

      if (options.clearIos) delete next.ios;
      else if (options.iosTeam !== undefined || options.iosBundle !== undefined) {
        const teamId = options.iosTeam ?? current.ios?.teamId;
        const bundleId = options.iosBundle ?? current.ios?.bundleId;
        if (teamId === undefined || bundleId === undefined) {
          command.error(`error: ${options.app} has no iOS identity yet: give both --ios-team and --ios-bundle`, { exitCode: 2, code: 'attestor.incomplete' });
        }
        next.ios = { teamId, bundleId };
      }

      if (options.clearAndroid) delete next.android;
      else if (setsAndroid) {
        const packageName = options.androidPackage ?? current.android?.packageName;
        const signingCertificates = options.androidCert ?? current.android?.signingCertificates;
        if (packageName === undefined || signingCertificates === undefined) {
          command.error(`error: ${options.app} has no Android identity yet: give --android-package and at least one --android-cert`, {
            exitCode: 2,
            code: 'attestor.incomplete',
          });
        }
        const minVersionCode = options.androidMinVersionCode === false ? undefined : (options.androidMinVersionCode ?? current.android?.minVersionCode);
        next.android = { packageName, signingCertificates, ...(minVersionCode !== undefined ? { minVersionCode } : {}) };
      }

      checkRequest(command, (s) => s.appIdentitySchema, next, OPTION_OF);
      const stored = await client.putIdentity(options.app, next);
      ctx.stdout.write(options.json ? toJson(stored) : formatIdentity(options.app, stored));
    });
}
