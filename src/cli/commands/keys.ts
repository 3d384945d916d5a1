/** `attestor keys list|rotate|jwks`: the tenant's token signing keys. */
import type { Command } from 'commander';
import { adminClient, examples, type CliContext } from '../context';
import { formatFields, formatTable, isoOr, isoSeconds, toJson } from '../output';

export function addKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program
    .command('keys')
    .description('Signing keys of your tenant: list, rotate, jwks')
    .addHelpText('after', examples('$ attestor keys list', '$ attestor keys rotate', '$ attestor keys jwks > jwks.json'));

  keys
    .command('list')
    .description('List the signing keys, newest first, with their status')
    .option('--json', 'print the keys as a JSON array')
    .addHelpText(
      'after',
      examples(
        '$ attestor keys list',
        '',
        'pending: published, signs from ACTIVATES on; active: signs new tokens; retiring: published until',
        'RETIRES so tokens it signed stay verifiable; retired: no longer published; deleted: retired, and',
        'its KMS key scheduled for deletion by a later rotation (KMS deletes it 30 days on).',
      ),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const list = await adminClient(ctx, command).listKeys();
      if (options.json) return void ctx.stdout.write(toJson(list));
      ctx.stdout.write(
        formatTable(list, [
          { header: 'KID', value: (k) => k.kid },
          { header: 'STATUS', value: (k) => k.status },
          { header: 'CREATED', value: (k) => isoSeconds(k.createdAt) },
          { header: 'ACTIVATES', value: (k) => isoSeconds(k.activatesAt) },
          { header: 'RETIRES', value: (k) => isoOr(k.retiresAt, '-') },
        ]),
      );
    });

  keys
    .command('rotate')
    .description('Create a new signing key; it signs from a minute on and the old key retires once its tokens expired')
    .option('--json', 'print the new key as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor keys rotate',
        '',
        'Safe at any time: verifiers see the new key in the JWKS before any token carries it, and the old key',
        'stays published until every token it signed has expired (docs/ADMIN_API.md §8). Keys that have',
        'retired since the last rotation are scheduled for deletion in KMS (30 days, cancellable by an',
        'account administrator).',
      ),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const key = await adminClient(ctx, command).rotateKey();
      if (options.json) return void ctx.stdout.write(toJson(key));
      ctx.stdout.write(formatFields([['kid', key.kid], ['activates', isoSeconds(key.activatesAt)]]));
      ctx.stderr.write('the new key is published now and signs new tokens from its activation time; `attestor keys list` shows the old key retiring\n');
      if (key.keysDeleted.length > 0) ctx.stderr.write(`scheduled KMS deletion (in 30 days) of retired key${key.keysDeleted.length > 1 ? 's' : ''} ${key.keysDeleted.join(', ')}\n`);
      for (const failed of key.keysNotDeleted) {
        ctx.stderr.write(`warning: retired key ${failed.kid} could not be scheduled for deletion (${failed.reason}); the rotation itself succeeded, and the next one tries again\n`);
      }
    });

  keys
    .command('jwks')
    .description('Print the public signing keys as a JWKS (the keys that verify attestation tokens)')
    .option('--json', 'compact single-line JSON (default: indented)')
    .addHelpText(
      'after',
      examples('$ attestor keys jwks > jwks.json', '$ attestor keys jwks --json | jq -r ".keys[].kid"', '', 'Only the JWKS goes to stdout, so the output can be piped or redirected as is.'),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const body = await adminClient(ctx, command).jwks();
      ctx.stdout.write(`${options.json ? JSON.stringify(body) : JSON.stringify(body, null, 2)}\n`);
    });
}
