/**
 * Principal roles end to end on a real local cloud (docs/ADMIN_API.md §1.2, docs/CLI.md "Roles"):
 * the operator mints a register-only credential with `attestor tenants grant`, which registers a
 * build through `attestor register` (SigV4 checked by the local gateway, the upload through s3rver,
 * the register function hashing it) and is refused everything an admin may do besides; a read-only
 * credential reads and changes nothing; and a principal's role can be changed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { type CliRun, runCliAgainst } from './helpers';

const APP = 'com.acme.ci';
let dataDir: string;
let cloud: LocalCloud;
let registerFile: string;
let readFile: string;
let registerPrincipal: string;

type Result = CliRun;

async function cli(argv: string[]): Promise<Result> {
  return runCliAgainst(cloud.endpoint, dataDir, argv);
}

/** A failed run: exit 1, nothing on stdout, exactly one line on stderr. */
function expectOneLineFailure(result: Result, message: RegExp): void {
  expect({ code: result.code, stdout: result.stdout.text }).toEqual({ code: 1, stdout: '' });
  expect(result.stderr.lines).toHaveLength(1);
  expect(result.stderr.lines[0]).toMatch(message);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-cli-roles-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
  expect((await cli(['tenants', 'create', 'acme'])).code).toBe(0);
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a register-only credential', () => {
  test('the operator mints it locally with tenants grant, saved 0600 beside the tenant credential', async () => {
    // Act
    const granted = await cli(['tenants', 'grant', 'acme', '--role', 'register', '--json']);

    // Assess
    expect(granted.code).toBe(0);
    const grant = granted.json<{ tenantId: string; principal: string; role: string; credentialFile: string; accessKeyId: string }>();
    expect(grant).toEqual({
      tenantId: 'acme',
      principal: `arn:aws:iam::000000000000:user/attestor/${grant.accessKeyId}`,
      role: 'register',
      credentialFile: join(dataDir, 'credentials', 'acme.register.json'),
      accessKeyId: expect.stringMatching(/^AKLOCAL/),
    });
    expect(granted.stdout.text).not.toContain('secretAccessKey');
    expect(statSync(grant.credentialFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(grant.credentialFile, 'utf8'))).toMatchObject({ tenantId: 'acme', role: 'register', accessKeyId: grant.accessKeyId });
    registerFile = grant.credentialFile;
    registerPrincipal = grant.principal;
  });

  test('registers a build end to end through attestor register', async () => {
    // Prepare
    const bytes = randomBytes(50_000);
    const build = join(dataDir, 'app-release.apk');
    writeFileSync(build, bytes);

    // Act
    const registered = await cli(['--credentials', registerFile, 'register', '--app', APP, '--version', '1.0.0', '--json', build]);

    // Assess
    expect(registered.stderr.text).not.toMatch(/error/);
    expect(registered.code).toBe(0);
    expect(registered.json()).toMatchObject({ appId: APP, version: '1.0.0', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    // The tenant's admin sees it: the build went into acme's app.
    const listed = await cli(['--tenant', 'acme', 'registrations', 'list', '--app', APP, '--json']);
    expect(listed.json<Array<{ version: string }>>().map((r) => r.version)).toEqual(['1.0.0']);
  });

  test('registering the same build again is harmless (the registrations read a register credential may do)', async () => {
    const again = await cli(['--credentials', registerFile, 'register', '--app', APP, '--version', '1.0.0', '--json', join(dataDir, 'app-release.apk')]);
    expect(again.code).toBe(0);
    expect(again.json()).toMatchObject({ appId: APP, version: '1.0.0' });
  });

  test('is refused rotating keys and removing the app, with one line naming the role and how to get it', async () => {
    // Prepare
    const keysBefore = (await cli(['--tenant', 'acme', 'keys', 'list', '--json'])).json<unknown[]>();

    // Act
    const rotate = await cli(['--credentials', registerFile, 'keys', 'rotate']);
    const remove = await cli(['--credentials', registerFile, 'apps', 'remove', APP, '--yes']);

    // Assess
    const how =
      'use a credential with role admin \\(--credentials FILE, --tenant ID or AWS_PROFILE\\); ' +
      '`attestor tenants grant acme --role admin` makes a local credential with it';
    expectOneLineFailure(
      rotate,
      new RegExp(`^error: POST /v1/admin/keys/rotate needs role admin; principal ${registerPrincipal} has role register in tenant acme: ${how}$`),
    );
    expectOneLineFailure(
      remove,
      new RegExp(`^error: DELETE /v1/admin/apps/\\{appId\\} needs role admin; principal \\S+ has role register in tenant acme: ${how}$`),
    );
    // Nothing changed.
    expect((await cli(['--tenant', 'acme', 'keys', 'list', '--json'])).json<unknown[]>()).toEqual(keysBefore);
    expect((await cli(['--tenant', 'acme', 'apps', 'list', '--json'])).json<Array<{ appId: string }>>().map((a) => a.appId)).toEqual([APP]);
  });

  test('is refused reads beyond its builds, and the operator routes', async () => {
    expectOneLineFailure(await cli(['--credentials', registerFile, 'apps', 'list']), /^error: GET \/v1\/admin\/apps needs role read or admin; /);
    expectOneLineFailure(await cli(['--credentials', registerFile, 'policy', 'get', '--app', APP]), /needs role read or admin; /);
    expectOneLineFailure(
      await cli(['--credentials', registerFile, 'tenants', 'list']),
      /^error: only an operator credential may call GET \/v1\/admin\/tenants: run it with the operator credential/,
    );
  });
});

describe('a read-only credential', () => {
  test('reads, and is refused registering a build and every change', async () => {
    // Prepare
    const granted = await cli(['tenants', 'grant', 'acme', '--role', 'read', '--json']);
    readFile = granted.json<{ credentialFile: string }>().credentialFile;
    const build = join(dataDir, 'read.apk');
    writeFileSync(build, randomBytes(1000));

    // Act
    const apps = await cli(['--credentials', readFile, 'apps', 'list', '--json']);
    const registrations = await cli(['--credentials', readFile, 'registrations', 'list', '--app', APP, '--json']);
    const register = await cli(['--credentials', readFile, 'register', '--app', APP, '--version', '2.0.0', build]);
    const expire = await cli(['--credentials', readFile, 'registrations', 'expire', '--app', APP, '--version', '1.0.0', '--after', 'now']);

    // Assess
    expect(apps.json<Array<{ appId: string }>>().map((a) => a.appId)).toEqual([APP]);
    expect(registrations.json<unknown[]>()).toHaveLength(1);
    expectOneLineFailure(register, /^error: POST \/v1\/admin\/apps\/\{appId\}\/uploads needs role register or admin; .*--role register` makes/);
    expectOneLineFailure(expire, /needs role admin; /);
  });
});

describe('changing a role', () => {
  test('tenants list shows each principal with its role', async () => {
    const tenants = (await cli(['tenants', 'list', '--json'])).json<Array<{ tenantId: string; roles: Record<string, string> }>>();
    const roles = Object.values(tenants.find((t) => t.tenantId === 'acme')!.roles).sort();
    expect(roles).toEqual(['admin', 'read', 'register']);
    expect((await cli(['tenants', 'list'])).stdout.text).toContain(`${registerPrincipal} (register)`);
  });

  test('the operator promotes the register principal to admin, and it may then rotate keys', async () => {
    // Act
    const promoted = await cli(['tenants', 'grant', 'acme', '--principal', registerPrincipal, '--role', 'admin']);
    const rotate = await cli(['--credentials', registerFile, 'keys', 'rotate', '--json']);

    // Assess
    expect(promoted.code).toBe(0);
    expect(promoted.stdout.text).toMatch(/^role +admin \(was register\)$/m);
    expect(rotate.code).toBe(0);
    expect(rotate.json()).toMatchObject({ kid: expect.any(String) });
  });

  test('the operator revokes the read principal: its next call is refused, and it is gone from the list', async () => {
    // Prepare
    const before = await cli(['--credentials', readFile, 'apps', 'list', '--json']);
    const readPrincipal = (JSON.parse(readFileSync(readFile, 'utf8')) as { accessKeyId: string }).accessKeyId;
    const tenants = (await cli(['tenants', 'list', '--json'])).json<Array<{ tenantId: string; principals: string[] }>>();
    const principal = tenants.find((t) => t.tenantId === 'acme')!.principals.find((p) => p.endsWith(readPrincipal))!;

    // Act
    const revoked = await cli(['tenants', 'revoke', 'acme', '--principal', principal]);
    const after = await cli(['--credentials', readFile, 'apps', 'list', '--json']);
    const again = await cli(['tenants', 'revoke', 'acme', '--principal', principal]);

    // Assess
    expect(before.code).toBe(0);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout.text).toMatch(/^revoked role +read$/m);
    expectOneLineFailure(after, /^error: this credential has no access to any tenant/);
    expectOneLineFailure(again, /^error: principal \S+ does not administer tenant acme/);
    const listed = (await cli(['tenants', 'list', '--json'])).json<Array<{ tenantId: string; principals: string[] }>>();
    expect(listed.find((t) => t.tenantId === 'acme')!.principals).not.toContain(principal);
    // A usage error: exit 2, one line, nothing sent.
    const malformed = await cli(['tenants', 'revoke', 'acme', '--principal', 'not-an-arn']);
    expect({ code: malformed.code, stdout: malformed.stdout.text, lines: malformed.stderr.lines.length }).toEqual({ code: 2, stdout: '', lines: 1 });
    expect(malformed.stderr.lines[0]).toMatch(/^error: option '--principal' must be an IAM user or role ARN/);
  });

  test('a tenant admin may not grant roles, and a principal of another tenant is not taken over', async () => {
    expectOneLineFailure(
      await cli(['--tenant', 'acme', 'tenants', 'grant', 'acme', '--role', 'admin']),
      /^error: only an operator credential may call POST \/v1\/admin\/tenants\/\{tenantId\}\/principals/,
    );
    expect((await cli(['tenants', 'create', 'globex'])).code).toBe(0);
    expectOneLineFailure(
      await cli(['tenants', 'grant', 'globex', '--principal', registerPrincipal, '--role', 'read']),
      /^error: principal \S+ already administers another tenant/,
    );
  });
});
