/**
 * The operating commands (apps, registrations, policy, devices, keys, log, stats, tenants) against a
 * real local cloud: SigV4 checked by the local gateway, the admin handlers, DynamoDB on dynalite,
 * S3 on s3rver. The CLI runs in-process through run() (the process wiring is covered by
 * cli.integration.test.ts); its fetch is counted, so "bad input changes nothing" is checked as
 * "no request was sent".
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { run, type CliContext } from '../../packages/cli/src/main';
import { jwkThumbprint } from '../../packages/verify/src/core/install-key';
import { attestBody, attestOnce, newInstallKey, post, type Device } from '../support/protocol-client';
import { Capture } from './helpers';

let dataDir: string;
let cloud: LocalCloud;
let requests = 0;
const countingFetch = ((input: URL | RequestInfo, init?: RequestInit) => {
  requests++;
  return fetch(input, init);
}) as typeof fetch;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-cli-operate-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  requests = 0;
});

interface Result {
  code: number;
  stdout: Capture;
  stderr: Capture;
  json<T = unknown>(): T;
}

async function cli(argv: string[], options: { env?: NodeJS.ProcessEnv; ctx?: Partial<CliContext> } = {}): Promise<Result> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await run({
    argv,
    env: { ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint, ...options.env },
    cwd: dataDir,
    stdout,
    stderr,
    fetch: countingFetch,
    ...options.ctx,
  });
  return { code, stdout, stderr, json: <T>() => JSON.parse(stdout.text) as T };
}

/** A failed run: the exit code, nothing on stdout, exactly one line on stderr. */
function expectFailure(result: Result, code: 1 | 2, message: RegExp | string): void {
  expect({ code: result.code, stdout: result.stdout.text }).toEqual({ code, stdout: '' });
  expect(result.stderr.lines).toHaveLength(1);
  if (typeof message === 'string') expect(result.stderr.lines[0]).toBe(message);
  else expect(result.stderr.lines[0]).toMatch(message);
}

function buildFile(name: string, bytes: Buffer): string {
  const path = join(dataDir, name);
  writeFileSync(path, bytes);
  return path;
}

async function register(appId: string, version: string, bytes: Buffer): Promise<void> {
  const r = await cli(['register', '--app', appId, '--version', version, buildFile(`${appId}-${version}.apk`, bytes)]);
  expect(r.stderr.text).not.toMatch(/error/);
  expect(r.code).toBe(0);
}

