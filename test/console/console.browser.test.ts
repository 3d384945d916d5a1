/**
 * `attestor console` in a real browser: headless Chromium opens the link the console printed,
 * against a local cloud this test starts, and works through the pages as an operator would:
 * registers a build, edits the policy (hardware fields included), sets the app identity, creates a
 * debug secret, rotates the token key, then watches the verdict charts change as attestations
 * arrive. Assertions read the DOM (and the admin API, to check the change really happened), never
 * pixels. The page must run without a script error or a Content Security Policy violation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { AdminClient } from '../../packages/cli/src/admin-client';
import { openerHtml } from '../../packages/cli/src/console/command';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { attestOnce, CLEAN_DEVICE, newInstallKey } from '../support/protocol-client';
import { launchChromium } from './browser';
import { startConsole, type RunningConsole } from './support';

const APP_ID = 'com.example.console';
const build = randomBytes(300_000);

let dataDir: string;
let cloud: LocalCloud;
let consoleRun: RunningConsole;
let browser: Browser;
let page: Page;
let admin: AdminClient;
const problems: string[] = [];
/** Every answer of 400 or more the page received. */
const refused: string[] = [];
let debugSecret: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-console-browser-'));
  // The authorizer in monitor mode, as during a rollout: the verdicts page shows its would-deny share.
  [cloud, browser] = await Promise.all([startLocalCloud({ dataDir, port: 0, authorizer: { mode: 'monitor' } }), launchChromium()]);
  admin = new AdminClient({ endpoint: cloud.endpoint, credentials: cloud.adminCredentials, region: cloud.adminCredentials.region });
  consoleRun = await startConsole({ ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint }, dataDir, ['--interval', '1s']);
  page = await browser.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A refused request is logged by Chromium as an error too; those are checked one by one below.
    if ((message.type() === 'error' && !message.text().startsWith('Failed to load resource')) || /Content Security Policy/i.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 400) refused.push(`${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`);
  });
  // Removing things asks first; the test agrees.
  page.on('dialog', (dialog) => void dialog.accept());
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await consoleRun?.stop();
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const text = (selector: string) => page.locator(selector).textContent();

