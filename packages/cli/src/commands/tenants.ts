/**
 * `attestor tenants create|list|grant|revoke` (operators only). On the local service a new tenant gets its
 * own credential, returned once: the CLI saves it (mode 0600) instead of printing it, and `--tenant`
 * picks it up from there. In AWS a tenant is administered by the IAM principals given to it, each
 * with a role (docs/ADMIN_API.md §1.2): `grant` adds one or changes its role, and locally, without
 * a principal, mints a credential with the role (a register-only one for CI, say); `revoke` takes
 * a principal's role away.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { PrincipalRole } from '@attestor/contracts/routes';
import type { TenantPrincipal } from '../admin-client';
import { accessSync, constants, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { adminClient, checkRequest, endpointOf, examples, schemaParser, type CliContext, type GlobalOptions } from '../context';
import { tenantCredentialFileName } from '@attestor/contracts/local-state';
import { isLocalEndpoint, tenantCredentialsPath } from '../credentials';
import { CliError } from '../errors';
import { formatFields, formatTable, isoSeconds, toJson } from '../output';

const tenantIdParser = schemaParser((s) => s.tenantIdSchema);
/** Least privileged first, as the route table lists them (its PRINCIPAL_ROLES, not imported: the CLI loads no route table to start). */
const ROLES: readonly PrincipalRole[] = ['register', 'read', 'admin'];
const ROLE_PREFIX = new RegExp(`^(${ROLES.join('|')})=(.*)$`);

/**
 * `--principal [ROLE=]ARN`: an ARN starts with `arn:`, so a role before `=` cannot be mistaken for
 * part of one. Without a role the principal is an admin, as every principal was before roles.
 */
const collectPrincipal = (value: string, previous: TenantPrincipal[] = []): TenantPrincipal[] => {
  const match = ROLE_PREFIX.exec(value);
  if (!match && /^[a-z]+=/.test(value)) throw new InvalidArgumentError(`the role before = must be ${ROLES.join(', ')} (e.g. register=arn:aws:iam::…)`);
  return [...previous, match ? { principal: match[2]!, role: match[1] as PrincipalRole } : value];
};

interface CreateOptions {
  readonly principal?: TenantPrincipal[];
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
    .description('Tenants of the service (operators only): create, list, grant and revoke roles')
    .addHelpText(
      'after',
      examples('$ attestor tenants create acme', '$ attestor --tenant acme apps list', '$ attestor tenants list'),
    );

  tenants
    .command('create')
    .description("Create a tenant with its own signing key; locally, save the new tenant's credential")
    .argument('<tenantId>', '1 to 64 letters, digits, _ or -', tenantIdParser)
    .addOption(
      new Option(
        '--principal <[role=]arn>',
        'IAM user or role of the tenant, an admin unless role= says register or read (repeatable; required in AWS)',
      ).argParser(collectPrincipal),
    )
    .addOption(new Option('--save-to <file>', 'where to save the local credential (default: $ATTESTOR_HOME/credentials/<tenant>.json)'))
    .option('--json', 'print the tenant as JSON (never the secret)')
    .addHelpText(
      'after',
      examples(
        '$ attestor tenants create acme                    # local: saves .attestor/credentials/acme.json',
        '$ attestor --tenant acme register --app com.acme.app --version 1.0.0 app.apk',
        '$ ATTESTOR_TENANT=acme attestor apps list',
        '$ attestor --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/prod \\',
        '    tenants create acme --principal arn:aws:iam::123456789012:role/AcmeDeployer \\',
        '    --principal register=arn:aws:iam::123456789012:role/AcmeCiRegister',
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
        saveCredential(savePath, { tenantId: created.tenantId, role: 'admin', ...created.credential });
        saved = savePath;
      }
      const { credential: _secret, ...tenant } = created;
      if (options.json)
        return void ctx.stdout.write(toJson({ ...tenant, ...(saved ? { credentialFile: saved, accessKeyId: created.credential?.accessKeyId } : {}) }));
      ctx.stdout.write(
        formatFields([
          ['tenant', tenant.tenantId],
          ['created', isoSeconds(tenant.createdAt)],
          ['principals', withRoles(tenant.principals, tenant.roles) || '-'],
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
          { header: 'PRINCIPALS', value: (t) => withRoles(t.principals, t.roles) },
        ]),
      );
    });

  addGrantCommand(tenants, ctx);
  addRevokeCommand(tenants, ctx);
}

/** `arn (register), arn (admin)`: a principal's role beside it; services older than roles send none (all admins). */
function withRoles(principals: readonly string[], roles: Readonly<Record<string, string>> | undefined): string {
  return principals.map((p) => `${p} (${roles?.[p] ?? 'admin'})`).join(', ');
}

interface GrantOptions {
  readonly role: PrincipalRole;
  readonly principal?: string;
  readonly saveTo?: string;
  readonly json?: boolean;
}


