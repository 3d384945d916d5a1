/**
 * The CLI in-process (run() with injected argv, env and streams) against fake services, plus a
 * few runs of the real launcher to prove the process wiring: exit codes and stdout/stderr.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildProgram, run, type CliContext } from '../../packages/cli/src/main';
import {
  Capture,
  closedPort,
  startFakeServer,
  TEST_CREDENTIALS,
  verifyReceived,
  writeLocalCredentials,
  type FakeServer,
  type Received,
  type Reply,
} from './helpers';

const ROOT = resolve(__dirname, '../..');
let home: string;
let emptyHome: string;
let service: FakeServer;

/** A fake Attestor: admin routes (signature checked) plus the storage the upload URL points at. */
function fakeAttestor() {
  const uploads = new Map<string, { appId: string; version: string; objectKey: string; sha256?: string; size?: number; expireAfterSeconds?: number }>();
  const registrations = new Map<string, Record<string, unknown>>();
  let next = 0;
  return async (req: Received, server: { endpoint: string }): Promise<Reply> => {
    const path = req.url.split('?')[0]!;
    if (req.method === 'PUT' && path.startsWith('/storage/')) {
      const objectKey = decodeURIComponent(path.slice('/storage/'.length));
      const upload = [...uploads.values()].find((u) => u.objectKey === objectKey);
      if (!upload || Number(req.headers['content-length']) !== req.body.length)
        return { status: 403, text: '<Error><Code>SignatureDoesNotMatch</Code></Error>' };
      upload.sha256 = createHash('sha256').update(req.body).digest('hex');
      upload.size = req.body.length;
      return { status: 200 };
    }
    const verdict = await verifyReceived(req, TEST_CREDENTIALS);
    if (!verdict.ok) return { status: 403, json: { message: 'The request signature we calculated does not match the signature you provided.' } };
    let m = path.match(/^\/v1\/admin\/apps\/([^/]+)\/uploads$/);
    if (req.method === 'POST' && m) {
      const body = JSON.parse(req.body.toString()) as { version: string; size: number; expireAfterSeconds?: number };
      if (body.version === 'refused') return { status: 400, json: { error: 'invalid_request', field: 'version', message: 'version is refused by this fake' } };
      const uploadId = `upload-${String(++next).padStart(16, '0')}`;
      const objectKey = `builds/${m[1]}/${body.version}/${uploadId}`;
      uploads.set(uploadId, {
        appId: m[1]!,
        version: body.version,
        objectKey,
        ...(body.expireAfterSeconds ? { expireAfterSeconds: body.expireAfterSeconds } : {}),
      });
      return { status: 201, json: { uploadId, objectKey, uploadUrl: `${server.endpoint}/storage/${encodeURIComponent(objectKey)}`, urlExpiresAt: 0 } };
    }
    m = path.match(/^\/v1\/admin\/uploads\/([^/]+)$/);
    if (req.method === 'GET' && m) {
      const upload = uploads.get(m[1]!);
      if (!upload) return { status: 404, json: { error: 'not_found', message: 'no such upload' } };
      if (!upload.sha256) return { json: { uploadId: m[1], ...upload, status: 'pending' } };
      const key = `${upload.appId}/${upload.version}`;
      if (!registrations.has(key)) {
        registrations.set(key, {
          appId: upload.appId,
          version: upload.version,
          sha256: upload.sha256,
          size: upload.size,
          objectKey: upload.objectKey,
          registeredAt: 1_700_000_000,
          ...(upload.expireAfterSeconds ? { expiresAt: 1_700_000_000 + upload.expireAfterSeconds } : {}),
        });
      }
      const registration = registrations.get(key)!;
      if (registration['sha256'] !== upload.sha256) return { json: { uploadId: m[1], ...upload, status: 'rejected', reason: 'version_conflict' } };
      return { json: { uploadId: m[1], ...upload, status: 'registered', registration } };
    }
    m = path.match(/^\/v1\/admin\/apps\/([^/]+)\/registrations$/);
    if (req.method === 'GET' && m) {
      const list = [...registrations.values()].filter((r) => r['appId'] === m![1]);
      if (list.length === 0) return { status: 404, json: { error: 'not_found', message: `no app ${m[1]} in tenant default` } };
      return { json: { registrations: list } };
    }
    if (req.method === 'POST' && path === '/v1/admin/keys/rotate') {
      // A rotation that deleted one retired key and could not delete another.
      return {
        status: 201,
        json: {
          kid: 'kid-3',
          format: 'es256',
          activatesAt: 1_800_000_060,
          keysDeleted: ['kid-1'],
          keysNotDeleted: [{ kid: 'kid-0', reason: 'AccessDeniedException: not authorized' }],
        },
      };
    }
    if (req.method === 'GET' && path === '/v1/admin/keys/jwks') {
      return { json: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'kid-1', alg: 'ES256', use: 'sig' }] } };
    }
    return { status: 403, json: { message: 'Missing Authentication Token' } };
  };
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'attestor-cli-main-'));
  emptyHome = mkdtempSync(join(tmpdir(), 'attestor-cli-empty-'));
  writeLocalCredentials(home);
  service = await startFakeServer(fakeAttestor());
});
afterAll(async () => {
  await service.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(emptyHome, { recursive: true, force: true });
});
beforeEach(() => service.received.splice(0));

