/** `attestor keys list|rotate|secret|jwks`: the tenant's token keys. */
import { Option, type Command } from 'commander';
import { TOKEN_FORMATS } from '@attestor/contracts/protocol';
import { adminClient, examples, type CliContext } from '../context';
import { formatFields, formatTable, isoOr, isoSeconds, printable, toJson, toJsonLine } from '../output';
import { oneLine } from '../errors';
import { printSecretSet } from '../secrets';

/** One sentence, wherever a public key is handed out (issue: verdict secrecy, PROTOCOL.md §9). */
export const ES256_WARNING =
  'in es256 mode anyone holding a token, the app included, can check it against these keys and so tell a decoy from a pass, and every token of a ' +
    'registered app names its tenant, so one attestation tells that an app id is registered';

export function addKeyCommands(program: Command, ctx: CliContext): void {
  const keys = program
    .command('keys')
    .description('Token keys of your tenant: list, rotate, secret (hs256), jwks (es256)')
    .addHelpText(
      'after',
      examples('$ attestor keys list', '$ attestor keys rotate', '$ attestor keys secret --json > secrets.json', '$ attestor keys jwks > jwks.json'),
    );

  keys
    .command('list')
    .description('List the signing keys, newest first, with their status')
    .option('--json', 'print the keys as a JSON array')
    .addHelpText(
      'after',
      examples(
        '$ attestor keys list',
        '',
        'FORMAT hs256: a secret only your verifiers hold (the default); es256: a public key anyone can check.',
        'pending: published, signs from ACTIVATES on; active: signs new tokens; retiring: published until',
        'RETIRES so tokens it signed stay verifiable; retired: no longer published; deleted: retired, and',
        'destroyed by a later rotation (es256: its KMS key deleted 30 days on; hs256: its secret erased).',
      ),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const list = await adminClient(ctx, command).listKeys();
      if (options.json) return void ctx.stdout.write(toJson(list));
      ctx.stdout.write(
        formatTable(list, [
          { header: 'KID', value: (k) => k.kid },
          { header: 'FORMAT', value: (k) => k.format },
          { header: 'STATUS', value: (k) => k.status },
          { header: 'CREATED', value: (k) => isoSeconds(k.createdAt) },
          { header: 'ACTIVATES', value: (k) => isoSeconds(k.activatesAt) },
          { header: 'RETIRES', value: (k) => isoOr(k.retiresAt, '-') },
        ]),
      );
    });

  keys
    .command('rotate')
    .description('Create a new token key; it signs from a minute on and the old key retires once its tokens expired')
    .addOption(new Option('--format <format>', 'token format of the new key (default: the current one)').choices([...TOKEN_FORMATS]))
    .option('--json', 'print the new key as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor keys rotate',
        '$ attestor keys rotate --format es256',
        '',
        'Safe at any time: verifiers see the new key before any token carries it, and the old key stays',
        'trusted until every token it signed has expired (docs/ADMIN_API.md §8). Keys that have retired since',
        'the last rotation are destroyed (es256: KMS deletion in 30 days, cancellable; hs256: secret erased).',
        'Switching format: give every verifier both kinds of key first (docs/ENFORCEMENT.md).',
      ),
    )
    .action(async (options: { json?: boolean; format?: (typeof TOKEN_FORMATS)[number] }, command: Command) => {
      const key = await adminClient(ctx, command).rotateKey(options.format);
      if (options.json) return void ctx.stdout.write(toJson(key));
      ctx.stdout.write(formatFields([['kid', key.kid], ['format', key.format], ['activates', isoSeconds(key.activatesAt)]]));
      ctx.stderr.write('the new key is published now and signs new tokens from its activation time; `attestor keys list` shows the old key retiring\n');
      if (key.format === 'es256') ctx.stderr.write(`note: ${ES256_WARNING}\n`);
      if (key.keysDeleted.length > 0) {
        const kids = printable(key.keysDeleted.join(', '));
        ctx.stderr.write(`destroyed retired key${key.keysDeleted.length > 1 ? 's' : ''} ${kids} (hs256 secrets erased, es256 KMS keys deleted 30 days on)\n`);
      }
      for (const failed of key.keysNotDeleted) {
        const why = `${printable(failed.kid)} could not be destroyed (${oneLine(failed.reason)})`;
        ctx.stderr.write(`warning: retired key ${why}; the rotation itself succeeded, and the next one tries again\n`);
      }
    });

  keys
    .command('secret')
    .description('Print the hs256 secrets that verify your tokens (current, next and retiring), for a verifier outside AWS')
    .option('--json', 'print them as a JWK Set, the form attestor/verify takes as `secrets`')
    .addHelpText(
      'after',
      examples(
        '$ attestor keys secret',
        '$ attestor keys secret --json > secrets.json',
        '',
        'Whoever holds these can verify tokens and also mint them: keep them in a secret store, never in code.',
        'The admin API hands them out wrapped; they are unwrapped here with KMS Decrypt under your own',
        'credentials. After `keys rotate`, copy the set again within a minute, before the new secret signs.',
      ),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      await printSecretSet(ctx, command, await adminClient(ctx, command).wrappedSecrets(), {
        json: options.json === true,
        none: 'this tenant signs es256 tokens and has no hs256 secret: verifiers use `attestor keys jwks`',
        columns: [
          { header: 'KID', value: (k) => k.kid },
          { header: 'STATUS', value: (k) => k.status ?? '-' },
          { header: 'ACTIVATES', value: (k) => (k.activatesAt !== undefined ? isoSeconds(k.activatesAt) : '-') },
          { header: 'RETIRES', value: (k) => isoOr(k.retiresAt, '-') },
          { header: 'SECRET (base64url)', value: (k) => k.k },
        ],
        warning: 'these secrets verify and mint tokens: keep them in a secret store',
      });
    });

  keys
    .command('jwks')
    .description('Print the es256 public keys as a JWKS (empty while the tenant signs hs256)')
    .option('--json', 'compact single-line JSON (default: indented)')
    .addHelpText(
      'after',
      examples(
        '$ attestor keys jwks > jwks.json',
        '$ attestor keys jwks --json | jq -r ".keys[].kid"',
        '',
        'Only the JWKS goes to stdout, so the output can be piped or redirected as is.',
        `Note: ${ES256_WARNING}.`,
      ),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const body = await adminClient(ctx, command).jwks();
      ctx.stdout.write(options.json ? toJsonLine(body) : toJson(body));
      ctx.stderr.write(
        body.keys.length === 0 ? 'no es256 keys: this tenant signs hs256 tokens, verified with `attestor keys secret`\n' : `note: ${ES256_WARNING}\n`,
      );
    });
}
