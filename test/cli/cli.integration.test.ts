/**
 * The CLI as operators run it (node packages/cli/bin/attestor.js, a separate process) against a real local cloud:
 * local admin credential from ATTESTOR_HOME, SigV4 checked by the local gateway, upload to s3rver,
 * registration by the register handler on the S3 event.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { createVerifier } from '../../packages/verify/src/index';
import { attestOnce, newInstallKey } from '../support/protocol-client';
import { closedPort } from './helpers';

const BIN = resolve(__dirname, '../../packages/cli/bin/attestor.js');
const APP = 'com.example.cli';

let dataDir: string;
let emptyHome: string;
let cloud: LocalCloud;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-cli-it-'));
  emptyHome = mkdtempSync(join(tmpdir(), 'attestor-cli-it-empty-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(emptyHome, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Asynchronous on purpose: the local cloud serves from this process's event loop. */
function attestor(args: string[], env: NodeJS.ProcessEnv = { ATTESTOR_HOME: dataDir }): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dataDir, env: { PATH: process.env['PATH'], ...env } }, (error, stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

/** Waits for a child process to get somewhere; jest's timeout bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20));
}

const stderrLines = (run: Run) => run.stderr.split('\n').filter(Boolean);

async function storedBuilds(): Promise<number> {
  const listed = await cloud.services.clients.s3().send(new ListObjectsV2Command({ Bucket: cloud.config.buildsBucket, Prefix: 'builds/' }));
  return listed.KeyCount ?? 0;
}

describe('attestor CLI against the local cloud', () => {
  const bytes = randomBytes(200 * 1024 + 3);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let buildPath: string;
  let firstOutput: string;

  beforeAll(() => {
    buildPath = join(dataDir, 'app-release.apk');
    writeFileSync(buildPath, bytes);
  });

  it('registers a build and prints its SHA-256, size and expiry', async () => {
    const run = await attestor(['--endpoint', cloud.endpoint, 'register', '--app', APP, '--version', '1.0.0', '--expire-after', '30d', buildPath]);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const fields = Object.fromEntries(run.stdout.trim().split('\n').map((line) => line.split(/\s+/, 2) as [string, string]));
    expect(fields).toEqual({
      app: APP,
      version: '1.0.0',
      size: String(bytes.length),
      sha256,
      expires: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    const expires = Date.parse(fields['expires']!);
    expect(Math.abs(expires - (Date.now() + 30 * 86400 * 1000))).toBeLessThan(5 * 60 * 1000);
    firstOutput = run.stdout;
  });

  it('registering the same build again prints the same registration', async () => {
    const run = await attestor(['--endpoint', cloud.endpoint, 'register', '--app', APP, '--version', '1.0.0', buildPath]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(firstOutput);
    expect(run.stderr).toMatch(/already registered with this build/);
  });

  it('keys jwks prints only the JWKS on stdout (empty for an hs256 tenant) and says why on stderr', async () => {
    const run = await attestor(['keys', 'jwks'], { ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint });
    expect(run).toMatchObject({ code: 0, stderr: 'no es256 keys: this tenant signs hs256 tokens, verified with `attestor keys secret`\n' });
    expect(JSON.parse(run.stdout)).toEqual({ keys: [] });
    expect(JSON.parse(run.stdout)).toEqual(await cloud.services.tenantKeys().jwks(cloud.config.defaultTenantId));
  });

  it('without a local admin credential exits 1 with one line', async () => {
    const run = await attestor(['--endpoint', cloud.endpoint, 'keys', 'jwks'], { ATTESTOR_HOME: emptyHome });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const looked = `no admin-credentials.json in ${emptyHome} (ATTESTOR_HOME)`;
    expect(stderrLines(run)).toEqual([`error: no local admin credential (${looked}): start the service with \`npm start\` in your project first`]);
  });

  it('an unreachable endpoint exits 1 with one line', async () => {
    const port = await closedPort();
    const run = await attestor(['--endpoint', `http://127.0.0.1:${port}`, 'register', '--app', APP, '--version', '1.0.1', buildPath]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(stderrLines(run)).toEqual([`error: cannot reach http://127.0.0.1:${port} (ECONNREFUSED): start the service with \`npm start\` or pass --endpoint`]);
  });

  it('log --follow prints new attestations until Ctrl-C, then exits 130 (docs/CLI.md) without an error line', async () => {
    const child = spawn(process.execPath, [BIN, 'log', '--app', APP, '--follow', '--interval', '1s'], {
      cwd: dataDir,
      env: { PATH: process.env['PATH'], ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      await until(() => stderr.includes('Ctrl-C stops'));
      expect(stderr).toBe('following (no attestations yet); Ctrl-C stops\n');

      const response = await attestOnce(cloud.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: bytes, key: newInstallKey() });
      expect(response.status).toBe(200);
      await until(() => stdout.split('\n').filter(Boolean).length >= 2);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stderr).toBe('following (no attestations yet); Ctrl-C stops\n');
    } finally {
      // A failed expectation above must not leave the follower running after the suite.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    const lines = stdout.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^TIME +OUTCOME +APP +VERSION +DEVICE +MODEL +REASONS$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^\\d{4}-[\\d-]+T[\\d:]+Z  pass  +${APP.replace(/\./g, '\\.')}  1\\.0\\.0 `))]);
  });

  it('keys secret prints secrets that verify the tenant\'s tokens with attestor/verify, unwrapped through KMS', async () => {
    // Act
    const run = await attestor(['keys', 'secret', '--json'], { ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint });
    // Assess
    expect(run.code).toBe(0);
    const set = JSON.parse(run.stdout) as { keys: Array<{ kty: string; alg: string; k: string; status: string }> };
    expect(set.keys).toEqual([expect.objectContaining({ kty: 'oct', alg: 'HS256', status: 'active' })]);
    expect(Buffer.from(set.keys[0]!.k, 'base64url')).toHaveLength(32);
    const token = (await attestOnce(cloud.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: readFileSync(buildPath), key: newInstallKey() })).body[
      'token'
    ] as string;
    await expect(createVerifier({ issuer: 'attestor', secrets: set as never }).verify(token)).resolves.toMatchObject({ sub: APP });
    // The table form says what the secrets are for, on stderr, so stdout stays the secrets alone.
    const table = await attestor(['keys', 'secret'], { ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint });
    expect(table.stdout.split('\n')[0]).toMatch(/^KID +STATUS +ACTIVATES +RETIRES +SECRET \(base64url\)$/);
    expect(table.stderr).toBe('these secrets verify and mint tokens: keep them in a secret store\n');
  });

  it('a bad app id is refused before anything is uploaded', async () => {
    const before = await storedBuilds();
    const run = await attestor(['--endpoint', cloud.endpoint, 'register', '--app', 'not-reverse-dns', '--version', '1.0.2', buildPath]);
    expect([1, 2]).toContain(run.code);
    expect(run.stdout).toBe('');
    expect(stderrLines(run)).toHaveLength(1);
    expect(run.stderr).toMatch(/reverse-DNS/);
    await cloud.settled();
    expect(await storedBuilds()).toBe(before);
  });
});