async function cli(argv: string[], overrides: Partial<CliContext> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await run({ argv, env: { ATTESTOR_HOME: home, ATTESTOR_ENDPOINT: service.endpoint }, cwd: home, stdout, stderr, ...overrides });
  return { code, stdout, stderr };
}

function build(name: string, bytes: Buffer): string {
  const path = join(home, name);
  writeFileSync(path, bytes);
  return path;
}

/** Every command path of the CLI, from the program itself: a new command cannot escape the help test. */
function commandPaths(): string[][] {
  const paths: string[][] = [];
  const walk = (command: ReturnType<typeof buildProgram>, path: string[]) => {
    paths.push(path);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram({ argv: [], env: {}, cwd: home, stdout: new Capture(), stderr: new Capture() }), []);
  return paths;
}

describe('help', () => {
  it('covers every command', () => {
    expect(commandPaths().map((p) => p.join(' '))).toEqual(
      expect.arrayContaining(['register', 'registrations list', 'apps remove', 'policy set', 'devices add', 'keys rotate', 'log', 'stats', 'tenants create']),
    );
  });

  it.each(commandPaths().map((p) => [p]))('%p --help prints usage with examples on stdout and exits 0', async (args) => {
    const { code, stdout, stderr } = await cli([...args, '--help']);
    expect(code).toBe(0);
    expect(stdout.text).toMatch(/^Usage: attestor/);
    expect(stdout.text).toMatch(/\nExamples:\n(?:[\s\S]*\n)? {2}\$ attestor /);
    expect(stderr.text).toBe('');
  });

  it('without a command prints help to stderr and exits 2', async () => {
    const { code, stdout } = await cli([]);
    expect(code).toBe(2);
    expect(stdout.text).toBe('');
  });
});

