/**
 * Screenshots of `attestor console` for docs/CONSOLE.md (docs/console/*.png).
 *
 *   npx tsx --conditions=@attestor/source scripts/console-screenshots.ts [output directory]
 *
 * It runs the local cloud `npm start` runs (startLocalCloud, in this process, in a scratch data
 * directory) with demo data: two apps, their builds, a policy with hardware settings, an identity,
 * devices, and an hour of attestation traffic. The hour is replayed in seconds through the
 * service's injectable clock, so the charts show an hour and the log's times are the service's
 * own. Then `attestor console` serves the page, and headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core) takes one screenshot per page. Traffic comes from a seeded generator:
 * running it again draws the same charts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AdminClient } from '../packages/cli/src/admin-client';
import { registerBuild } from '../packages/cli/src/upload';
import { startLocalCloud } from '../packages/local/src/cloud';
import { jwkThumbprint } from '../packages/verify/src/core/install-key';
import { launchChromium } from '../test/console/browser';
import { startConsole } from '../test/console/support';
import { attestOnce, CLEAN_DEVICE, newInstallKey, type Device, type InstallKey } from '../test/support/protocol-client';

const OUT = resolve(process.argv[2] ?? join(__dirname, '..', 'docs', 'console'));
const SHOP = 'com.example.shop';
const WALLET = 'com.example.wallet';
const MINUTES = 60;

/** mulberry32: a small seeded generator, so the demo hour is the same every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(20261206);
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** A deterministic "build" of `size` bytes. */
function sampleBuild(label: string, size = 400_000): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < size; i++) blocks.push(createHash('sha256').update(`${label}-${i}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'attestor-console-shots-'));
  // The service's clock runs `behind` seconds behind the real one while the demo hour is replayed.
  let behind = MINUTES * 60;
  const clock = { nowSeconds: () => Math.floor(Date.now() / 1000) - behind };
  // The authorizer in monitor mode, as during a rollout: the verdicts page shows its would-deny share.
  const cloud = await startLocalCloud({ dataDir, port: 0, clock, authorizer: { mode: 'monitor' } });
  const admin = new AdminClient({ endpoint: cloud.endpoint, credentials: cloud.adminCredentials, region: cloud.adminCredentials.region });
  const builds = { shop230: sampleBuild('shop-2.3.0'), shop240: sampleBuild('shop-2.4.0'), wallet: sampleBuild('wallet-1.0.0', 250_000) };
  // Builds are registered on the real clock: storage (s3rver) checks presigned URLs against it.
  const register = async (appId: string, version: string, bytes: Buffer, note?: string) => {
    const path = join(dataDir, `${appId}-${version}.bin`);
    writeFileSync(path, bytes);
    const replaying = behind;
    behind = 0;
    await registerBuild({ client: admin, appId, version, file: { path, size: bytes.length }, ...(note ? { note } : {}) });
    behind = replaying;
  };

  try {
    process.stderr.write(`demo data in ${dataDir}\n`);
    await register(SHOP, '2.3.0', builds.shop230, 'release');
    await register(WALLET, '1.0.0', builds.wallet);
    // Released at minute 24 of the hour below: attestations of it start then.
    await register(SHOP, '2.4.0', builds.shop240, 'release 2.4');
    await admin.rotateKey();
    await admin.putPolicy(SHOP, {
      reject: { rooted: true, emulator: true, debugger: false, hooked: true },
      minSdkVersion: '1.0.0',
      hardware: {
        ios: 'prefer',
        android: 'prefer',
        otherPlatforms: 'allow',
        minAndroidSecurityLevel: 'tee',
        requireVerifiedBoot: true,
        minAndroidPatchLevel: 202401,
        appAttestEnvironments: ['production'],
        rememberDays: 30,
      },
      measurement: 'require',
    });
    await admin.putIdentity(SHOP, {
      ios: { teamId: 'ABCDE12345', bundleId: SHOP },
      android: { packageName: SHOP, signingCertificates: [createHash('sha256').update('demo upload key').digest('hex')], minVersionCode: 230 },
    });
    const lab = newInstallKey();
    await admin.addDevice(SHOP, { did: jwkThumbprint(lab.jwk), note: 'Pixel 8 in the lab' });
    const ci = await admin.addDevice(SHOP, { debug: true, note: 'GitHub Actions' });

    const users = Array.from({ length: 40 }, () => newInstallKey());
    const rooted: Device = { ...CLEAN_DEVICE, signals: { ...CLEAN_DEVICE.signals, rooted: true } };
    const emulator: Device = { ...CLEAN_DEVICE, model: 'sdk_gphone64', signals: { ...CLEAN_DEVICE.signals, emulator: true } };
    const tampered = Buffer.from(builds.shop230);
    tampered[4096] = tampered[4096]! ^ 0xff;
    let total = 0;
    const attest = async (
      appId: string,
      appVersion: string,
      packageBytes: Buffer,
      key: InstallKey,
      device: Device = CLEAN_DEVICE,
      extra?: Record<string, unknown>,
    ) => {
      const r = await attestOnce(cloud.endpoint, { appId, appVersion, packageBytes, key, device, ...(extra ? { extra } : {}) });
      if (r.status !== 200) throw new Error(`attest answered ${r.status}: ${JSON.stringify(r.body)}`);
      total++;
      // Most clients go on to call the API with their token (a decoy one if attestation failed).
      if (rand() < 0.7) await callApi({ 'Attestor-Token': r.body['token'] as string });
    };
    const callApi = async (headers: Record<string, string>) => {
      const res = await fetch(`${cloud.endpoint}/demo/hello`, { headers });
      if (res.status !== 200) throw new Error(`the monitor-mode authorizer answered ${res.status}`);
    };
    const user = () => users[between(0, users.length - 1)]!;

    for (let minute = 0; minute < MINUTES; minute++) {
      // Well inside the hour when the charts are drawn, a few seconds after the replay ends.
      behind = (MINUTES - minute) * 60 - 45;
      const jobs: Array<() => Promise<void>> = [];
      // The rollout of 2.4.0 from minute 24: its share grows as 2.3.0's shrinks.
      const upgraded = minute < 24 ? 0 : Math.min(1, (minute - 24) / 20);
      for (let i = between(10, 16); i > 0; i--) {
        const v240 = rand() < upgraded;
        jobs.push(() => attest(SHOP, v240 ? '2.4.0' : '2.3.0', v240 ? builds.shop240 : builds.shop230, user()));
      }
      if (rand() < 0.45) jobs.push(() => attest(SHOP, '2.3.0', builds.shop230, user(), rooted));
      if (rand() < 0.15) jobs.push(() => attest(SHOP, '2.3.0', builds.shop230, user(), emulator));
      if (minute % 6 === 3) jobs.push(() => attest(SHOP, '2.3.0', builds.shop230, user(), CLEAN_DEVICE, { sdkVersion: '0.9.2' }));
      // A repackaged copy of the app is passed around for a few minutes.
      if (minute >= 32 && minute <= 39) for (let i = between(3, 7); i > 0; i--) jobs.push(() => attest(SHOP, '2.3.0', tampered, user()));
      // CI runs the tests on emulators with the debug secret; the lab phone is allow-listed.
      if (minute % 10 === 5) for (let i = 0; i < 3; i++) jobs.push(() => attest(SHOP, '2.4.0', tampered, user(), emulator, { debugSecret: ci.debugSecret }));
      if (minute % 7 === 0) jobs.push(() => attest(SHOP, '2.3.0', builds.shop230, lab, rooted));
      for (let i = between(3, 7); i > 0; i--) jobs.push(() => attest(WALLET, '1.0.0', builds.wallet, user()));
      if (minute >= 45 && minute <= 49) jobs.push(() => attest('com.example.shop.lite', '1.0.0', builds.shop230, user()));
      // Old app versions without the SDK call the API with no token at all.
      for (let i = between(0, 2); i > 0; i--) jobs.push(() => callApi({}));
      for (let i = 0; i < jobs.length; i += 8) await Promise.all(jobs.slice(i, i + 8).map((job) => job()));
    }
    behind = 0;
    process.stderr.write(`replayed ${total} attestations over ${MINUTES} minutes\n`);

    const consoleRun = await startConsole({ ATTESTOR_HOME: dataDir, ATTESTOR_ENDPOINT: cloud.endpoint }, dataDir, ['--interval', '2s']);
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: 'UTC', locale: 'en-GB', deviceScaleFactor: 1 });
      const page = await context.newPage();
      page.on('dialog', (d) => void d.accept());
      await page.goto(consoleRun.loginUrl);
      await page.waitForURL(`${consoleRun.origin}/`);
      mkdirSync(OUT, { recursive: true });
      const shot = async (name: string) => {
        await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
        process.stderr.write(`wrote ${join(OUT, `${name}.png`)}\n`);
      };

      await page.goto(`${consoleRun.origin}/#/verdicts?app=${SHOP}`);
      await page.locator('#verdict-chart[data-total]').waitFor();
      await page.locator('#stats').waitFor();
      await page.locator('#would-deny-share[data-share]').waitFor();
      // Point at the minute of the repackaged copies, so the hover line reads it out.
      const box = (await page.locator('#verdict-chart .u-over').boundingBox())!;
      await page.mouse.move(box.x + box.width * (36.5 / 60), box.y + box.height * 0.6);
      await shot('verdicts');

      await page.goto(`${consoleRun.origin}/#/apps?app=${WALLET}`);
      await page.locator('#registrations').waitFor();
      await page.locator('#upload-version').fill('1.1.0');
      await page.locator('#upload-note').fill('beta 1');
      const wallet110 = sampleBuild('wallet-1.1.0', 300_000);
      await page.locator('#upload-file').setInputFiles({ name: 'wallet-1.1.0.apk', mimeType: 'application/octet-stream', buffer: wallet110 });
      await page.locator('#upload-submit').click();
      await page.locator('#upload-status[data-state="ok"]').waitFor({ timeout: 30_000 });
      await page.locator('#registrations tr[data-version="1.1.0"]').waitFor();
      await shot('apps');

      await page.goto(`${consoleRun.origin}/#/policy?app=${SHOP}`);
      await page.locator('#policy').waitFor();
      await shot('policy');

      await page.goto(`${consoleRun.origin}/#/devices?app=${SHOP}`);
      await page.locator('#devices').waitFor();
      await page.locator('#debug-note').fill('nightly emulator run');
      await page.locator('#new-debug button[type="submit"]').click();
      await page.locator('#debug-secret').waitFor();
      await shot('devices');

      await page.goto(`${consoleRun.origin}/#/keys?app=${SHOP}`);
      await page.locator('#keys').waitFor();
      await page.locator('#rotate-submit').click();
      await page.locator('#rotate-status[data-state="ok"]').waitFor();
      await shot('keys');

      await page.goto(`${consoleRun.origin}/#/identity?app=${SHOP}`);
      await page.locator('#identity').waitFor();
      await shot('identity');
    } finally {
      await browser.close();
      await consoleRun.stop();
    }
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
