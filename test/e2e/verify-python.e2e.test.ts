/**
 * The Python snippet of docs/ENFORCEMENT.md ("Verifying in another language"), run as written with
 * PyJWT (Debian's python3-jwt, which .ci/run installs) against tokens of the local cloud and the
 * secret set `attestor keys secret --json` prints: hs256 tokens are plain HS256 JWTs.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { registerBuildForTest, tenantSecretSet } from '../support/local-admin';
import { attestOnce, newInstallKey } from '../support/protocol-client';

const DOC = resolve(__dirname, '../../docs/ENFORCEMENT.md');
/** Debian's interpreter, where apt put python3-jwt (a python3 earlier on PATH, e.g. pyenv's, would not have it). */
const PYTHON = '/usr/bin/python3';
const APP = 'com.example.python';
let dataDir: string;
let cloud: LocalCloud;
const build = randomBytes(1024);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-python-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
  await registerBuildForTest(cloud, { appId: APP, version: '1.0.0', bytes: build });
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The ```python block under "Verifying in another language", and a line that runs verify() on argv[1]. */
function snippet(): string {
  const doc = readFileSync(DOC, 'utf8');
  const section = doc.slice(doc.indexOf('### Verifying in another language'));
  const match = /```python\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('no python block in the section');
  return `${match[1]}\nimport sys\nprint(json.dumps(verify(sys.argv[1])))\n`;
}

function runPython(token: string, secrets: unknown): { ok: boolean; out: string } {
  try {
    const out = execFileSync(PYTHON, ['-c', snippet(), token], {
      env: { PATH: process.env['PATH'], ATTESTOR_SECRETS: JSON.stringify(secrets) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, out };
  } catch (error) {
    return { ok: false, out: String((error as { stderr?: string }).stderr ?? error) };
  }
}

test('verifies a genuine token with the printed secrets and refuses a decoy', async () => {
  // Prepare
  const secrets = await tenantSecretSet(cloud);
  const genuine = (await attestOnce(cloud.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: build, key: newInstallKey() })).body['token'] as string;
  const decoy = (await attestOnce(cloud.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: Buffer.from('repackaged'), key: newInstallKey() })).body[
    'token'
  ] as string;

  // Act
  const accepted = runPython(genuine, secrets);
  const refused = runPython(decoy, secrets);

  // Assess
  expect(accepted.ok).toBe(true);
  expect(JSON.parse(accepted.out)).toMatchObject({ iss: 'attestor', sub: APP, ver: '1.0.0' });
  expect(refused).toMatchObject({ ok: false, out: expect.stringContaining('no current secret verifies this token') });
});
