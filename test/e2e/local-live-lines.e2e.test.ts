/**
 * `npm start` as a process: after its ready line it prints one compact line per registration and
 * attestation (verdict, app, version, reason), while the log file keeps each event's full JSON.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestor, startService, type RunningService } from '../support/local-process';
import { attestOnce, newInstallKey } from '../support/protocol-client';

const APP = 'com.example.live';
let base: string;
let project: string;
let service: RunningService;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'attestor-live-lines-'));
  project = join(base, 'project');
  mkdirSync(project);
  service = await startService(project);
}, 60_000);
afterAll(async () => {
  await service?.stop();
  rmSync(base, { recursive: true, force: true });
});

test('a registration and two attestations each show as one line on the terminal, with the full events in the log file', async () => {
  // Prepare
  const build = randomBytes(4096);
  writeFileSync(join(project, 'app.bin'), build);
  const ready = service.output();
  // Act
  const registered = await attestor(['register', '--app', APP, '--version', '1.0.0', join(project, 'app.bin')], project);
  const genuine = await attestOnce(service.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: build, key: newInstallKey() });
  const decoy = await attestOnce(service.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: Buffer.from('repackaged'), key: newInstallKey() });
  await service.waitFor(/attestation +fail/);
  // Assess
  expect(registered).toMatchObject({ code: 0, stderr: expect.not.stringContaining("error") });
  expect([genuine.status, decoy.status]).toEqual([200, 200]);
  const lines = service.output().slice(ready.length).split('\n').filter(Boolean);
  expect(lines).toEqual([
    expect.stringMatching(/^\d\d:\d\d:\d\d  registration  registered  com\.example\.live 1\.0\.0  sha256 [0-9a-f]{12}…  4096 bytes$/),
    expect.stringMatching(/^\d\d:\d\d:\d\d  attestation   pass        com\.example\.live 1\.0\.0  android$/),
    expect.stringMatching(/^\d\d:\d\d:\d\d  attestation   fail        com\.example\.live 1\.0\.0  android  \S+/),
  ]);
  const log = readFileSync(join(project, '.attestor', 'logs', 'service.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const attestations = log.filter((e) => e['event'] === 'attestation');
  expect(attestations).toEqual([
    expect.objectContaining({ level: 'info', appId: APP, appVersion: '1.0.0', outcome: 'pass', did: expect.any(String), tenantId: 'default' }),
    expect.objectContaining({ outcome: 'fail', reasons: expect.arrayContaining([expect.any(String)]) }),
  ]);
  // The fail line names the same reasons as the logged event.
  expect(lines[2]).toContain(`android  ${(attestations[1]!['reasons'] as string[]).join(', ')}`);
  expect(log.filter((e) => e['event'] === 'build_registered')).toEqual([expect.objectContaining({ appId: APP, version: '1.0.0', size: 4096 })]);
});
