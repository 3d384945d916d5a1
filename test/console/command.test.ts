/** `attestor console` as a command: its options, and failures reported in one line that says what to do. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../packages/cli/src/main';
import { Capture, closedPort, startFakeServer, writeLocalCredentials, type FakeServer } from '../cli/helpers';
import { startConsole } from './support';

let home: string;
let admin: FakeServer;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'attestor-console-command-'));
  writeLocalCredentials(home);
  admin = await startFakeServer(() => ({ json: { apps: [] } }));
});
afterAll(async () => {
  await admin.close();
  rmSync(home, { recursive: true, force: true });
});

async function consoleCli(args: string[], endpoint = admin.endpoint): Promise<{ code: number; stdout: Capture; stderr: Capture }> {
  const stdout = new Capture();
  const stderr = new Capture();
  // A console that does start (it should not, in these tests) is stopped rather than left serving until jest's timeout.
  const interrupt = new AbortController();
  const stop = setTimeout(() => interrupt.abort(), 5000);
  const env = { ATTESTOR_HOME: home, ATTESTOR_ENDPOINT: endpoint };
  const code = await run({ argv: ['console', '--no-open', ...args], env, cwd: home, stdout, stderr, signal: interrupt.signal });
  clearTimeout(stop);
  return { code, stdout, stderr };
}

describe('attestor console', () => {
  it('--help names its options and how the link protects the session', async () => {
    const stdout = new Capture();
    expect(await run({ argv: ['console', '--help'], env: {}, cwd: home, stdout, stderr: new Capture() })).toBe(0);
    expect(stdout.text).toContain('--port <port>');
    expect(stdout.text).toContain('--interval <duration>');
    expect(stdout.text).toContain('--no-open');
    expect(stdout.text).toContain('carries a token for this session');
  });

  it('a port in use is one line that says what to do, and nothing is printed on stdout', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const r = await consoleCli(['--port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stdout.text).toBe('');
      expect(r.stderr.lines).toEqual([`error: port ${port} on 127.0.0.1 is in use: choose another with --port, or leave --port out for a free one`]);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('a service that cannot be reached is reported before any server starts', async () => {
    const port = await closedPort();
    const r = await consoleCli([], `http://127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.stdout.text).toBe('');
    expect(r.stderr.lines).toHaveLength(1);
    expect(r.stderr.lines[0]).toMatch(new RegExp(`^error: cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): start the service`));
  });

  it('bad option values are usage errors (exit 2)', async () => {
    expect((await consoleCli(['--port', '70000'])).code).toBe(2);
    expect((await consoleCli(['--interval', '0s'])).code).toBe(2);
    expect((await consoleCli(['--interval', '10m'])).code).toBe(2);
  });

  it('with a free port it prints the link, and stops at Ctrl-C with exit code 0', async () => {
    const started = await startConsole({ ATTESTOR_HOME: home, ATTESTOR_ENDPOINT: admin.endpoint }, home);
    expect(started.stdout.lines).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/)]);
    expect(await started.stop()).toBe(0);
    expect(started.stderr.lines.at(-1)).toBe('console stopped');
  });
});
