/**
 * Deleting .attestor/ while `npm start` runs (a real service process): the service notices, writes
 * back what it holds in memory and says so in its terminal; the CLI keeps working with the same
 * credentials, tenants and token secrets; and a restart keeps apps, registrations, tenants and keys
 * made before and after the deletion.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestor, startService, type RunningService } from '../support/local-process';

let project: string;
let dataDir: string;
const services: RunningService[] = [];

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'attestor-local-restore-'));
  dataDir = join(project, '.attestor');
});

afterAll(async () => {
  for (const s of services) await s.stop();
  rmSync(project, { recursive: true, force: true });
});

const ok = async (argv: string[]): Promise<string> => {
  const result = await attestor(argv, project);
  if (result.code !== 0) throw new Error(`attestor ${argv.join(' ')}: ${result.stderr}`);
  return result.stdout;
};
const appIds = async () => (JSON.parse(await ok(['apps', 'list', '--json'])) as Array<{ appId: string }>).map((a) => a.appId).sort();
const versions = async () =>
  (JSON.parse(await ok(['registrations', 'list', '--app', 'com.example.kept', '--json'])) as Array<{ version: string }>).map((r) => r.version).sort();
const build = (name: string): string => {
  const file = join(project, name);
  writeFileSync(file, `${name} ${Math.random()}`.repeat(1000));
  return file;
};

it('restores the data directory deleted under a running service, and a restart keeps everything', async () => {
  const first = await startService(project);
  services.push(first);
  await ok(['register', '--app', 'com.example.kept', '--version', '1.0.0', build('v1.bin')]);
  await ok(['tenants', 'create', 'acme']);
  const secrets = await ok(['keys', 'secret', '--json']);

  rmSync(dataDir, { recursive: true, force: true });
  const output = await first.waitFor(/was deleted while the service ran/, 10_000);
  expect(output).toMatch(
    new RegExp(
      `${dataDir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} was deleted while the service ran; restored from memory at \\S+Z: the operator credential, ` +
        '1 tenant credential, \\d+ KMS keys and \\d+ table items \\(saved again when the service stops\\)\\. Uploaded build files are gone ' +
        '\\(their registrations are kept\\)\\. Stop with Ctrl-C as usual; the next npm start loads what was restored\\.',
    ),
  );
  expect(JSON.parse(readFileSync(join(dataDir, 'local-cloud.json'), 'utf8'))).toMatchObject({ pid: first.child.pid, restoredAt: expect.any(String) });
  // The service log starts again in the restored directory, with what happened (its stream writes a moment later).
  const log = join(dataDir, 'logs', 'service.log');
  for (let i = 0; i < 40 && !(existsSync(log) && readFileSync(log, 'utf8').length > 0); i++) await new Promise((r) => setTimeout(r, 50));
  expect(readFileSync(log, 'utf8')).toMatch(/^\{"level":"warn","event":"data_dir_restored",/);

  // The CLI goes on as before: same operator credential, the tenant's saved credential, the same secrets.
  expect(await appIds()).toEqual(['com.example.kept']);
  expect(await ok(['--tenant', 'acme', 'apps', 'list', '--json'])).toBe('[]\n');
  expect(await ok(['keys', 'secret', '--json'])).toBe(secrets);
  // New data after the deletion: an app, and a build uploaded into the restored bucket.
  await ok(['apps', 'create', 'com.example.after']);
  await ok(['register', '--app', 'com.example.kept', '--version', '1.0.1', build('v2.bin')]);
  expect(await first.stop()).toBe(0);

  const second = await startService(project);
  services.push(second);
  expect(second.output()).toMatch(/; \d+ table items restored from the last deletion\); Ctrl-C stops/);
  expect(existsSync(join(dataDir, 'dynamodb-snapshot.json'))).toBe(false);
  expect(await appIds()).toEqual(['com.example.after', 'com.example.kept']);
  expect(await versions()).toEqual(['1.0.0', '1.0.1']);
  expect(await ok(['keys', 'secret', '--json'])).toBe(secrets);
  expect(await ok(['--tenant', 'acme', 'apps', 'list', '--json'])).toBe('[]\n');

  // Only the state file deleted: it comes back, and nothing is snapshotted, as the tables' own files are there.
  rmSync(join(dataDir, 'local-cloud.json'));
  const again = await second.waitFor(/files of .* were deleted while the service ran/, 10_000);
  expect(again).toMatch(/KMS keys and the tables \(their files were still there\)\. Stop with Ctrl-C as usual/);
  expect(existsSync(join(dataDir, 'dynamodb-snapshot.json'))).toBe(false);
  expect(await appIds()).toEqual(['com.example.after', 'com.example.kept']);
}, 90_000);
