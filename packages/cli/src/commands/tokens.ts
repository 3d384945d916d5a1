/**
 * `attestor token mint|secret`: test tokens for a backend's CI (PROTOCOL.md §5.7). The service mints
 * them with the tenant's test secret (which never leaves it but into the minting function's memory)
 * and records each mint; `secret` prints the test secrets for the verifiers that accept test tokens,
 * unwrapped with the operator's own KMS permission, like `keys secret`.
 */
import { Option, type Command } from 'commander';
import {
  DEFAULT_TEST_TOKEN_TTL_SECONDS,
  MAX_TEST_TOKEN_TTL_SECONDS,
  MIN_TEST_TOKEN_TTL_SECONDS,
  TEST_TOKEN_SETTABLE_CLAIMS,
  type TestSecretRotation,
  type TestTokenMint,
} from '@attestor/contracts/test-tokens';
import { adminClient, appIdParser, durationParser, examples, type CliContext } from '../context';
import { CliError } from '../errors';
import { formatFields, isoSeconds, toJson } from '../output';
import { printSecretSet } from '../secrets';

const ttlParser = durationParser(MIN_TEST_TOKEN_TTL_SECONDS, MAX_TEST_TOKEN_TTL_SECONDS, 'test tokens live 1m to 1h');
const CLAIMS = TEST_TOKEN_SETTABLE_CLAIMS.join(', ');

/**
 * `--claims` as JSON (`'{"ver":"2.0.0","lut":true}'`) or as key=value words (`ver=2.0.0 lut=true`);
 * the service checks the values and refuses any other claim. `lut=true` is the one non-string value.
 */
