/**
 * `attestor devices add|remove|list`: an app's allow list. An allow-listed install key (by its
 * thumbprint, the token's `did`) always passes; so does an install that presents a debug secret,
 * for CI and emulators, as Firebase App Check's debug provider does.
 */
import { Option, type Command } from 'commander';
import type { Device } from '../admin-client';
import { adminClient, appIdParser, checkRequest, examples, noteParser, schemaParser, type CliContext } from '../context';
import { formatFields, formatTable, isoSeconds, printable, toJson } from '../output';

const appOption = () => new Option('--app <id>', 'app id (com.example.app)').argParser(appIdParser).makeOptionMandatory();
const didParser = schemaParser((s) => s.b64uBytes(32));
const deviceIdParser = schemaParser((s) => s.deviceIdSchema);

export function addDeviceCommands(program: Command, ctx: CliContext): void {
  const devices = program
    .command('devices')
    .description('Devices that always pass for an app: allow-listed install keys and debug secrets')
    .addHelpText(
      'after',
      examples(
        '$ attestor devices add --app com.example.app --debug --note "GitHub Actions"',
        '$ attestor devices add --app com.example.app 4c8aQm0w1GJx2f3ZcTn7H2bqL9xq5FQe3x8R0vYhZ1k',
        '$ attestor devices list --app com.example.app',
      ),
    );

  devices
    .command('list')
    .description("List an app's allow-listed devices, newest first")
    .addOption(appOption())
    .option('--json', 'print the devices as a JSON array')
    .addHelpText('after', examples('$ attestor devices list --app com.example.app', '', 'Debug secrets are never shown again after `devices add --debug`.'))
    .action(async (options: { app: string; json?: boolean }, command: Command) => {
      const list = await adminClient(ctx, command).listDevices(options.app);
      if (options.json) return void ctx.stdout.write(toJson(list));
      if (list.length === 0) return void ctx.stderr.write(`${options.app} has no allow-listed devices\n`);
      ctx.stdout.write(
        formatTable(list, [
          { header: 'DEVICE', value: (d) => d.deviceId },
          { header: 'KIND', value: (d) => d.kind },
          { header: 'ADDED', value: (d) => isoSeconds(d.createdAt) },
          { header: 'NOTE', value: (d) => d.note ?? '' },
        ]),
      );
    });

  devices
    .command('add')
    .description('Allow-list an install key by its thumbprint, or create a debug secret with --debug')
    .addOption(appOption())
    .argument('[thumbprint]', "the install key's RFC 7638 thumbprint: the did in its tokens and in `attestor log` (43 characters)", didParser)
    .addOption(new Option('--debug', 'create a debug secret instead; it is printed once, now'))
    .addOption(new Option('--note <text>', 'what the device is, e.g. "Pixel 8 in the lab" (at most 500 characters)').argParser(noteParser))
    .option('--json', 'print the new device as JSON (with the debug secret, the only time it is shown)')
    .addHelpText(
      'after',
      examples(
        '$ attestor devices add --app com.example.app 4c8aQm0w1GJx2f3ZcTn7H2bqL9xq5FQe3x8R0vYhZ1k --note "QA Pixel 8"',
        '$ attestor devices add --app com.example.app --debug --note "GitHub Actions"',
        '$ attestor devices add --app com.example.app --debug --json | jq -r .debugSecret',
        '',
        'Give the debug secret to the SDK (debugSecret) on the CI runner or emulator, from your CI secrets.',
        'The service keeps only its hash: store it now, or remove the device and create another.',
      ),
    )
    .action(async (thumbprint: string | undefined, options: { app: string; debug?: boolean; note?: string; json?: boolean }, command: Command) => {
      if ((thumbprint === undefined) === !options.debug) {
        command.error('error: give either a thumbprint (allow-list an install key) or --debug (create a debug secret)', {
          exitCode: 2,
          code: 'attestor.usage',
        });
      }
      const request = {
        ...(thumbprint !== undefined ? { did: thumbprint } : { debug: true as const }),
        ...(options.note !== undefined ? { note: options.note } : {}),
      };
      checkRequest(command, (s) => s.addDeviceSchema, request, { did: 'thumbprint', note: '--note' });
      const device = await adminClient(ctx, command).addDevice(options.app, request);
      if (options.json) return void ctx.stdout.write(toJson(device));
      ctx.stdout.write(formatDevice(device));
      if (device.debugSecret !== undefined) {
        ctx.stderr.write('store the debug secret now (e.g. as a CI secret): it is not shown again\n');
      }
    });

  devices
    .command('remove')
    .description('Remove a device from the allow list: within 30 s its attestations are judged normally')
    .addOption(appOption())
    .argument('<deviceId>', 'as `attestor devices list` shows it: a thumbprint, or debug.<id>', deviceIdParser)
    .option('--json', 'print the removed device as JSON')
    .addHelpText('after', examples('$ attestor devices remove --app com.example.app debug.Xy3Hc9aQ0VbL2mTt5pRw1e'))
    .action(async (deviceId: string, options: { app: string; json?: boolean }, command: Command) => {
      const removed = await adminClient(ctx, command).removeDevice(options.app, deviceId);
      if (options.json) return void ctx.stdout.write(toJson(removed));
      ctx.stdout.write(`removed ${printable(removed.kind)} device ${printable(removed.deviceId)} from ${options.app}\n`);
    });
}

function formatDevice(device: Device): string {
  return formatFields([
    ['device', device.deviceId],
    ['kind', device.kind],
    ...(device.note !== undefined ? ([['note', device.note]] as const) : []),
    ['added', isoSeconds(device.createdAt)],
    ...(device.debugSecret !== undefined ? ([['secret', device.debugSecret]] as const) : []),
  ]);
}
