/**
 * `npm start` and the CLI as a user meets them, with real service processes: the CLI finds the
 * running service from anywhere inside the project, whatever its port, and says where it looked
 * when it finds none or finds a service that died; a start refused for a busy port, a data
 * directory another instance serves, or a data directory that is a file, writes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { attestor, refusedStart, startService, type RunningService } from '../support/local-process';

let base: string;
let project: string;
let service: RunningService;
const others: RunningService[] = [];

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'attestor-local-start-'));
  project = join(base, 'project');
  mkdirSync(join(project, 'app', 'src'), { recursive: true });
  service = await startService(project);
}, 60_000);

afterAll(async () => {
  for (const s of [service, ...others]) await s?.stop();
  rmSync(base, { recursive: true, force: true });
});

/** Path, size and modification time of every file under `dir`: what a refused start must leave as it was. */
function filesOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => `${f} ${statSync(f).size} ${statSync(f).mtimeMs}`)
    .sort();
}

describe('the CLI finds the running service', () => {
  it('from a subdirectory of the project, on the port the service chose, with no ATTESTOR_* set', async () => {
    const cwd = join(project, 'app', 'src');
    const created = await attestor(['apps', 'create', 'com.example.found'], cwd);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const listed = await attestor(['apps', 'list', '--json'], cwd);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ appId: 'com.example.found' })]);
    // And its KMS, from the same state file: the secrets unwrap.
    const secrets = await attestor(['keys', 'secret', '--json'], cwd);
    expect(secrets.code).toBe(0);
    expect((JSON.parse(secrets.stdout) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
  });

  it('the tenants created from a subdirectory are saved in the project\'s .attestor/, and --tenant finds them there', async () => {
    const cwd = join(project, 'app');
    expect(await attestor(['tenants', 'create', 'acme'], cwd)).toMatchObject({ code: 0 });
    expect(existsSync(join(project, '.attestor', 'credentials', 'acme.json'))).toBe(true);
    expect(existsSync(join(cwd, '.attestor'))).toBe(false);
    expect(await attestor(['--tenant', 'acme', 'apps', 'list'], join(project, 'app', 'src'))).toMatchObject({ code: 0 });
  });

  it('outside any project, says where it looked and what to do, in one line', async () => {
    const outside = mkdtempSync(join(base, 'elsewhere-'));
    // Nothing above the temporary directory may hold a .attestor/ for this to be "outside".
    for (let d = base; dirname(d) !== d; d = dirname(d)) expect(existsSync(join(dirname(d), '.attestor'))).toBe(false);
    const result = await attestor(['apps', 'list'], outside);
    const looked = `no .attestor/admin-credentials.json in ${outside} or any directory above it`;
    const stderr = `error: no local admin credential (${looked}): start the service with \`npm start\` in your project first\n`;
    expect(result).toEqual({ code: 1, stdout: '', stderr });
  });

  it('ATTESTOR_HOME overrides the search', async () => {
    const result = await attestor(['apps', 'list'], join(project, 'app'), { ATTESTOR_HOME: join(base, 'nowhere') });
    const looked = `no admin-credentials.json in ${join(base, 'nowhere')} (ATTESTOR_HOME)`;
    expect(result.stderr).toBe(`error: no local admin credential (${looked}): start the service with \`npm start\` in your project first\n`);
  });
});

describe('a start that cannot run writes nothing', () => {
  it('on a busy port: says so, and the other instance\'s data and the new data directory are as they were', async () => {
    const before = filesOf(join(project, '.attestor'));
    const port = new URL(service.endpoint).port;
    const home = join(base, 'second');
    const refused = await refusedStart(project, { PORT: port, ATTESTOR_HOME: home });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`port ${port} on 127.0.0.1 is in use: stop the other process or run with PORT=<free port> npm start\n`);
    expect(existsSync(home)).toBe(false);
    expect(filesOf(join(project, '.attestor'))).toEqual(before);
    expect(await attestor(['apps', 'list'], project)).toMatchObject({ code: 0 });
  });

  it('on a port something else holds: the same, before the data directory exists', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const home = join(base, 'third');
    const refused = await refusedStart(base, { PORT: String(port), ATTESTOR_HOME: home });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(refused).toMatchObject({ code: 1, stderr: `port ${port} on 127.0.0.1 is in use: stop the other process or run with PORT=<free port> npm start\n` });
    expect(existsSync(home)).toBe(false);
  });

  it('on a data directory another instance serves: names it, and changes none of its files', async () => {
    const before = filesOf(join(project, '.attestor'));
    const refused = await refusedStart(project);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `another Attestor local service (pid ${service.child.pid}, ${service.endpoint}) runs on ${join(project, '.attestor')}: ` +
        'use that one, stop it first (Ctrl-C in its terminal), or set ATTESTOR_HOME to another directory\n',
    );
    expect(filesOf(join(project, '.attestor'))).toEqual(before);
  });

  it('on a data directory that is a file', async () => {
    const file = join(base, 'a-file');
    writeFileSync(file, 'not a directory');
    const refused = await refusedStart(base, { ATTESTOR_HOME: file });
    expect(refused).toMatchObject({ code: 1, stderr: `${file} is not a directory: move it away, or set ATTESTOR_HOME to another directory\n` });
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });
});

describe('a service that died without cleaning up', () => {
  it('the CLI says it is no longer running; the next start takes its data directory over and keeps its data', async () => {
    const dead = join(base, 'dead');
    mkdirSync(dead);
    const first = await startService(dead);
    others.push(first);
    expect(await attestor(['apps', 'create', 'com.example.survivor'], dead)).toMatchObject({ code: 0 });
    first.child.kill('SIGKILL');
    await first.stop();
    const stateFile = join(dead, '.attestor', 'local-cloud.json');
    expect(existsSync(stateFile)).toBe(true);

    const result = await attestor(['apps', 'list'], dead);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: the local service recorded in ${stateFile} (pid ${first.child.pid}) is no longer running: start it again with \`npm start\`\n`,
    });

    const second = await startService(dead);
    others.push(second);
    const listed = await attestor(['apps', 'list', '--json'], dead);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ appId: 'com.example.survivor' })]);
  });
});