function addGrantCommand(tenants: Command, ctx: CliContext): void {
  tenants
    .command('grant')
    .description("Give a principal a role in a tenant (adds it, or changes its role); locally, without --principal, save a new credential with the role")
    .argument('<tenantId>', 'the tenant', tenantIdParser)
    .addOption(new Option('--role <role>', 'register: upload builds only; read: read-only; admin: everything').choices(ROLES).makeOptionMandatory())
    .addOption(new Option('--principal <arn>', 'IAM user or role (required in AWS); locally, leave it out to mint a new credential'))
    .addOption(new Option('--save-to <file>', 'where to save a new local credential (default: $ATTESTOR_HOME/credentials/<tenant>.<role>.json)'))
    .option('--json', 'print the grant as JSON (never the secret)')
    .addHelpText(
      'after',
      examples(
        '$ attestor tenants grant acme --role register          # local: saves .attestor/credentials/acme.register.json',
        '$ attestor --credentials .attestor/credentials/acme.register.json register --app com.acme.app --version 1.0.0 app.apk',
        '$ attestor tenants grant acme --role register --principal arn:aws:iam::123456789012:role/AcmeCiRegister',
        '$ attestor tenants grant acme --role read --principal arn:aws:iam::123456789012:role/AcmeDeployer   # demote',
        '',
        'Roles: register may upload builds and see their registrations (attestor register, registrations list);',
        'read may call every read-only route; admin may do everything a tenant may. Operators may do everything.',
      ),
    )
    .action(async (tenantId: string, options: GrantOptions, command: Command) => {
      const request = { role: options.role, ...(options.principal !== undefined ? { principal: options.principal } : {}) };
      checkRequest(command, (s) => s.grantRoleSchema, request, { principal: '--principal', role: '--role' });
      const endpoint = endpointOf(ctx, command.optsWithGlobals<GlobalOptions>());
      const mints = options.principal === undefined && isLocalEndpoint(endpoint);
      if (options.principal === undefined && !mints) {
        throw new CliError('--principal is required against AWS: name the IAM user or role ARN to give the role to');
      }
      const savePath = !mints
        ? undefined
        : options.saveTo !== undefined
          ? resolve(ctx.cwd, options.saveTo)
          : // Beside the tenant's own credential, named by its role.
            join(dirname(tenantCredentialsPath(ctx.env, ctx.cwd, tenantId)), tenantCredentialFileName(tenantId, options.role));
      if (savePath) prepareCredentialFile(savePath, tenantId);

      const granted = await adminClient(ctx, command).grantRole(tenantId, request);
      let saved: string | undefined;
      if (granted.credential) {
        if (!savePath) {
          throw new CliError(`a credential was minted for tenant ${tenantId} that this CLI had nowhere to save: run the command with --save-to FILE`);
        }
        saveCredential(savePath, { tenantId, role: granted.role, ...granted.credential });
        saved = savePath;
      }
      const { credential: _secret, ...grant } = granted;
      if (options.json) {
        return void ctx.stdout.write(toJson({ ...grant, ...(saved ? { credentialFile: saved, accessKeyId: granted.credential?.accessKeyId } : {}) }));
      }
      ctx.stdout.write(
        formatFields([
          ['tenant', grant.tenantId],
          ['principal', grant.principal],
          ['role', grant.previousRole && grant.previousRole !== grant.role ? `${grant.role} (was ${grant.previousRole})` : grant.role],
          ...(saved ? ([['credential', `${saved} (access key ${granted.credential!.accessKeyId})`]] as const) : []),
        ]),
      );
      if (saved) ctx.stderr.write(`use this credential with --credentials ${saved} (or ATTESTOR_CREDENTIALS=${saved})\n`);
    });
}

function addRevokeCommand(tenants: Command, ctx: CliContext): void {
  tenants
    .command('revoke')
    .description('Take a principal\'s role in a tenant away: its next admin call is refused')
    .argument('<tenantId>', 'the tenant', tenantIdParser)
    .addOption(new Option('--principal <arn>', 'the IAM user or role (locally: the principal `attestor tenants list` shows)').makeOptionMandatory())
    .option('--json', 'print what was revoked as JSON')
    .addHelpText(
      'after',
      examples(
        '$ attestor tenants revoke acme --principal arn:aws:iam::123456789012:role/AcmeCiRegister',
        '',
        'IAM still lets the principal call the admin API; Attestor no longer maps it to a tenant, so every',
        'call it makes is refused with 403. To stop the calls themselves, remove its execute-api permission too.',
      ),
    )
    .action(async (tenantId: string, options: { principal: string; json?: boolean }, command: Command) => {
      checkRequest(command, (s) => s.revokeRoleSchema, { principal: options.principal }, { principal: '--principal' });
      const revoked = await adminClient(ctx, command).revokeRole(tenantId, options.principal);
      if (options.json) return void ctx.stdout.write(toJson(revoked));
      ctx.stdout.write(
        formatFields([
          ['tenant', revoked.tenantId],
          ['principal', revoked.principal],
          ['revoked role', revoked.role],
        ]),
      );
    });
}