describe('usage errors exit 2 with one line and send nothing', () => {
  const file = () => build('u.apk', Buffer.from('x'));
  it.each([
    ['unknown command', () => ['regster'], /^error: unknown command 'regster' \(Did you mean register\?\); see `attestor --help`$/],
    ['missing --app', () => ['register', '--version', '1.0.0', file()], /^error: required option '--app <id>' not specified; see `attestor register --help`$/],
    [
      'bad app id',
      () => ['register', '--app', 'not an id', '--version', '1.0.0', file()],
      /argument 'not an id' is invalid: must be reverse-DNS style, e\.g\. com\.example\.app/,
    ],
    ['bad version', () => ['register', '--app', 'com.example.app', '--version', '1.0/evil', file()], /may contain only letters, digits and \. _ \+ -/],
    ['bad duration', () => ['register', '--app', 'com.example.app', '--version', '1.0.0', '--expire-after', '30', file()], /"30" is not a duration/],
    ['too short a duration', () => ['register', '--app', 'com.example.app', '--version', '1.0.0', '--expire-after', '30s', file()], /out of range/],
    [
      'bad device id',
      () => ['devices', 'remove', '--app', 'com.example.app', 'not-a-device'],
      new RegExp(
        "^error: command-argument value 'not-a-device' is invalid for argument 'deviceId': must be a device id: " +
          'an install key\'s did \\(43 base64url characters\\), or a debug secret\'s id \\("debug\\." then 22 base64url characters\\); ' +
          'see `attestor devices remove --help`$',
      ),
    ],
    ['missing file argument', () => ['register', '--app', 'com.example.app', '--version', '1.0.0'], /missing required argument 'file'/],
    ['extra argument', () => ['keys', 'jwks', 'extra'], /too many arguments/],
    ['bad endpoint', () => ['--endpoint', 'ftp://x', 'keys', 'jwks'], /must be an http or https URL/],
  ])('%s', async (_name, argv, message) => {
    const { code, stdout, stderr } = await cli(argv());
    expect(code).toBe(2);
    expect(stdout.text).toBe('');
    expect(stderr.lines).toHaveLength(1);
    expect(stderr.lines[0]).toMatch(message);
    expect(service.received).toHaveLength(0);
  });
});

