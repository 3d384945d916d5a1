/**
 * `attestor tenants create|list` (operators only). On the local service a new tenant gets its own
 * credential, returned once: the CLI saves it (mode 0600) instead of printing it, and `--tenant`
 * picks it up from there. In AWS a tenant is administered by the IAM principals given to it.
 */
import { Option, type Command } from 'commander';
import { accessSync, constants, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { adminClient, checkRequest, endpointOf, examples, schemaParser, type CliContext, type GlobalOptions } from '../context';
import { isLocalEndpoint, tenantCredentialsPath } from '../credentials';
import { CliError } from '../errors';
import { formatFields, formatTable, isoSeconds, toJson } from '../output';

const tenantIdParser = schemaParser((s) => s.tenantIdSchema);
const collect = (value: string, previous: string[] = []) => [...previous, value];

interface CreateOptions {
  readonly principal?: string[];
  readonly saveTo?: string;
  readonly json?: boolean;
}

/** Fails before the tenant is created if its credential could not be saved afterwards: a credential shown nowhere is lost. */
function prepareCredentialFile(path: string, tenantId: string): void {
  if (existsSync(path)) {
    throw new CliError(`a credential is already saved in ${path}: move it away, or pass --save-to FILE to save tenant ${tenantId}'s elsewhere`);
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    accessSync(dirname(path), constants.W_OK);
  } catch (error) {
    throw new CliError(
      `cannot write to ${dirname(path)} (${(error as NodeJS.ErrnoException).code ?? 'unknown error'}): pass --save-to FILE in a writable directory`,
    );
  }
}

function saveCredential(path: string, content: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  // 0600 from the first byte: the file holds a secret.
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
}

export function addTenantCommands(program: Command, ctx: CliContext): void {
  const tenants = program
    .command('tenants')
    .description('Tenants of the service (operators only): create, list')
    .addHelpText(
      'after',
      examples('$ attestor tenants create acme', '$ attestor --tenant acme apps list', '$ attestor tenants list'),
    );

  tenants
    .command('create')
    .description("Create a tenant with its own signing key; locally, save the new tenant's credential")
    .argument('<tenantId>', '1 to 64 letters, digits, _ or -', tenantIdParser)
    .addOption(new Option('--principal <arn>', 'IAM user or role that administers the tenant (repeatable; required in AWS)').argParser(collect))
    .addOption(new Option('--save-to <file>', 'where to save the local credential (default: $ATTESTOR_HOME/credentials/<tenant>.json)'))
    .option('--json', 'print the tenant as JSON (never the secret)')
    .addHelpText(
      'after',
      examples(
        '$ attestor tenants create acme                    # local: saves .attestor/credentials/acme.json',
        '$ attestor --tenant acme register --app com.acme.app --version 1.0.0 app.apk',
        '$ ATTESTOR_TENANT=acme attestor apps list',
        '$ attestor --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/prod \\',
        '    tenants create acme --principal arn:aws:iam::123456789012:role/AcmeDeployer',
        '',
        'The local credential is returned by the service only once; the CLI saves it with mode 0600 and',
        'never prints the secret. Pass the file to others with --credentials FILE.',
      ),
    )
    .action(async (tenantId: string, options: CreateOptions, command: Command) => {
      const request = { tenantId, ...(options.principal ? { principals: options.principal } : {}) };
      checkRequest(command, (s) => s.createTenantSchema, request, { tenantId: 'tenantId', principals: '--principal' });
      const endpoint = endpointOf(ctx, command.optsWithGlobals<GlobalOptions>());
      const local = isLocalEndpoint(endpoint);
      const savePath = options.saveTo !== undefined ? resolve(ctx.cwd, options.saveTo) : local ? tenantCredentialsPath(ctx.env, ctx.cwd, tenantId) : undefined;
      if (savePath) prepareCredentialFile(savePath, tenantId);

      const created = await adminClient(ctx, command).createTenant(request);
      let saved: string | undefined;
      if (created.credential) {
        if (!savePath)
          throw new CliError(`tenant ${tenantId} was created with a credential this CLI had nowhere to save: create another tenant with --save-to FILE`);
        saveCredential(savePath, { tenantId: created.tenantId, ...created.credential });
        saved = savePath;
      }
      const { credential: _secret, ...tenant } = created;
      if (options.json)
        return void ctx.stdout.write(toJson({ ...tenant, ...(saved ? { credentialFile: saved, accessKeyId: created.credential?.accessKeyId } : {}) }));
      ctx.stdout.write(
        formatFields([
          ['tenant', tenant.tenantId],
          ['created', isoSeconds(tenant.createdAt)],
          ['principals', tenant.principals.join(', ') || '-'],
          ...(saved ? ([['credential', `${saved} (access key ${created.credential!.accessKeyId})`]] as const) : []),
        ]),
      );
      if (saved) ctx.stderr.write(`act as this tenant with --tenant ${tenantId} (or ATTESTOR_TENANT=${tenantId})\n`);
    });

  tenants
    .command('list')
    .description('List the tenants with the principals that administer them')
    .option('--json', 'print the tenants as a JSON array')
    .addHelpText('after', examples('$ attestor tenants list', '$ attestor tenants list --json | jq -r ".[].tenantId"'))
    .action(async (options: { json?: boolean }, command: Command) => {
      const list = await adminClient(ctx, command).listTenants();
      if (options.json) return void ctx.stdout.write(toJson(list));
      ctx.stdout.write(
        formatTable(list, [
          { header: 'TENANT', value: (t) => t.tenantId },
          { header: 'CREATED', value: (t) => isoSeconds(t.createdAt) },
          { header: 'PRINCIPALS', value: (t) => t.principals.join(', ') },
        ]),
      );
    });
}