const now = () => Math.floor(Date.now() / 1000);
/** Waits for something the service or a running command does in its own time; jest's timeout bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20));
}

describe('apps', () => {
  const APP = 'com.example.apps';

  it('create makes an app, and again is harmless', async () => {
    const first = await cli(['apps', 'create', APP]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout.text).toBe(`created ${APP}\n`);
    const again = await cli(['apps', 'create', APP]);
    expect(again.code).toBe(0);
    expect(again.stdout.text).toMatch(new RegExp(`^${APP} already exists in your tenant \\(created \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\); nothing changed\\n$`));
  });

  it('list prints an aligned table, or JSON', async () => {
    const table = await cli(['apps', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout.lines[0]).toMatch(/^APP +CREATED$/);
    const row = table.stdout.lines.find((l) => l.startsWith(`${APP} `));
    expect(row).toMatch(new RegExp(`^${APP} +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    // Aligned: every row's second column starts where the header's does.
    const column = table.stdout.lines[0]!.indexOf('CREATED');
    for (const line of table.stdout.lines.slice(1)) expect(line.slice(column - 2, column)).toBe('  ');
    const json = await cli(['apps', 'list', '--json']);
    expect(json.json()).toEqual(expect.arrayContaining([{ appId: APP, createdAt: expect.any(Number) }]));
  });

  it('remove without --yes says what it would remove and removes nothing', async () => {
    await register(APP, '1.0.0', randomBytes(1000));
    const dry = await cli(['apps', 'remove', APP]);
    expectFailure(
      dry,
      1,
      `error: this removes ${APP} with 1 registration, 0 devices, its policy and identity, and its attestations fail from then on: ` +
        'run again with --yes to remove it',
    );
    expect((await cli(['registrations', 'list', '--app', APP, '--json'])).json()).toHaveLength(1);
  });

  it('remove --yes removes the app with its registrations', async () => {
    const removed = await cli(['apps', 'remove', APP, '--yes']);
    expect(removed.code).toBe(0);
    expect(removed.stdout.text).toBe(`removed ${APP} with 1 registration, 0 devices\n`);
    expect((await cli(['apps', 'list', '--json'])).json<Array<{ appId: string }>>().map((a) => a.appId)).not.toContain(APP);
    expectFailure(await cli(['apps', 'remove', APP, '--yes']), 1, `error: no app ${APP} in tenant default: \`attestor apps list\` shows your apps`);
  });

  it('a malformed app id is a usage error and sends nothing', async () => {
    const r = await cli(['apps', 'create', 'not_reverse_dns']);
    expectFailure(
      r,
      2,
      new RegExp(
        "^error: command-argument value 'not_reverse_dns' is invalid for argument 'appId': " +
          'must be reverse-DNS style, e\\.g\\. com\\.example\\.app; see `attestor apps create --help`$',
      ),
    );
    expect(requests).toBe(0);
  });
});

describe('registrations', () => {
  const APP = 'com.example.regs';
  const v1 = randomBytes(20_000);
  const v2 = randomBytes(30_000);

  beforeAll(async () => {
    await register(APP, '1.0.0', v1);
    await register(APP, '1.1.0', v2);
  });

  it('list shows version, size, SHA-256 and expiry, newest first', async () => {
    const r = await cli(['registrations', 'list', '--app', APP]);
    expect(r.code).toBe(0);
    expect(r.stdout.lines[0]).toMatch(/^VERSION +SIZE +SHA256 +REGISTERED +EXPIRES +NOTE$/);
    const rows = r.stdout.lines.slice(1).map((l) => l.split(/\s+/));
    expect(rows.map((cells) => cells.slice(0, 3)).sort()).toEqual([
      ['1.0.0', String(v1.length), createHash('sha256').update(v1).digest('hex')],
      ['1.1.0', String(v2.length), createHash('sha256').update(v2).digest('hex')],
    ]);
    expect(rows.map((cells) => cells[4])).toEqual(['never', 'never']);
    // Newest first (both may share a second, so only the order of the times is checked).
    const registered = rows.map((cells) => cells[3]!);
    expect([...registered].sort().reverse()).toEqual(registered);
    const json = await cli(['registrations', 'list', '--app', APP, '--json']);
    expect(json.json<unknown[]>().sort((a, b) => ((a as { version: string }).version < (b as { version: string }).version ? -1 : 1))).toEqual([
      expect.objectContaining({ appId: APP, version: '1.0.0', size: v1.length }),
      expect.objectContaining({ appId: APP, version: '1.1.0', size: v2.length, sha256: createHash('sha256').update(v2).digest('hex') }),
    ]);
  });

  it('expire --after sets the expiry from now; --after now expires at once', async () => {
    const week = await cli(['registrations', 'expire', '--app', APP, '--version', '1.0.0', '--after', '7d', '--json']);
    expect(week.code).toBe(0);
    expect(Math.abs(week.json<{ expiresAt: number }>().expiresAt - (now() + 7 * 86400))).toBeLessThan(300);
    const human = await cli(['registrations', 'expire', '--app', APP, '--version', '1.0.0', '--after', 'now']);
    expect(human.code).toBe(0);
    expect(human.stdout.lines).toEqual(
      expect.arrayContaining([`app      ${APP}`, 'version  1.0.0', expect.stringMatching(/^expires  \d{4}-\d\d-\d\dT[\d:]+Z$/)]),
    );
    const listed = (await cli(['registrations', 'list', '--app', APP, '--json'])).json<Array<{ version: string; expiresAt?: number }>>();
    expect(Math.abs(listed.find((r) => r.version === '1.0.0')!.expiresAt! - now())).toBeLessThan(300);
  });

  it.each([
    ['a bare number', ['--after', '30'], /"30" is not a duration/],
    ['too long', ['--after', '3651d'], /out of range/],
    ['a missing --after', [], /required option '--after <duration>' not specified/],
  ])('expire refuses %s with exit 2 and sends nothing', async (_name, extra, message) => {
    const r = await cli(['registrations', 'expire', '--app', APP, '--version', '1.0.0', ...extra]);
    expectFailure(r, 2, message);
    expect(requests).toBe(0);
  });

  it('remove deletes one registration and prints it', async () => {
    const r = await cli(['registrations', 'remove', '--app', APP, '--version', '1.1.0']);
    expect(r.code).toBe(0);
    expect(r.stdout.lines).toContain('version  1.1.0');
    expect(r.stderr.text).toBe(`removed ${APP} 1.1.0; attestations of this build fail within 30 s\n`);
    expect((await cli(['registrations', 'list', '--app', APP, '--json'])).json<Array<{ version: string }>>().map((x) => x.version)).toEqual(['1.0.0']);
    expectFailure(
      await cli(['registrations', 'remove', '--app', APP, '--version', '1.1.0']),
      1,
      `error: no registration of ${APP} 1.1.0: \`attestor registrations list --app ID\` shows the registered versions`,
    );
  });

  it('unknown apps and bad versions fail with one line', async () => {
    expectFailure(
      await cli(['registrations', 'list', '--app', 'com.example.nope']),
      1,
      'error: no app com.example.nope in tenant default: `attestor apps list` shows your apps',
    );
    requests = 0;
    expectFailure(await cli(['registrations', 'remove', '--app', APP, '--version', '1.0/0']), 2, /may contain only letters, digits and \. _ \+ -/);
    expect(requests).toBe(0);
  });
});

describe('policy', () => {
  const APP = 'com.example.policy';
  beforeAll(async () => {
    expect((await cli(['apps', 'create', APP])).code).toBe(0);
  });
  const policyNow = async () => (await cli(['policy', 'get', '--app', APP, '--json'])).json<Record<string, unknown>>();

  const DEFAULT_LINES = [
    `app                    ${APP}`,
    'reject                 hooked',
    'allow                  rooted, emulator, debugger',
    'min-sdk                any',
    'measurement            require',
    'hardware-ios           off',
    'hardware-android       off',
    'other-platforms        allow',
    'min-security-level     tee',
    'require-verified-boot  yes',
    'min-patch-level        any',
    'app-attest-env         production',
    'remember-days          30',
  ];
  const REJECT_HOOKED = { rooted: false, emulator: false, debugger: false, hooked: true };
  const DEFAULT_HARDWARE = {
    ios: 'off',
    android: 'off',
    otherPlatforms: 'allow',
    minAndroidSecurityLevel: 'tee',
    requireVerifiedBoot: true,
    appAttestEnvironments: ['production'],
    rememberDays: 30,
  };

  it('get prints the default policy, hardware and measurement included', async () => {
    const r = await cli(['policy', 'get', '--app', APP]);
    expect(r.code).toBe(0);
    expect(r.stdout.lines).toEqual(DEFAULT_LINES);
    expect(await policyNow()).toEqual({ reject: { ...REJECT_HOOKED }, hardware: DEFAULT_HARDWARE, measurement: 'require' });
  });

  it('set changes what it names and keeps the rest', async () => {
    const r = await cli(['policy', 'set', '--app', APP, '--reject', 'rooted,emulator']);
    expect(r.code).toBe(0);
    expect(r.stdout.lines.slice(0, 4)).toEqual([
      `app                    ${APP}`,
      'reject                 rooted, emulator, hooked',
      'allow                  debugger',
      'min-sdk                any',
    ]);
    expect((await cli(['policy', 'set', '--app', APP, '--allow', 'hooked', '--min-sdk', '1.2.0'])).code).toBe(0);
    const reject = { rooted: true, emulator: true, debugger: false, hooked: false };
    expect(await policyNow()).toEqual({ reject, minSdkVersion: '1.2.0', hardware: DEFAULT_HARDWARE, measurement: 'require' });
    const cleared = await cli(['policy', 'set', '--app', APP, '--no-min-sdk', '--json']);
    expect(cleared.json()).toEqual({ reject, hardware: DEFAULT_HARDWARE, measurement: 'require' });
  });

  it('set changes hardware settings one by one, keeping the others, and get shows them', async () => {
    const r = await cli(['policy', 'set', '--app', APP, '--hardware-android', 'require', '--min-security-level', 'strongbox', '--min-patch-level', '2024-06']);
    expect(r.code).toBe(0);
    expect(r.stdout.lines.slice(4)).toEqual([
      'measurement            require',
      'hardware-ios           off',
      'hardware-android       require',
      'other-platforms        allow',
      'min-security-level     strongbox',
      'require-verified-boot  yes',
      'min-patch-level        2024-06',
      'app-attest-env         production',
      'remember-days          30',
    ]);
    const more = ['--hardware-ios', 'prefer', '--app-attest-env', 'production,development', '--remember-days', '7', '--no-require-verified-boot', '--json'];
    expect((await cli(['policy', 'set', '--app', APP, ...more])).json()).toMatchObject({
      hardware: {
        ...DEFAULT_HARDWARE,
        ios: 'prefer',
        android: 'require',
        minAndroidSecurityLevel: 'strongbox',
        minAndroidPatchLevel: 202406,
        requireVerifiedBoot: false,
        appAttestEnvironments: ['production', 'development'],
        rememberDays: 7,
      },
    });
    expect((await policyNow())['hardware']).toMatchObject({ minAndroidPatchLevel: 202406 });
    const anyPatch = await cli(['policy', 'set', '--app', APP, '--no-min-patch-level', '--json']);
    expect(anyPatch.json<{ hardware: object }>().hardware).not.toHaveProperty('minAndroidPatchLevel');
  });

  it('measurement off is taken with every platform requiring hardware, and refused otherwise naming --measurement', async () => {
    const before = await policyNow();
    expectFailure(
      await cli(['policy', 'set', '--app', APP, '--measurement', 'off']),
      2,
      /^error: option '--measurement' may be off only when hardware\.ios and hardware\.android are require and hardware\.otherPlatforms is refuse/,
    );
    expect(await policyNow()).toEqual(before);
    const everywhere = ['--hardware-ios', 'require', '--hardware-android', 'require', '--other-platforms', 'refuse'];
    const ok = await cli(['policy', 'set', '--app', APP, '--measurement', 'off', ...everywhere, '--json']);
    expect(ok.json()).toMatchObject({ measurement: 'off', hardware: { ios: 'require', android: 'require', otherPlatforms: 'refuse' } });
    const back = ['--measurement', 'require', '--other-platforms', 'allow', '--hardware-ios', 'off', '--hardware-android', 'off'];
    expect((await cli(['policy', 'set', '--app', APP, ...back])).code).toBe(0);
  });

  it.each([
    [
      "a token lifetime, which is the deployment's now",
      ['--token-ttl', '10m'],
      new RegExp(
        '^error: --token-ttl is no longer a policy setting: ' +
          'every token of a deployment lives as long \\(tokenTtl of the stack, ATTESTOR_TOKEN_TTL_SECONDS locally\\)',
      ),
    ],
    ['an unknown signal', ['--reject', 'jailbroken'], /"jailbroken" is not a signal: use rooted, emulator, debugger, hooked/],
    [
      'a signal both rejected and allowed',
      ['--reject', 'rooted', '--allow', 'rooted,hooked'],
      'error: rooted cannot be both rejected and allowed; see `attestor policy set --help`',
    ],
    ['a malformed SDK version', ['--min-sdk', 'latest'], /must be a version such as 1\.2\.0/],
    [
      'nothing to change',
      [],
      'error: nothing to change: give --reject, --allow, --min-sdk, --no-min-sdk, --measurement or a hardware option such as --hardware-android; ' +
        'see `attestor policy set --help`',
    ],
    [
      'an unknown hardware mode',
      ['--hardware-ios', 'always'],
      /^error: option '--hardware-ios <mode>' argument 'always' is invalid\. Allowed choices are off, prefer, require; see `attestor policy set --help`$/,
    ],
    ['an unknown security level', ['--min-security-level', 'tpm'], /Allowed choices are software, tee, strongbox/],
    ['a patch level with a day', ['--min-patch-level', '2024-06-05'], /must be a year and month, YYYYMM or YYYY-MM, e\.g\. 202406/],
    ['a patch level month 13', ['--min-patch-level', '202413'], /must be a year and month, YYYYMM or YYYY-MM/],
    ['an unknown App Attest environment', ['--app-attest-env', 'sandbox'], /"sandbox" is not an App Attest environment: use production, development/],
    ['remember-days 0', ['--remember-days', '0'], /must be a whole number from 1 to 365/],
    ['an unknown measurement mode', ['--measurement', 'maybe'], /Allowed choices are require, off/],
  ])('set refuses %s with exit 2, sends nothing and changes nothing', async (_name, extra, message) => {
    const before = await policyNow();
    requests = 0;
    expectFailure(await cli(['policy', 'set', '--app', APP, ...extra]), 2, message);
    expect(requests).toBe(0);
    expect(await policyNow()).toEqual(before);
  });

  it('an unknown app fails with one line', async () => {
    expectFailure(await cli(['policy', 'get', '--app', 'com.example.none']), 1, /^error: no app com\.example\.none in tenant default/);
  });
});

describe('apps identity', () => {
  const APP = 'com.example.identity';
  const DIGEST = '3fa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f';
  const KEYTOOL = DIGEST.toUpperCase().match(/../g)!.join(':');
  const SECOND = 'b'.repeat(64);
  beforeAll(async () => {
    expect((await cli(['apps', 'create', APP])).code).toBe(0);
  });
  const identityNow = async () => (await cli(['apps', 'identity', 'get', '--app', APP, '--json'])).json<Record<string, unknown>>();

  it('get shows none for each platform until set, and {} as JSON', async () => {
    const r = await cli(['apps', 'identity', 'get', '--app', APP]);
    expect(r.code).toBe(0);
    expect(r.stdout.lines).toEqual([`app      ${APP}`, 'ios      none', 'android  none']);
    expect(await identityNow()).toEqual({});
  });

  it('set writes each platform, keeps what it does not name, and stores keytool digests as hex', async () => {
    const ios = await cli(['apps', 'identity', 'set', '--app', APP, '--ios-team', 'ABCDE12345', '--ios-bundle', 'com.example.identity']);
    expect(ios.code).toBe(0);
    expect(ios.stdout.lines).toEqual([`app         ${APP}`, 'ios team    ABCDE12345', 'ios bundle  com.example.identity', 'android     none']);
    const androidOptions = ['--android-package', 'com.example.identity', '--android-cert', KEYTOOL, '--android-cert', SECOND];
    androidOptions.push('--android-min-version-code', '120');
    const android = await cli(['apps', 'identity', 'set', '--app', APP, ...androidOptions]);
    expect(android.code).toBe(0);
    expect(android.stdout.lines).toEqual([
      `app                      ${APP}`,
      'ios team                 ABCDE12345',
      'ios bundle               com.example.identity',
      'android package          com.example.identity',
      `android certificate      ${DIGEST}`,
      `android certificate      ${SECOND}`,
      'android min versionCode  120',
    ]);
    // One part of a platform changes, the rest stays.
    expect((await cli(['apps', 'identity', 'set', '--app', APP, '--ios-bundle', 'com.example.identity.beta', '--no-android-min-version-code'])).code).toBe(0);
    expect(await identityNow()).toEqual({
      ios: { teamId: 'ABCDE12345', bundleId: 'com.example.identity.beta' },
      android: { packageName: 'com.example.identity', signingCertificates: [DIGEST, SECOND] },
    });
  });

  it('--android-cert replaces the list; --clear-ios and --clear-android remove a platform', async () => {
    expect((await cli(['apps', 'identity', 'set', '--app', APP, '--android-cert', SECOND])).code).toBe(0);
    expect(((await identityNow())['android'] as { signingCertificates: string[] }).signingCertificates).toEqual([SECOND]);
    const cleared = await cli(['apps', 'identity', 'set', '--app', APP, '--clear-ios', '--json']);
    expect(cleared.json()).toEqual({ android: { packageName: 'com.example.identity', signingCertificates: [SECOND] } });
    expect((await cli(['apps', 'identity', 'set', '--app', APP, '--clear-android', '--json'])).json()).toEqual({});
    expect(await identityNow()).toEqual({});
  });

  it.each<[string, string[], RegExp | string]>([
    [
      'a lower-case team id',
      ['--ios-team', 'abcde12345'],
      /^error: option '--ios-team <id>' argument 'abcde12345' is invalid: must be an Apple Team ID: 10 upper-case letters and digits/,
    ],
    ['a bundle id with a space', ['--ios-bundle', 'com.example app'], /must be a bundle id: letters, digits, hyphens and dots/],
    ['a one-part package name', ['--android-package', 'identity'], /must be an Android package name: two or more dot-separated parts/],
    [
      'a SHA-1 digest',
      ['--android-cert', 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01'],
      /must be a SHA-256 certificate digest: 64 hex characters, or 32 colon-separated hex bytes/,
    ],
    ['a negative versionCode', ['--android-min-version-code', '-1'], /must be a whole number from 0 to 2100000000/],
    ['--clear-ios with --ios-team', ['--clear-ios', '--ios-team', 'ABCDE12345'], /^error: option '--clear-ios' cannot be used with option '--ios-team <id>'/],
    [
      'nothing to change',
      [],
      /^error: nothing to change: give --ios-team\/--ios-bundle, --android-package\/--android-cert\/--android-min-version-code, --clear-ios or --clear/,
    ],
  ])('set refuses %s with exit 2, sends nothing and changes nothing', async (_name, extra, message) => {
    const before = await identityNow();
    requests = 0;
    expectFailure(await cli(['apps', 'identity', 'set', '--app', APP, ...extra]), 2, message);
    expect(requests).toBe(0);
    expect(await identityNow()).toEqual(before);
  });

  it.each<[string, string[], string]>([
    [
      'half an iOS identity',
      ['--ios-team', 'ABCDE12345'],
      `error: ${APP} has no iOS identity yet: give both --ios-team and --ios-bundle; see \`attestor apps identity set --help\``,
    ],
    [
      'a package without a certificate',
      ['--android-package', 'com.example.identity'],
      `error: ${APP} has no Android identity yet: give --android-package and at least one --android-cert; see \`attestor apps identity set --help\``,
    ],
  ])('set refuses %s for a platform not registered yet, after reading it, and writes nothing', async (_name, extra, message) => {
    expect(await identityNow()).toEqual({});
    expectFailure(await cli(['apps', 'identity', 'set', '--app', APP, ...extra]), 2, message);
    expect(await identityNow()).toEqual({});
  });

  it('the same certificate twice is refused naming --android-cert', async () => {
    expectFailure(
      await cli(['apps', 'identity', 'set', '--app', APP, '--android-package', 'com.example.identity', '--android-cert', KEYTOOL, '--android-cert', DIGEST]),
      2,
      /^error: option '--android-cert' must not list a certificate twice/,
    );
    expect(await identityNow()).toEqual({});
  });

  it('an app not in your tenant fails with one line that says what to do', async () => {
    const unknown = await cli(['apps', 'identity', 'get', '--app', 'com.example.none']);
    expectFailure(unknown, 1, /^error: no app com\.example\.none in tenant default: `attestor apps list` shows your apps$/);
  });
});

describe('devices', () => {
  const APP = 'com.example.devices';
  const genuine = randomBytes(5000);
  // A thumbprint that does not start with '-' (one in 64 does; the test below takes one of those).
  const installKey = (() => {
    for (;;) {
      const key = newInstallKey();
      if (!jwkThumbprint(key.jwk).startsWith('-')) return key;
    }
  })();
  const thumbprint = jwkThumbprint(installKey.jwk);
  let secret = '';

  beforeAll(async () => {
    await register(APP, '2.0.0', genuine);
  });

  it('add --debug prints a debug secret once, and says it is shown only now', async () => {
    const r = await cli(['devices', 'add', '--app', APP, '--debug', '--note', 'GitHub Actions']);
    expect(r.code).toBe(0);
    const fields = Object.fromEntries(r.stdout.lines.map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ')).trim()]));
    expect(fields).toEqual({
      device: expect.stringMatching(/^debug\.[\w-]{22}$/),
      kind: 'debug',
      note: 'GitHub Actions',
      added: expect.any(String),
      secret: expect.stringMatching(/^[\w-]{43}$/),
    });
    expect(r.stderr.text).toBe('store the debug secret now (e.g. as a CI secret): it is not shown again\n');
    secret = fields['secret']!;
  });

  it('the debug secret lets an install of a build that is not registered pass', async () => {
    const tampered = Buffer.concat([genuine, Buffer.from('repackaged')]);
    const response = await attestOnce(cloud.endpoint, {
      appId: APP,
      appVersion: '2.0.0',
      packageBytes: tampered,
      key: newInstallKey(),
      extra: { debugSecret: secret },
    });
    expect(response.status).toBe(200);
    const entries = (await cli(['log', '--app', APP, '--json'])).stdout.lines.map((l) => JSON.parse(l) as { outcome: string; reasons: string[] });
    expect(entries).toEqual([expect.objectContaining({ outcome: 'debug', reasons: ['measurement_mismatch'] })]);
  });

  it('add allow-lists an install key by its thumbprint', async () => {
    const r = await cli(['devices', 'add', '--app', APP, thumbprint, '--note', 'QA Pixel 8', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ deviceId: thumbprint, kind: 'install', did: thumbprint, note: 'QA Pixel 8', createdAt: expect.any(Number) });
    expectFailure(await cli(['devices', 'add', '--app', APP, thumbprint]), 1, `error: install key ${thumbprint} is already allow-listed`);
  });

  it('list shows the devices and never a secret', async () => {
    const r = await cli(['devices', 'list', '--app', APP]);
    expect(r.code).toBe(0);
    expect(r.stdout.lines[0]).toMatch(/^DEVICE +KIND +ADDED +NOTE$/);
    expect(r.stdout.lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 2))).toEqual(
      expect.arrayContaining([
        [thumbprint, 'install'],
        [expect.stringMatching(/^debug\./), 'debug'],
      ]),
    );
    const json = await cli(['devices', 'list', '--app', APP, '--json']);
    expect(r.stdout.text + json.stdout.text).not.toContain(secret);
    expect(json.json()).toHaveLength(2);
  });

  it.each([
    [
      'neither a thumbprint nor --debug',
      [],
      'error: give either a thumbprint (allow-list an install key) or --debug (create a debug secret); see `attestor devices add --help`',
    ],
    // After `--`: a thumbprint may start with '-' (1 in 64), which commander would take for an option.
    ['both', ['--debug', '--', jwkThumbprint(newInstallKey().jwk)], /give either a thumbprint .* or --debug/],
    ['a malformed thumbprint', ['abc'], /must be base64url of 32 bytes \(43 characters\)/],
    ['a note over 500 characters', ['--debug', '--note', 'n'.repeat(501)], /must be at most 500 characters/],
  ])('add refuses %s with exit 2 and sends nothing', async (_name, extra, message) => {
    expectFailure(await cli(['devices', 'add', '--app', APP, ...extra]), 2, message);
    expect(requests).toBe(0);
  });

  it('takes a device id that starts with "-" after --, and says so when it is given without', async () => {
    // Prepare: an install key whose thumbprint starts with '-', as one in 64 does.
    let key = newInstallKey();
    while (!jwkThumbprint(key.jwk).startsWith('-')) key = newInstallKey();
    const dashed = jwkThumbprint(key.jwk);
    // Act
    const bare = await cli(['devices', 'add', '--app', APP, dashed]);
    const separated = await cli(['devices', 'add', '--app', APP, '--', dashed]);
    const removed = await cli(['devices', 'remove', '--app', APP, '--', dashed]);
    // Assess
    expectFailure(bare, 2, `error: ${dashed} is a device id, not an option: put -- before it (\`attestor devices add --app APP -- ${dashed}\`)`);
    expect(separated.code).toBe(0);
    expect(removed.code).toBe(0);
  });

  it('remove takes a device off the list', async () => {
    const r = await cli(['devices', 'remove', '--app', APP, thumbprint]);
    expect(r.code).toBe(0);
    expect(r.stdout.text).toBe(`removed install device ${thumbprint} from ${APP}\n`);
    expect((await cli(['devices', 'list', '--app', APP, '--json'])).json()).toHaveLength(1);
    expectFailure(
      await cli(['devices', 'remove', '--app', APP, thumbprint]),
      1,
      `error: no device ${thumbprint} for ${APP}: \`attestor devices list --app ID\` shows the devices`,
    );
    requests = 0;
    expectFailure(await cli(['devices', 'remove', '--app', APP, 'not-a-device']), 2, /is invalid for argument 'deviceId': must be a device id: /);
    expect(requests).toBe(0);
  });
});

describe('log and stats', () => {
  const APP = 'com.example.log';
  const genuine = randomBytes(8000);
  const hooked: Device = { platform: 'android', osVersion: '14', model: 'Pixel 8', signals: { rooted: false, emulator: false, debugger: false, hooked: true } };

  beforeAll(async () => {
    await register(APP, '3.0.0', genuine);
    for (const options of [
      { packageBytes: genuine },
      { packageBytes: Buffer.concat([genuine, Buffer.from('x')]) },
      { packageBytes: genuine, appVersion: '9.9.9', extra: { device: hooked } },
    ]) {
      const response = await attestOnce(cloud.endpoint, { appId: APP, appVersion: '3.0.0', key: newInstallKey(), ...options });
      expect(response.status).toBe(200);
    }
    // A replay: a nonce the service never issued, for the registered app.
    const replay = attestBody({ nonce: randomBytes(32).toString('base64url'), appId: APP, appVersion: '3.0.0', packageBytes: genuine, key: newInstallKey() });
    expect((await post(cloud.endpoint, '/v1/attest', replay)).status).toBe(409);
  });

  it('log shows time, outcome, app, version, device and reasons', async () => {
    const r = await cli(['log', '--app', APP]);
    expect(r.code).toBe(0);
    expect(r.stdout.lines[0]).toMatch(/^TIME +OUTCOME +APP +VERSION +DEVICE +MODEL +REASONS$/);
    const rows = r.stdout.lines.slice(1).map((l) => l.split(/\s{2,}/));
    expect(rows).toHaveLength(3);
    expect(rows.map((cells) => [cells[1], cells[3], cells[6]]).sort()).toEqual([
      ['fail', '3.0.0', 'measurement_mismatch'],
      ['fail', '9.9.9', 'version_unknown,device_hooked'],
      ['pass', '3.0.0', '-'],
    ]);
    for (const cells of rows) {
      expect(cells[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(cells[4]).toMatch(/^[\w-]{43}$/);
    }
    expect(rows.find((c) => c[3] === '9.9.9')![5]).toBe('Pixel 8 (android 14, SDK 1.0.0)');
  });

  it('--failed, --limit, --since and --json narrow and shape it', async () => {
    const failed = await cli(['log', '--app', APP, '--failed', '--json']);
    expect(failed.code).toBe(0);
    const entries = failed.stdout.lines.map((l) => JSON.parse(l) as { outcome: string; appId: string; jti: string });
    expect(entries.map((e) => e.outcome)).toEqual(['fail', 'fail']);
    expect(entries.every((e) => e.appId === APP && typeof e.jti === 'string')).toBe(true);
    expect((await cli(['log', '--app', APP, '--limit', '1', '--json'])).stdout.lines).toHaveLength(1);
    expect((await cli(['log', '--app', APP, '--since', '1h', '--json'])).stdout.lines).toHaveLength(3);
  });

  it('stats counts outcomes and reasons over the window', async () => {
    const json = await cli(['stats', '--app', APP, '--window', '1h', '--json']);
    expect(json.code).toBe(0);
    expect(json.json()).toEqual({
      windowSeconds: 3600,
      since: expect.any(Number),
      total: 3,
      byOutcome: { pass: 1, fail: 2, debug: 0, allowlisted: 0 },
      byReason: { measurement_mismatch: 1, version_unknown: 1, device_hooked: 1 },
      nonceInvalid: 1,
    });
    const human = await cli(['stats', '--app', APP]);
    expect(human.stdout.lines.slice(0, 7)).toEqual([
      expect.stringMatching(/^window +1h \(since \d{4}-\d\d-\d\dT[\d:]+Z\)$/),
      'total        3',
      'pass         1',
      'fail         2',
      'debug        0',
      'allowlisted  0',
      'replays      1 (nonce_invalid: refused, no token, not in total)',
    ]);
    expect(human.stdout.lines.slice(7)).toEqual([
      'REASON                COUNT',
      'device_hooked             1',
      'measurement_mismatch      1',
      'version_unknown           1',
    ]);
  });

  it('log --follow prints new attestations as they come, each once, until interrupted', async () => {
    const interrupt = new AbortController();
    const stdout = new Capture();
    const stderr = new Capture();
    const following = run({
      argv: ['log', '--app', APP, '--follow', '--json'],
      env: { ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint },
      cwd: dataDir,
      stdout,
      stderr,
      fetch: countingFetch,
      signal: interrupt.signal,
      followIntervalMs: 50,
    });
    await until(() => stdout.lines.length >= 3);
    const more = await attestOnce(cloud.endpoint, { appId: APP, appVersion: '3.0.0', packageBytes: genuine, key: newInstallKey() });
    expect(more.status).toBe(200);
    await until(() => stdout.lines.length >= 4);
    // A few more polls, which must not print anything again.
    const polled = requests;
    await until(() => requests >= polled + 3);
    interrupt.abort();
    expect(await following).toBe(130);
    const jtis = stdout.lines.map((l) => (JSON.parse(l) as { jti: string }).jti);
    expect(jtis).toHaveLength(4);
    expect(new Set(jtis).size).toBe(4);
    expect(stderr.text).toBe('');
  });

  it('log --follow --failed prints only new failures, never the passes in between', async () => {
    const interrupt = new AbortController();
    const stdout = new Capture();
    const following = run({
      argv: ['log', '--app', APP, '--follow', '--failed', '--json'],
      env: { ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint },
      cwd: dataDir,
      stdout,
      stderr: new Capture(),
      fetch: countingFetch,
      signal: interrupt.signal,
      followIntervalMs: 50,
    });
    await until(() => stdout.lines.length >= 2);
    expect((await attestOnce(cloud.endpoint, { appId: APP, appVersion: '3.0.0', packageBytes: genuine, key: newInstallKey() })).status).toBe(200);
    expect((await attestOnce(cloud.endpoint, { appId: APP, appVersion: '3.0.1', packageBytes: genuine, key: newInstallKey() })).status).toBe(200);
    await until(() => stdout.lines.length >= 3);
    const polled = requests;
    await until(() => requests >= polled + 3);
    interrupt.abort();
    expect(await following).toBe(130);
    const entries = stdout.lines.map((l) => JSON.parse(l) as { outcome: string; appVersion: string });
    expect(entries.map((e) => e.outcome)).toEqual(['fail', 'fail', 'fail']);
    expect(entries[2]!.appVersion).toBe('3.0.1');
  });

  it('log --builds shows builds the service refused', async () => {
    // An object under builds/ that no upload issued: the register function refuses it as unknown_upload.
    const objectKey = `builds/${APP}/6.6.6/${'A'.repeat(22)}`;
    await cloud.services.clients.s3().send(new PutObjectCommand({ Bucket: cloud.config.buildsBucket, Key: objectKey, Body: Buffer.from('stray') }));
    await cloud.settled();
    const r = await cli(['log', '--builds']);
    expect(r.code).toBe(0);
    expect(r.stdout.lines[0]).toMatch(/^TIME +REASON +APP +VERSION +SIZE +OBJECT$/);
    expect(r.stdout.lines.some((l) => l.includes('unknown_upload') && l.endsWith(objectKey))).toBe(true);
  });

  it.each([
    ['--limit 0', ['log', '--limit', '0'], /must be a whole number from 1 to 1000/],
    ['--since without a unit', ['log', '--since', '5'], /"5" is not a duration/],
    ['--builds with --app', ['log', '--builds', '--app', APP], /option '--builds' cannot be used with option '--app <id>'/],
    ['a stats window over 30 days', ['stats', '--window', '31d'], /out of range: windows are 1m to 30d/],
  ])('%s is a usage error and sends nothing', async (_name, argv, message) => {
    expectFailure(await cli(argv), 2, message);
    expect(requests).toBe(0);
  });

  it("stats --authorizer adds what the tenant's authorizer did over the window, and refuses a window its series do not cover", async () => {
    // Prepare: the demo route (enforce mode) lets a genuine token in once and denies a forged one.
    const genuineToken = await attestOnce(cloud.endpoint, { appId: APP, appVersion: '3.0.0', key: newInstallKey(), packageBytes: genuine });
    const hello = (headers: Record<string, string>) => fetch(`${cloud.endpoint}/demo/hello`, { headers }).then((r) => r.status);
    expect([await hello({ 'Attestor-Token': genuineToken.body['token'] as string }), await hello({ 'Attestor-Token': 'forged' })]).toEqual([200, 403]);
    // Act
    const json = await cli(['stats', '--app', APP, '--authorizer', '--json']);
    const human = await cli(['stats', '--app', APP, '--authorizer']);
    const tooLong = await cli(['stats', '--authorizer', '--window', '2d']);
    // Assess
    expect(json.json()).toMatchObject({ authorizer: { allowed: 1, denied: 1, would_deny: 0, unavailable: 0 } });
    expect(json.json()).not.toHaveProperty('series');
    expect(human.stdout.lines.slice(-5)).toEqual([
      'AUTHORIZER VERDICT  COUNT',
      'allowed                 1',
      'denied                  1',
      'would_deny              0',
      'unavailable             0',
    ]);
    expect({ code: tooLong.code, stderr: tooLong.stderr.lines }).toEqual({
      code: 2,
      stderr: ['error: --authorizer counts windows of up to 1d: pass --window 24h or less; see `attestor stats --help`'],
    });
  });
});

describe('tenants', () => {
  const savedPath = () => join(dataDir, 'credentials', 'acme.json');

  it('create saves the new tenant credential (mode 0600) and never prints the secret', async () => {
    const r = await cli(['tenants', 'create', 'acme']);
    expect(r.code).toBe(0);
    const saved = JSON.parse(readFileSync(savedPath(), 'utf8')) as { tenantId: string; accessKeyId: string; secretAccessKey: string };
    expect(saved).toEqual({
      tenantId: 'acme',
      role: 'admin',
      accessKeyId: expect.any(String),
      secretAccessKey: expect.any(String),
      region: expect.any(String),
    });
    expect(statSync(savedPath()).mode & 0o777).toBe(0o600);
    expect(r.stdout.lines).toEqual([
      'tenant      acme',
      expect.stringMatching(/^created     \d{4}-/),
      `principals  arn:aws:iam::000000000000:user/attestor/${saved.accessKeyId} (admin)`,
      `credential  ${savedPath()} (access key ${saved.accessKeyId})`,
    ]);
    expect(r.stderr.text).toBe('act as this tenant with --tenant acme (or ATTESTOR_TENANT=acme)\n');
    expect(r.stdout.text + r.stderr.text).not.toContain(saved.secretAccessKey);
  });

  it('create refuses, before any request, to overwrite a saved credential', async () => {
    expectFailure(
      await cli(['tenants', 'create', 'acme']),
      1,
      `error: a credential is already saved in ${savedPath()}: move it away, or pass --save-to FILE to save tenant acme's elsewhere`,
    );
    expect(requests).toBe(0);
  });

  it('create of an existing tenant fails with one line and saves nothing', async () => {
    const other = join(dataDir, 'other.json');
    expectFailure(await cli(['tenants', 'create', 'acme', '--save-to', other]), 1, 'error: tenant acme exists');
    expect(existsSync(other)).toBe(false);
  });

  it('list shows every tenant', async () => {
    const r = await cli(['tenants', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout.lines[0]).toMatch(/^TENANT +CREATED +PRINCIPALS$/);
    expect(r.stdout.lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['acme', 'default']);
    expect((await cli(['tenants', 'list', '--json'])).json()).toEqual([
      expect.objectContaining({ tenantId: 'acme' }),
      expect.objectContaining({ tenantId: 'default', principals: [expect.stringContaining(cloud.adminCredentials.accessKeyId)] }),
    ]);
  });

  it('--tenant, ATTESTOR_TENANT and --credentials act as the tenant, which sees only its own apps', async () => {
    expect((await cli(['--tenant', 'acme', 'apps', 'create', 'com.acme.app'])).code).toBe(0);
    const viaEnv = await cli(['apps', 'list', '--json'], { env: { ATTESTOR_TENANT: 'acme' } });
    expect(viaEnv.json()).toEqual([{ appId: 'com.acme.app', createdAt: expect.any(Number) }]);
    const viaFile = await cli(['--credentials', savedPath(), 'apps', 'list', '--json']);
    expect(viaFile.json()).toEqual(viaEnv.json());
    const operator = await cli(['apps', 'list', '--json']);
    expect(operator.json<Array<{ appId: string }>>().map((a) => a.appId)).not.toContain('com.acme.app');
    // Another tenant's app is reported exactly like a missing one.
    expectFailure(await cli(['--tenant', 'acme', 'registrations', 'list', '--app', 'com.example.regs']), 1, /^error: no app com\.example\.regs in tenant acme/);
    expectFailure(
      await cli(['apps', 'create', 'com.acme.app']),
      1,
      'error: app com.acme.app belongs to another tenant: app ids are global; choose another one',
    );
  });

  it('a tenant rotates its own keys: the new key is published at once and signs from its activation', async () => {
    const before = (await cli(['--tenant', 'acme', 'keys', 'list', '--json'])).json<Array<{ kid: string; status: string }>>();
    expect(before.map((k) => k.status)).toEqual(['active']);
    const rotated = await cli(['--tenant', 'acme', 'keys', 'rotate']);
    expect(rotated.code).toBe(0);
    const kid = rotated.stdout.lines[0]!.split(/\s+/)[1]!;
    expect(rotated.stdout.lines[1]).toBe('format     hs256');
    expect(rotated.stdout.lines[2]).toMatch(/^activates  \d{4}-/);
    const after = await cli(['--tenant', 'acme', 'keys', 'list']);
    expect(after.stdout.lines[0]).toMatch(/^KID +FORMAT +STATUS +CREATED +ACTIVATES +RETIRES$/);
    expect(after.stdout.lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      [kid, 'hs256', 'pending'],
      [before[0]!.kid, 'hs256', 'active'],
    ]);
    // Verifiers are handed both secrets (and no public key): the current one and the next.
    const secrets = await cli(['--tenant', 'acme', 'keys', 'secret', '--json']);
    expect(secrets.code).toBe(0);
    expect(secrets.json<{ keys: Array<{ kid: string; status: string; kty: string; k: string }> }>().keys.map((k) => [k.kid, k.status, k.kty])).toEqual([
      [before[0]!.kid, 'active', 'oct'],
      [kid, 'pending', 'oct'],
    ]);
    const jwks = await cli(['--tenant', 'acme', 'keys', 'jwks', '--json']);
    expect(jwks.json()).toEqual({ keys: [] });
    expect(jwks.stderr.lines).toEqual(['no es256 keys: this tenant signs hs256 tokens, verified with `attestor keys secret`']);
    // The operator's own tenant is untouched.
    expect((await cli(['keys', 'list', '--json'])).json<Array<{ kid: string }>>().map((k) => k.kid)).not.toContain(kid);
  });

  it('a second rotation within the hour fails with one line saying when to retry, and creates nothing', async () => {
    const before = (await cli(['--tenant', 'acme', 'keys', 'list', '--json'])).json<unknown[]>();
    const again = await cli(['--tenant', 'acme', 'keys', 'rotate']);
    expectFailure(
      again,
      1,
      /^error: keys of tenant acme were rotated at [\dT:-]+Z: one rotation an hour, try again after [\dT:-]+Z \(in \d+ min\)$/,
    );
    expect((await cli(['--tenant', 'acme', 'keys', 'list', '--json'])).json<unknown[]>()).toHaveLength(before.length);
  });

  it('operator-only commands, unknown tenants and conflicting options fail with one line', async () => {
    expectFailure(
      await cli(['--tenant', 'acme', 'tenants', 'list']),
      1,
      'error: only an operator credential may call GET /v1/admin/tenants: run it with the operator credential (without --tenant or --credentials)',
    );
    requests = 0;
    expectFailure(
      await cli(['--tenant', 'ghost', 'apps', 'list']),
      1,
      `error: no saved credential for tenant ghost in ${join(dataDir, 'credentials')}: create it with \`attestor tenants create ghost\` or pass ` +
        `--credentials FILE`,
    );
    expectFailure(await cli(['--tenant', 'bad tenant', 'apps', 'list']), 2, /must be 1 to 64 letters, digits, _ or -/);
    expectFailure(await cli(['--tenant', 'acme', '--credentials', savedPath(), 'apps', 'list']), 2, /cannot be used with/);
    expectFailure(
      await cli(['apps', 'list'], { env: { ATTESTOR_TENANT: 'bad tenant' } }),
      1,
      'error: ATTESTOR_TENANT must be 1 to 64 letters, digits, _ or -: fix or unset it',
    );
    expectFailure(
      await cli(['--credentials', join(dataDir, 'missing.json'), 'apps', 'list']),
      1,
      /^error: cannot read credential file .*missing\.json \(ENOENT\): check the path given to --credentials$/,
    );
    expectFailure(await cli(['tenants', 'create', 'globex', '--principal', 'alice']), 2, /option '--principal' must be an IAM user or role ARN/);
    expect(requests).toBe(0);
  });
});
