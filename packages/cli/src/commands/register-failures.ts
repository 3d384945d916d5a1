/**
 * `attestor registrations failures [--retry|--clear] [--id ID...]`, operators only: the uploads the
 * register function gave up on after its retries (the RegisterFailures queue in AWS, a file of the
 * local cloud), to see them, hand them to the function again, or drop them (docs/CLI.md).
 */
import { Option, type Command } from 'commander';
import type { RegisterFailure } from '../admin-client';
import { adminClient, examples, type CliContext } from '../context';
import { formatTable, isoSeconds, printable, toJson } from '../output';

export function formatRegisterFailures(failures: readonly RegisterFailure[]): string {
  return formatTable(failures, [
    { header: 'ID', value: (f) => f.id },
    { header: 'FAILED', value: (f) => isoSeconds(f.failedAt) },
    { header: 'ATTEMPTS', value: (f) => String(f.attempts), align: 'right' },
    { header: 'BUILD', value: (f) => f.objectKeys.join(' ') },
    { header: 'ERROR', value: (f) => f.error },
  ]);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addRegisterFailureCommand(registrations: Command, ctx: CliContext): void {
  registrations
    .command('failures')
    .description('Uploads the register function gave up on (operators): list them, retry or clear them')
    .addOption(new Option('--retry', 'hand each failure to the register function again').conflicts('clear'))
    .addOption(new Option('--clear', 'drop the failures: their uploads stay pending; upload the build again'))
    .addOption(new Option('--id <id>', 'only this failure (repeatable); default: every one listed').argParser(collect))
    .option('--json', 'print the failures (or the ids retried or cleared) as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor registrations failures',
        '$ attestor registrations failures --retry',
        '$ attestor registrations failures --clear --id 3f0c1a2b-...',
        '',
        'A retried failure that fails again is back in the list after the function retries it (about a',
        'minute); its upload stays pending meanwhile. The register log line names the cause.',
      ),
    )
    .action(async (options: { retry?: boolean; clear?: boolean; id?: string[]; json?: boolean }, command: Command) => {
      const client = adminClient(ctx, command);
      if (options.retry || options.clear) {
        const done = options.retry ? await client.retryRegisterFailures(options.id) : await client.clearRegisterFailures(options.id);
        if (options.json) return void ctx.stdout.write(toJson(done));
        const verb = options.retry ? 'retried' : 'cleared';
        ctx.stderr.write(`${verb} ${done.length} failure(s)${done.length > 0 ? `: ${done.map(printable).join(', ')}` : ''}\n`);
        return;
      }
      const failures = await client.listRegisterFailures();
      if (options.json) return void ctx.stdout.write(toJson(failures));
      if (failures.length === 0) return void ctx.stderr.write('no register failures\n');
      ctx.stdout.write(formatRegisterFailures(failures));
    });
}