describe('attestor console in Chromium', () => {
  it('opens from the printed link: the token becomes an HttpOnly cookie and leaves the address bar', async () => {
    await page.goto(consoleRun.loginUrl);
    await page.waitForURL(`${consoleRun.origin}/`);
    await page.locator('#apps').waitFor();
    expect(page.url()).not.toContain(consoleRun.token);
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: `attestor_console_${consoleRun.port}`, httpOnly: true, sameSite: 'Strict' })]);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await text('#endpoint')).toBe(`local service: ${cloud.endpoint}`);
  });

  it('opens from the file the CLI hands the browser (another site, to the browser): the cookie still reaches the page', async () => {
    const file = join(dataDir, 'open-console.html');
    writeFileSync(file, openerHtml(consoleRun.loginUrl));
    const context = await browser.newContext();
    try {
      const fromFile = await context.newPage();
      await fromFile.goto(`file://${file}`);
      await fromFile.waitForURL(`${consoleRun.origin}/`);
      await fromFile.locator('#apps').waitFor();
      expect(await fromFile.locator('#endpoint').textContent()).toBe(`local service: ${cloud.endpoint}`);
    } finally {
      await context.close();
    }
  });

  it('registers a build: progress through the phases of `attestor register`, then the registration is listed', async () => {
    await page.locator('#upload-app').fill(APP_ID);
    await page.locator('#upload-version').fill('1.0.0');
    await page.locator('#upload-file').setInputFiles({ name: 'app-release.apk', mimeType: 'application/vnd.android.package-archive', buffer: build });
    // Every phase the progress bar shows, in order.
    await page.evaluate(() => {
      const bar = document.getElementById('upload-progress')!;
      const seen: string[] = [];
      (window as unknown as { phases: string[] }).phases = seen;
      new MutationObserver(() => {
        const phase = bar.dataset['phase'];
        if (phase && seen.at(-1) !== phase) seen.push(phase);
      }).observe(bar, { attributes: true, attributeFilter: ['data-phase'] });
    });
    await page.locator('#upload-submit').click();
    await page.locator('#upload-status[data-state="ok"]').waitFor({ timeout: 15_000 });
    const sha256 = createHash('sha256').update(build).digest('hex');
    expect(await text('#upload-status')).toBe(`${APP_ID} 1.0.0 registered: sha256 ${sha256}`);
    const phases = await page.evaluate(() => (window as unknown as { phases: string[] }).phases);
    const order = ['sending', 'hashing', 'uploading', 'registering', 'registered'];
    expect(phases.at(-1)).toBe('registered');
    expect(phases).toContain('hashing');
    expect(phases.map((p) => order.indexOf(p))).toEqual([...phases.map((p) => order.indexOf(p))].sort((a, b) => a - b));
    const bar = await page.locator('#upload-progress').evaluate((el) => [(el as HTMLProgressElement).value, (el as HTMLProgressElement).max]);
    expect(bar).toEqual([build.length, build.length]);

    await page.locator(`#registrations tr[data-version="1.0.0"]`).waitFor();
    expect(await page.locator('#app-select').inputValue()).toBe(APP_ID);
    expect(await admin.listRegistrations(APP_ID)).toEqual([expect.objectContaining({ version: '1.0.0', sha256, size: build.length })]);
  });

  it('edits the policy, hardware fields included, and shows the field the service refused', async () => {
    await page.locator('nav a[data-page="policy"]').click();
    await page.locator('#policy').waitFor();
    await page.locator('#policy-reject-rooted').check();
    await page.locator('#policy-hardware-android').selectOption('prefer');
    await page.locator('#policy-hardware-rememberDays').fill('45');
    await page.locator('#policy-hardware-minAndroidPatchLevel').fill('202413');
    await page.locator('#policy-save').click();
    await page.locator('#policy-status[data-state="error"]').waitFor();
    expect(await text('#policy-status')).toMatch(/^hardware\.minAndroidPatchLevel must be a year and month as YYYYMM/);
    expect((await admin.getPolicy(APP_ID)).reject.rooted).toBe(false);

    await page.locator('#policy-hardware-minAndroidPatchLevel').fill('202406');
    await page.locator('#policy-save').click();
    await page.locator('#policy-status[data-state="ok"]').waitFor();
    const policy = await admin.getPolicy(APP_ID);
    expect(policy.reject).toEqual({ rooted: true, emulator: false, debugger: false, hooked: true });
    expect(policy.hardware).toMatchObject({ ios: 'off', android: 'prefer', rememberDays: 45, minAndroidPatchLevel: 202406 });
  });

  it('sets the app identity', async () => {
    await page.locator('nav a[data-page="identity"]').click();
    await page.locator('#identity').waitFor();
    await page.locator('#identity-teamId').fill('ABCDE12345');
    await page.locator('#identity-bundleId').fill(APP_ID);
    await page.locator('#identity-save').click();
    await page.locator('#identity-status[data-state="ok"]').waitFor();
    expect(await admin.getIdentity(APP_ID)).toEqual({ ios: { teamId: 'ABCDE12345', bundleId: APP_ID } });
  });

  it('creates a debug secret, shows it once, and lists the device', async () => {
    await page.locator('nav a[data-page="devices"]').click();
    await page.locator('#new-debug').waitFor();
    await page.locator('#debug-note').fill('CI');
    await page.locator('#new-debug button[type="submit"]').click();
    debugSecret = (await page.locator('#debug-secret').textContent()) ?? '';
    expect(debugSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await page.locator('#devices tr[data-kind="debug"]').waitFor();
    expect(await admin.listDevices(APP_ID)).toEqual([expect.objectContaining({ kind: 'debug', note: 'CI' })]);
    await page.locator('#debug-secret-done').click();
    expect(await page.locator('#debug-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(debugSecret);
  });

  it('rotates the token key: the new key is listed as pending', async () => {
    const before = await admin.listKeys();
    await page.locator('nav a[data-page="keys"]').click();
    await page.locator('#keys').waitFor();
    expect(await page.locator('#keys tbody tr').count()).toBe(before.length);
    await page.locator('#rotate-submit').click();
    await page.locator('#rotate-status[data-state="ok"]').waitFor();
    const after = await admin.listKeys();
    expect(after).toHaveLength(before.length + 1);
    const created = after.find((k) => !before.some((b) => b.kid === k.kid))!;
    expect(created.status).toBe('pending');
    await page.locator(`#keys tr[data-kid="${created.kid}"][data-status="pending"]`).waitFor();
    expect(await text('#rotate-status')).toContain(`New hs256 key ${created.kid}`);
  });

  it('charts the verdicts per app as they arrive: pass, failures by family, debug; and the authorizer\'s would-deny share', async () => {
    await page.locator('nav a[data-page="verdicts"]').click();
    await page.locator('#verdict-chart[data-total="0"]').waitFor();
    expect(await page.locator('#verdict-app').inputValue()).toBe(APP_ID);
    expect(await page.locator('#verdict-chart canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#fail-share-chart canvas').count()).toBeGreaterThan(0);
    await page.locator('#would-deny-status[data-available="true"]').waitFor();
    expect(await page.locator('#authorizer-chart canvas').count()).toBeGreaterThan(0);
    expect(await text('#would-deny-share')).toBe('–');

    const key = newInstallKey();
    const base = { endpoint: cloud.endpoint, appId: APP_ID, appVersion: '1.0.0', key };
    const tampered = Buffer.from(build);
    tampered[1000] = tampered[1000]! ^ 1;
    const rooted = { ...CLEAN_DEVICE, signals: { ...CLEAN_DEVICE.signals, rooted: true } };
    const genuine = await attestOnce(cloud.endpoint, { ...base, packageBytes: build });
    await attestOnce(cloud.endpoint, { ...base, packageBytes: build });
    await attestOnce(cloud.endpoint, { ...base, packageBytes: tampered });
    await attestOnce(cloud.endpoint, { ...base, packageBytes: build, device: rooted });
    await attestOnce(cloud.endpoint, { ...base, packageBytes: tampered, extra: { debugSecret } });
    const entries = (await admin.log({ appId: APP_ID })).entries;
    expect(entries.map((e) => e.outcome).sort()).toEqual(['debug', 'fail', 'fail', 'pass', 'pass']);

    await page.locator('#verdict-chart[data-total="5"]').waitFor({ timeout: 10_000 });
    const count = (category: string) => page.locator(`#verdict-totals tr[data-category="${category}"] td[data-count]`).getAttribute('data-count');
    expect({
      pass: await count('pass'),
      debug: await count('debug'),
      build: await count('fail_build'),
      device: await count('fail_device'),
      allowlisted: await count('allowlisted'),
    }).toEqual({ pass: '2', debug: '1', build: '1', device: '1', allowlisted: '0' });
    expect(await page.locator('#verdict-totals tr[data-category="total"] th[data-count]').getAttribute('data-count')).toBe('5');
    expect(await text('#verdict-totals tr[data-category="total"]')).toContain('40.0% failed');

    // The monitor-mode authorizer lets a request with the genuine token and one without any through;
    // enforcing would have denied the second: a would-deny share of one half.
    const hello = (headers: Record<string, string>) => fetch(`${cloud.endpoint}/demo/hello`, { headers }).then((r) => r.status);
    expect([await hello({ 'Attestor-Token': genuine.body['token'] as string }), await hello({})]).toEqual([200, 200]);
    await page.locator('#would-deny-share[data-share="0.5"]').waitFor({ timeout: 10_000 });
    const verdictCount = (verdict: string) => page.locator(`#authorizer-totals tr[data-verdict="${verdict}"] td[data-count]`).getAttribute('data-count');
    expect([await verdictCount('allowed'), await verdictCount('would_deny'), await verdictCount('denied')]).toEqual(['1', '1', '0']);
    expect(await text('#would-deny-status')).toContain('50.0%');

    // An unregistered app id's attestation is counted with the others of its kind (the counters keep
    // no made-up ids: docs/OPERATIONS.md), under all apps only: not under this app, and not offered.
    await attestOnce(cloud.endpoint, { ...base, appId: 'com.example.unregistered', packageBytes: build });
    await page.locator('#verdict-app').selectOption('');
    await page.locator('#verdict-chart[data-total="6"]').waitFor({ timeout: 10_000 });
    expect(await count('fail_build')).toBe('2');
    expect(await page.locator('#verdict-app option[value="com.example.unregistered"], #verdict-app option[value="~unregistered"]').count()).toBe(0);
    await page.locator('#verdict-app').selectOption(APP_ID);
    await page.locator('#verdict-chart[data-total="5"]').waitFor({ timeout: 10_000 });
  });

  it('ran without a script error or a Content Security Policy violation, and the token reached no log', () => {
    expect(problems).toEqual([]);
    // The one refusal the test asked for: the policy with a month 13.
    expect(refused).toEqual([`PUT /v1/admin/apps/${APP_ID}/policy 400`]);
    expect(consoleRun.stderr.text).not.toContain(consoleRun.token);
    expect(consoleRun.stderr.text).toContain(`registered ${APP_ID} 1.0.0`);
  });
});