export function parseClaims(words: readonly string[]): Record<string, unknown> {
  if (words.length === 1 && words[0]!.trim().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(words[0]!);
    } catch {
      throw new CliError(`--claims is not valid JSON: give an object such as '{"ver":"2.0.0"}', or key=value pairs`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError('--claims JSON must be an object, e.g. \'{"ver":"2.0.0"}\'');
    return parsed as Record<string, unknown>;
  }
  const claims: Record<string, unknown> = {};
  for (const word of words) {
    const at = word.indexOf('=');
    if (at <= 0) throw new CliError(`--claims "${word}" is not key=value: give e.g. ver=2.0.0 (settable: ${CLAIMS})`);
    const name = word.slice(0, at);
    if (name in claims) throw new CliError(`--claims names ${name} twice`);
    const value = word.slice(at + 1);
    claims[name] = name === 'lut' && value === 'true' ? true : value;
  }
  return claims;
}

function asRotation(body: unknown): TestSecretRotation {
  const rotation = body as Partial<TestSecretRotation> | null;
  if (typeof rotation?.kid !== 'string' || typeof rotation.createdAt !== 'number' || !Array.isArray(rotation.retired)) {
    throw new CliError('the service answered without a new test secret: is this an Attestor admin API?');
  }
  return rotation as TestSecretRotation;
}

function asMint(body: unknown): TestTokenMint {
  const mint = body as Partial<TestTokenMint> | null;
  if (typeof mint?.token !== 'string' || typeof mint.expiresAt !== 'number') {
    throw new CliError('the service answered without a token: is this an Attestor admin API?');
  }
  return mint as TestTokenMint;
}

export function addTokenCommands(program: Command, ctx: CliContext): void {
  const token = program
    .command('token')
    .description("Test tokens for your backend's CI: mint one, print the test secrets its verifier needs, rotate them")
    .addHelpText(
      'after',
      examples('$ attestor token mint --app com.example.app', '$ attestor token secret --json > test-secrets.json', '$ attestor token rotate'),
    );

  token
    .command('mint')
    .description('Mint a test token for one of your apps, signed by your tenant\'s test key (accepted only where test tokens are)')
    .requiredOption('--app <id>', 'the app the token is for (its sub)', appIdParser)
    .addOption(new Option('--ttl <duration>', 'lifetime, 1m to 1h').argParser(ttlParser).default(DEFAULT_TEST_TOKEN_TTL_SECONDS, '5m'))
    .option('--claims <claims...>', `claims to set, as JSON or key=value (${CLAIMS})`)
    .option('--json', 'print the token with its expiry and claims as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor token mint --app com.example.app',
        '$ attestor token mint --app com.example.app --ttl 30m --claims ver=2.0.0 hw=android-key',
        `$ attestor token mint --app com.example.app --claims '{"lut":true}' --json`,
        '$ curl -H "Attestor-Token: $(attestor token mint --app com.example.app)" https://ci.example.com/orders',
        '',
        'Only the token goes to stdout. It is refused by every verifier and authorizer not configured to',
        'accept test tokens (acceptTestTokens, off by default): configure only your CI backend so',
        '(docs/ENFORCEMENT.md). Each mint is recorded: `attestor log --test-tokens`.',
      ),
    )
    .action(async (options: { app: string; ttl: number; claims?: string[]; json?: boolean }, command: Command) => {
      const claims = options.claims !== undefined ? parseClaims(options.claims) : undefined;
      const body = { appId: options.app, ttlSeconds: options.ttl, ...(claims !== undefined ? { claims } : {}) };
      const mint = asMint(await adminClient(ctx, command).request('POST', '/v1/admin/tokens/test', body));
      if (options.json) return void ctx.stdout.write(toJson(mint));
      ctx.stdout.write(`${mint.token}\n`);
      ctx.stderr.write(`test token for ${mint.appId}, expires ${isoSeconds(mint.expiresAt)}; accepted only where test tokens are\n`);
    });

  token
    .command('secret')
    .description('Print the test secrets that verify test tokens, for the verifier of your CI backend')
    .option('--json', 'print them as a JWK Set, the form attestor/verify takes as `testSecrets`')
    .addHelpText(
      'after',
      examples(
        '$ attestor token secret --json > test-secrets.json',
        '',
        'They verify test tokens only, never an attestation\'s. Give them only to verifiers that accept',
        'test tokens (acceptTestTokens: true). Unwrapped here with KMS Decrypt under your own credentials.',
      ),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      await printSecretSet(ctx, command, await adminClient(ctx, command).wrappedTestSecrets(), {
        json: options.json === true,
        none: 'no test secret yet: the first `attestor token mint` makes one',
        columns: [
          { header: 'KID', value: (k) => k.kid },
          { header: 'CREATED', value: (k) => (k.activatesAt !== undefined ? isoSeconds(k.activatesAt) : '-') },
          { header: 'SECRET (base64url)', value: (k) => k.k },
        ],
        warning: 'these secrets verify and mint test tokens: keep them in your CI secret store',
      });
    });

  token
    .command('rotate')
    .description('Make a new test secret and retire the others: test tokens they signed stop verifying')
    .option('--json', 'print the new kid and the retired ones as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor token rotate',
        '',
        'For a test secret that may have leaked. Verifiers that read the service (an authorizer with',
        'acceptTestTokens, attestorTestSecrets) drop the retired secrets at their next key refresh; one given',
        '`attestor token secret --json` by hand needs the new set.',
      ),
    )
    .action(async (options: { json?: boolean }, command: Command) => {
      const rotation = asRotation(await adminClient(ctx, command).request('POST', '/v1/admin/tokens/test/rotate', {}));
      if (options.json) return void ctx.stdout.write(toJson(rotation));
      ctx.stdout.write(
        formatFields([
          ['kid', rotation.kid],
          ['created', isoSeconds(rotation.createdAt)],
          ['retired', rotation.retired.length > 0 ? rotation.retired.join(', ') : 'none'],
        ]),
      );
      ctx.stderr.write(
        'verifiers given `attestor token secret --json` by hand need the new set; those that read the service follow at their next key refresh\n',
      );
    });
}
