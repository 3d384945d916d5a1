/** `attestor apps create|list|remove|identity`: the apps of your tenant. */
import type { Command } from 'commander';
import { adminClient, appIdParser, checkRequest, examples, type CliContext } from '../context';
import { CliError } from '../errors';
import { formatTable, isoSeconds, printable, toJson } from '../output';
import { addIdentityCommands } from './identity';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function addAppCommands(program: Command, ctx: CliContext): void {
  const apps = program
    .command('apps')
    .description('Apps of your tenant: create, list, remove, and their store identity')
    .addHelpText(
      'after',
      examples(
        '$ attestor apps create com.example.app',
        '$ attestor apps list',
        '$ attestor apps identity set --app com.example.app --ios-team ABCDE12345 --ios-bundle com.example.app',
        '$ attestor apps remove com.example.old --yes',
      ),
    );

  apps
    .command('create')
    .description('Create an app (register creates it too; this is for setting policy or devices first)')
    .argument('<appId>', 'app id, reverse-DNS style (com.example.app)', appIdParser)
    .option('--json', 'print the app as JSON')
    .addHelpText('after', examples('$ attestor apps create com.example.app', '', 'Creating an app your tenant already has is harmless.'))
    .action(async (appId: string, options: { json?: boolean }, command: Command) => {
      checkRequest(command, (s) => s.createAppSchema, { appId });
      const { created, ...app } = await adminClient(ctx, command).createApp(appId);
      if (options.json) return void ctx.stdout.write(toJson(app));
      const id = printable(app.appId);
      ctx.stdout.write(created ? `created ${id}\n` : `${id} already exists in your tenant (created ${isoSeconds(app.createdAt)}); nothing changed\n`);
    });

  apps
    .command('list')
    .description('List the apps of your tenant')
    .option('--json', 'print the apps as a JSON array')
    .addHelpText('after', examples('$ attestor apps list', '$ attestor apps list --json | jq -r ".[].appId"'))
    .action(async (options: { json?: boolean }, command: Command) => {
      const list = await adminClient(ctx, command).listApps();
      if (options.json) return void ctx.stdout.write(toJson(list));
      if (list.length === 0) return void ctx.stderr.write('your tenant has no apps yet; `attestor register` or `attestor apps create` creates one\n');
      ctx.stdout.write(
        formatTable(list, [
          { header: 'APP', value: (a) => a.appId },
          { header: 'CREATED', value: (a) => isoSeconds(a.createdAt) },
        ]),
      );
    });

  apps
    .command('remove')
    .description('Remove an app with its registrations, policy, devices and identity')
    .argument('<appId>', 'app id (com.example.app)', appIdParser)
    .option('--yes', 'remove it: without this, only say what would be removed')
    .option('--json', 'print what was removed as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor apps remove com.example.old          # says what would go, removes nothing',
        '$ attestor apps remove com.example.old --yes',
        '',
        'Attestations of the app fail within 30 s; tokens already issued stay valid until they expire.',
      ),
    )
    .action(async (appId: string, options: { yes?: boolean; json?: boolean }, command: Command) => {
      const client = adminClient(ctx, command);
      if (!options.yes) {
        // A dry run that also proves the app exists in this tenant (404 otherwise).
        const [registrations, devices] = await Promise.all([client.listRegistrations(appId), client.listDevices(appId)]);
        const what = `${plural(registrations.length, 'registration')}, ${plural(devices.length, 'device')}, its policy and identity`;
        throw new CliError(`this removes ${appId} with ${what}, and its attestations fail from then on: run again with --yes to remove it`);
      }
      const removal = await client.removeApp(appId);
      if (options.json) return void ctx.stdout.write(toJson(removal));
      const { registrations, devices, policy } = removal.removed;
      ctx.stdout.write(
        `removed ${printable(removal.appId)} with ${plural(registrations, 'registration')}, ${plural(devices, 'device')}${policy ? ' and its policy' : ''}\n`,
      );
    });

  addIdentityCommands(apps, ctx);
}