describe('user and service errors exit 1 with one line', () => {
  it('a missing build file, before any request', async () => {
    const { code, stderr } = await cli(['register', '--app', 'com.example.app', '--version', '1.0.0', join(home, 'nope.apk')]);
    expect(code).toBe(1);
    expect(stderr.lines).toEqual([`error: ${join(home, 'nope.apk')}: no such file`]);
    expect(service.received).toHaveLength(0);
  });

  it('no local admin credential', async () => {
    const { code, stderr } = await cli(['keys', 'jwks'], { env: { ATTESTOR_HOME: emptyHome, ATTESTOR_ENDPOINT: service.endpoint } });
    expect(code).toBe(1);
    const looked = `no admin-credentials.json in ${emptyHome} (ATTESTOR_HOME)`;
    expect(stderr.lines).toEqual([`error: no local admin credential (${looked}): start the service with \`npm start\` in your project first`]);
  });

  it('an unreachable endpoint', async () => {
    const port = await closedPort();
    const { code, stdout, stderr } = await cli(['--endpoint', `http://localhost:${port}`, 'keys', 'jwks']);
    expect(code).toBe(1);
    expect(stdout.text).toBe('');
    expect(stderr.lines).toEqual([`error: cannot reach http://localhost:${port} (ECONNREFUSED): start the service with \`npm start\` or pass --endpoint`]);
  });

  it('a remote endpoint with no way to tell the region', async () => {
    const { code, stderr } = await cli(['--endpoint', 'https://attestor.example.com/prod', 'keys', 'jwks'], { env: { ATTESTOR_HOME: home } });
    expect(code).toBe(1);
    expect(stderr.lines).toEqual([
      'error: cannot tell the AWS region of https://attestor.example.com: set AWS_REGION to the region the service is deployed in',
    ]);
  });

  it('the service refusing a request prints its message', async () => {
    const { code, stderr } = await cli(['register', '--app', 'com.example.app', '--version', 'refused', build('r.apk', Buffer.from('x'))]);
    expect(code).toBe(1);
    expect(stderr.lines).toEqual(['error: the service refused POST (400): version is refused by this fake']);
  });

  it('a credential the service does not accept', async () => {
    const other = mkdtempSync(join(tmpdir(), 'attestor-cli-other-'));
    writeLocalCredentials(other, { ...TEST_CREDENTIALS, secretAccessKey: 'another-secret' });
    const { code, stderr } = await cli(['keys', 'jwks'], { env: { ATTESTOR_HOME: other, ATTESTOR_ENDPOINT: service.endpoint } });
    rmSync(other, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(stderr.lines).toHaveLength(1);
    expect(stderr.lines[0]).toMatch(
      /refused GET \(403\): The request signature .* set ATTESTOR_HOME to its data directory \(or create the tenant credential again\)$/,
    );
  });

  it('an unexpected failure is one line with a hint, and the stack only with ATTESTOR_DEBUG', async () => {
    const broken = (async () => undefined) as unknown as typeof fetch;
    const plain = await cli(['keys', 'jwks'], { fetch: broken });
    expect(plain.code).toBe(1);
    expect(plain.stderr.lines).toHaveLength(1);
    expect(plain.stderr.lines[0]).toMatch(/^error: unexpected failure \(TypeError: .*\); set ATTESTOR_DEBUG=1 to see the stack trace$/);
    const debug = await cli(['keys', 'jwks'], { fetch: broken, env: { ATTESTOR_HOME: home, ATTESTOR_ENDPOINT: service.endpoint, ATTESTOR_DEBUG: '1' } });
    expect(debug.stderr.text).toMatch(/TypeError[\s\S]*\n\s+at /);
  });
});

describe('a server that is not Attestor', () => {
  it('answering 404 is named as such, with what to check, in one line', async () => {
    // Prepare: a web server that knows no admin route.
    const web = await startFakeServer(async () => ({ status: 404, text: '<html><body>Not Found</body></html>' }));
    try {
      // Act
      const { code, stdout, stderr } = await cli(['--endpoint', web.endpoint, 'apps', 'list']);
      // Assess
      expect({ code, stdout: stdout.text }).toEqual({ code: 1, stdout: '' });
      expect(stderr.lines).toEqual([
        `error: the server at ${web.endpoint} answered 404 to GET /v1/admin/apps and does not look like an Attestor admin API: check --endpoint`,
      ]);
    } finally {
      await web.close();
    }
  });

  it("answering 405 with a JSON message of its own quotes it; the service's own 404 still reads as the service's", async () => {
    const other = await startFakeServer(async () => ({ status: 405, json: { message: 'Method Not Allowed' } }));
    try {
      const { stderr } = await cli(['--endpoint', other.endpoint, 'keys', 'jwks']);
      expect(stderr.lines).toEqual([
        `error: the server at ${other.endpoint} answered 405 (Method Not Allowed) to GET /v1/admin/keys/jwks and does not look like an Attestor admin API: ` +
          'check --endpoint',
      ]);
    } finally {
      await other.close();
    }
    const ours = await cli(['registrations', 'list', '--app', 'com.example.none']);
    expect(ours.stderr.lines).toEqual([expect.stringMatching(/^error: no app com\.example\.none in tenant default/)]);
  });

  it('answering a POST with 501 (a static web server) is named as not the admin API\'s own answer, with where to look', async () => {
    const web = await startFakeServer(async () => ({ status: 501, text: '<html><body>Unsupported method</body></html>' }));
    try {
      const { code, stderr } = await cli(['--endpoint', web.endpoint, 'apps', 'create', 'com.example.app']);
      expect(code).toBe(1);
      expect(stderr.lines).toEqual([
        `error: the server at ${web.endpoint} answered 501 to POST /v1/admin/apps without the admin API's error code: a gateway in front of the ` +
          "service (a function that crashed or timed out: see .attestor/logs/service.log) or another server at that address: check --endpoint, then try again",
      ]);
    } finally {
      await web.close();
    }
  });
});

describe('--version', () => {
  it("prints the CLI package's version and nothing else; `register --version` stays the app's version", async () => {
    // Prepare
    const { version } = JSON.parse(readFileSync(join(ROOT, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string };
    // Act
    const long = await cli(['--version']);
    const short = await cli(['-V']);
    const register = await cli(['register', '--app', 'com.example.app', '--version', '9.0.0', join(home, 'nope.apk')]);
    // Assess
    expect(long).toMatchObject({ code: 0, stdout: { text: `${version}\n` }, stderr: { text: '' } });
    expect(short.stdout.text).toBe(`${version}\n`);
    expect(register.stderr.lines).toEqual([`error: ${join(home, 'nope.apk')}: no such file`]);
    expect(service.received).toHaveLength(0);
  });
});

describe('keys jwks', () => {
  it('prints the JWKS and nothing else on stdout', async () => {
    const { code, stdout, stderr } = await cli(['keys', 'jwks']);
    expect(code).toBe(0);
    // The one sentence every place that hands out public keys says.
    expect(stderr.lines).toEqual([
      'note: in es256 mode anyone holding a token, the app included, can check it against these keys and so tell a decoy from a pass, and every token ' +
        'of a registered app names its tenant, so one attestation tells that an app id is registered',
    ]);
    expect(JSON.parse(stdout.text)).toEqual({ keys: [expect.objectContaining({ kid: 'kid-1', alg: 'ES256', use: 'sig' })] });
    const compact = await cli(['keys', 'jwks', '--json']);
    expect(compact.stdout.lines).toHaveLength(1);
    expect(JSON.parse(compact.stdout.text)).toEqual(JSON.parse(stdout.text));
  });
});

describe('remote endpoints', () => {
  it('sign with the AWS default chain, for the region in the execute-api host name, under the stage path', async () => {
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'], token: process.env['AWS_SESSION_TOKEN'] };
    // The chain reads the real process environment; environment credentials come first in it.
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIAREMOTETEST0001';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'remote-secret';
    process.env['AWS_SESSION_TOKEN'] = 'remote-session';
    const seen: Array<{ url: string; ok: boolean; reason?: string }> = [];
    const fakeFetch = (async (input: URL | RequestInfo, init?: RequestInit) => {
      const url = new URL(String(input));
      const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
      const verdict = await verifyReceived(
        { method: init?.method ?? 'GET', url: url.pathname + url.search, headers, body: Buffer.from((init?.body as string | undefined) ?? '') },
        { accessKeyId: 'AKIAREMOTETEST0001', secretAccessKey: 'remote-secret', sessionToken: 'remote-session', region: 'eu-west-1' },
      );
      seen.push({ url: url.href, ...verdict });
      return new Response(JSON.stringify({ keys: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    try {
      const { code, stdout, stderr } = await cli(['--endpoint', 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod', 'keys', 'jwks', '--json'], {
        env: {},
        fetch: fakeFetch,
      });
      expect(stderr.text).toBe('no es256 keys: this tenant signs hs256 tokens, verified with `attestor keys secret`\n');
      expect(code).toBe(0);
      expect(stdout.text).toBe('{"keys":[]}\n');
      expect(seen).toEqual([{ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/admin/keys/jwks', ok: true }]);
    } finally {
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret], ['AWS_SESSION_TOKEN', saved.token]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('register', () => {
  it('uploads, waits and prints the registration; the same build again prints the same', async () => {
    const bytes = randomBytes(64 * 1024);
    const path = build('app.apk', bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const args = ['register', '--app', 'com.example.app', '--version', '2.0.0', '--expire-after', '30d', '--note', 'first', path];
    const first = await cli(args);
    expect(first.stderr.text).not.toMatch(/error/);
    expect(first.code).toBe(0);
    expect(first.stdout.lines).toEqual([
      'app      com.example.app',
      'version  2.0.0',
      `size     ${bytes.length} bytes`,
      `sha256   ${sha256}`,
      `expires  ${new Date((1_700_000_000 + 30 * 86400) * 1000).toISOString().replace('.000Z', 'Z')}`,
    ]);
    // Not a terminal: plain progress lines on stderr, never on stdout.
    expect(first.stderr.lines[0]).toBe('uploading: 64.0 KiB');

    const again = await cli(args);
    expect(again.code).toBe(0);
    expect(again.stdout.text).toBe(first.stdout.text);
    expect(again.stderr.text).toMatch(/com\.example\.app 2\.0\.0 was already registered with this build; the registration is unchanged/);

    const json = await cli([...args, '--json']);
    expect(JSON.parse(json.stdout.text)).toMatchObject({ appId: 'com.example.app', version: '2.0.0', sha256, size: bytes.length });
  });

  it('a different build under a registered version is refused with exit 1, before any upload', async () => {
    await cli(['register', '--app', 'com.example.app', '--version', '3.0.0', build('a.apk', Buffer.from('a'))]);
    service.received.splice(0);
    const { code, stdout, stderr } = await cli(['register', '--app', 'com.example.app', '--version', '3.0.0', build('b.apk', Buffer.from('b'))]);
    expect(code).toBe(1);
    expect(stdout.text).toBe('');
    expect(stderr.lines).toEqual([
      expect.stringMatching(
        /^error: com\.example\.app 3\.0\.0 is already registered with a different build \(sha256 [0-9a-f]{12}…\): give the new build a new version$/,
      ),
    ]);
    expect(service.received.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/admin/apps/com.example.app/registrations']);
  });

  it('the service rejecting an upload after the fact (a concurrent other build) is exit 1 with the reason', async () => {
    // Two different builds of 4.0.0 race: both pass the check, the second is rejected by the service.
    const first = build('c.apk', Buffer.from('c'));
    const second = build('d.apk', Buffer.from('d'));
    const racing = cli(['register', '--app', 'com.example.app', '--version', '4.0.0', first]);
    const { code, stderr } = await cli(['register', '--app', 'com.example.app', '--version', '4.0.0', second], {
      // The check sees no registration yet: the first upload is still in flight.
      fetch: (async (input: URL | RequestInfo, init?: RequestInit) => {
        if (String(input).endsWith('/registrations')) await racing;
        if (String(input).endsWith('/registrations')) return new Response(JSON.stringify({ registrations: [] }), { status: 200 });
        return fetch(input, init);
      }) as typeof fetch,
    });
    expect(code).toBe(1);
    expect(stderr.lines.at(-1)).toMatch(/^error: the service rejected com\.example\.app 4\.0\.0 \(version_conflict\): .*new version$/);
  });
});

describe('register on a terminal', () => {
  it('shows hashing and uploading bars, then a waiting line it clears before the registration', async () => {
    // Prepare
    const stderr = new Capture(true);
    const path = build('tty.apk', randomBytes(32 * 1024));
    // Act
    const { code, stdout } = await cli(['register', '--app', 'com.example.tty', '--version', '1.0.0', path], { stderr });
    // Assess
    expect(code).toBe(0);
    expect(stdout.lines[0]).toBe('app      com.example.tty');
    const text = stderr.text;
    expect(text).toMatch(/hashing \[=+\] 100% \| 32\.0 KiB\/32\.0 KiB/);
    expect(text).toMatch(/uploading \[=+\] 100% \| 32\.0 KiB\/32\.0 KiB/);
    expect(text.indexOf('hashing [')).toBeLessThan(text.indexOf('uploading ['));
    expect(text).toContain('\r\x1b[2Kwaiting for the service to hash and register the build… 0 s');
    expect(text.endsWith('\r\x1b[2K')).toBe(true);
  });
});

describe('the launcher (packages/cli/bin/attestor.js)', () => {
  const spawnCli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun) => {
      execFile(
        process.execPath,
        [join(ROOT, 'packages/cli/bin/attestor.js'), ...args],
        { cwd: home, env: { PATH: process.env['PATH'], ATTESTOR_HOME: home, ...env } },
        (error, stdout, stderr) => resolveRun({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });

  it('runs --help with exit 0', async () => {
    const r = await spawnCli(['--help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Usage: attestor/);
  });

  it('exits 2 on a usage error with one line on stderr', async () => {
    const r = await spawnCli(['register', '--app', 'bad', '--version', '1', 'x.apk']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints its version with --version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string };
    expect(await spawnCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  /**
   * `attestor register` in a process of its own against `service`, sent SIGINT once `moment` settles
   * (the service resolves it when the request it waits for arrives): its exit code and stderr lines.
   */
  async function interruptedRegister(service: FakeServer, moment: Promise<void>, version: string): Promise<{ code: number | null; lines: string[] }> {
    const path = build(`interrupted-${version}.apk`, randomBytes(16 * 1024));
    const launcher = join(ROOT, 'packages/cli/bin/attestor.js');
    const child = execFile(process.execPath, [launcher, 'register', '--app', 'com.example.app', '--version', version, path], {
      cwd: home,
      env: { PATH: process.env['PATH'], ATTESTOR_HOME: home, ATTESTOR_ENDPOINT: service.endpoint },
    });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await moment;
      child.kill('SIGINT');
      const code = await exited;
      return { code, lines: stderr.split('\n').filter(Boolean) };
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  it('Ctrl-C during an upload says in one line that nothing was registered, and exits 130', async () => {
    // Prepare: storage that takes the bytes and never answers, and tells when it has them.
    let putArrived!: () => void;
    const arrived = new Promise<void>((r) => (putArrived = r));
    const answer = fakeAttestor();
    const stalled = await startFakeServer(async (req, server) => {
      if (req.method !== 'PUT') return answer(req, server);
      putArrived();
      return new Promise<Reply>(() => undefined);
    });
    try {
      // Act
      const { code, lines } = await interruptedRegister(stalled, arrived, '7.0.0');
      // Assess
      expect(code).toBe(130);
      expect(lines.at(-1)).toBe('error: interrupted before the upload finished: nothing was registered');
      expect(lines.filter((l) => l.startsWith('error:'))).toHaveLength(1);
      expect(stalled.received.filter((r) => r.url.includes('/registrations') && r.method === 'POST')).toEqual([]);
    } finally {
      await stalled.close();
    }
  });

  it('Ctrl-C once the upload is complete, while waiting, says the build may still be registered, and exits 130', async () => {
    // Prepare: a service that took the bytes and never settles the upload, and tells when it is first asked.
    let askedOnce!: () => void;
    const asked = new Promise<void>((r) => (askedOnce = r));
    const answer = fakeAttestor();
    const pending = await startFakeServer(async (req, server) => {
      const reply = await answer(req, server);
      if (req.method !== 'GET' || !/^\/v1\/admin\/uploads\/[^/]+$/.test(req.url)) return reply;
      askedOnce();
      return { json: { ...(reply.json as Record<string, unknown>), status: 'pending', registration: undefined } };
    });
    try {
      // Act
      const { code, lines } = await interruptedRegister(pending, asked, '7.1.0');
      // Assess
      expect(code).toBe(130);
      expect(lines.at(-1)).toBe('error: interrupted while waiting; the upload may still be registered: see `attestor registrations list`');
      expect(lines.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    } finally {
      await pending.close();
    }
  });

  it('exits 1 on an unreachable service with one line on stderr, and reads ATTESTOR_ENDPOINT', async () => {
    const port = await closedPort();
    const r = await spawnCli(['keys', 'jwks'], { ATTESTOR_ENDPOINT: `http://127.0.0.1:${port}` });
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot reach http://127.0.0.1:${port} (ECONNREFUSED): start the service with \`npm start\` or pass --endpoint\n`,
    });
  });
});

describe('keys rotate', () => {
  it('says which retired keys it destroyed, warns of those it could not and of what es256 gives away, still exiting 0', async () => {
    const { code, stdout, stderr } = await cli(['keys', 'rotate', '--format', 'es256']);
    expect(code).toBe(0);
    expect(stdout.lines).toEqual(['kid        kid-3', 'format     es256', 'activates  2027-01-15T08:01:00Z']);
    expect(stderr.lines.slice(1)).toEqual([
      'note: in es256 mode anyone holding a token, the app included, can check it against these keys and so tell a decoy from a pass, and every token ' +
        'of a registered app names its tenant, so one attestation tells that an app id is registered',
      'destroyed retired key kid-1 (hs256 secrets erased, es256 KMS keys deleted 30 days on)',
      'warning: retired key kid-0 could not be destroyed (AccessDeniedException: not authorized); the rotation itself succeeded, and the next one tries again',
    ]);
  });

  it('refuses an unknown format before sending anything', async () => {
    const { code, stderr } = await cli(['keys', 'rotate', '--format', 'rs256']);
    expect(code).toBe(2);
    expect(stderr.text).toMatch(/option '--format <format>' argument 'rs256' is invalid\. Allowed choices are hs256, es256/);
  });
});
