/**
 * The SDK as an app uses it (the README quick start) against the local cloud over HTTP: a package
 * file measured by streaming, an install key in a file that survives app restarts, `fetch` adding
 * tokens to the protected route, a repackaged copy kept out, and a debug secret registered through
 * the admin API letting a CI build in, shown in the attestation log as debug.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { AttestorClient, type AttestorClientOptions } from '../../packages/sdk/src/index';
import { fileKeyStore, filePackageSource } from '../../packages/sdk/src/node';
import { CATALOG_CACHE_SECONDS } from '../../packages/service/src/core/catalog-cache';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { ManualClock } from '../support/memory';

const APP = 'com.example.sdkapp';
const VERSION = '2.0.0';

let dataDir: string;
let cloud: LocalCloud;
let packagePath: string;
let tamperedPath: string;
/** The service's clock, so a test can let an admin change reach attestations (CATALOG_CACHE_SECONDS) without waiting. */
let clock: ManualClock;

function app(overrides: Partial<AttestorClientOptions> = {}): AttestorClient {
  return new AttestorClient({
    endpoint: cloud.endpoint,
    appId: APP,
    appVersion: VERSION,
    packageSource: filePackageSource(packagePath),
    keyStore: fileKeyStore(join(dataDir, 'app-data', 'attestor-install-key.json')),
    ...overrides,
  });
}

async function hello(client: AttestorClient): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await client.fetch(`${cloud.endpoint}/demo/hello`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-sdk-app-'));
  clock = new ManualClock(Math.floor(Date.now() / 1000));
  cloud = await startLocalCloud({ dataDir, port: 0, clock });
  const build = randomBytes(3 * 1024 * 1024 + 5);
  packagePath = join(dataDir, 'app-release.bin');
  writeFileSync(packagePath, build);
  const tampered = Buffer.from(build);
  tampered[2_000_000] = tampered[2_000_000]! ^ 0x01;
  tamperedPath = join(dataDir, 'app-repackaged.bin');
  writeFileSync(tamperedPath, tampered);
  await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('the genuine app gets through with client.fetch, and keeps its identity across restarts', async () => {
  const first = await hello(app());
  expect(first).toEqual({ status: 200, body: { hello: 'attested app', appId: APP, did: expect.any(String) } });

  // The app restarts: a new client, the same key file, the same installation.
  const again = await hello(app());
  expect(again.status).toBe(200);
  expect(again.body['did']).toBe(first.body['did']);
});

test('getToken works with plain fetch too, and a limited-use token opens the route', async () => {
  const client = app();
  const token = await client.getToken();
  const plain = await fetch(`${cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token } });
  expect(plain.status).toBe(200);
  const once = await client.getLimitedUseToken();
  expect(once).not.toBe(token);
  const limited = await fetch(`${cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': once } });
  expect(limited.status).toBe(200);
});

test('a repackaged copy gets a token that the protected route denies', async () => {
  const repackaged = app({ packageSource: filePackageSource(tamperedPath), keyStore: undefined });
  const result = await hello(repackaged);
  expect(result.status).toBe(403);
});

test('a debug secret from the admin API lets a CI build in, and the log shows it as debug', async () => {
  const added = await signedAdminFetch(cloud, 'POST', `/v1/admin/apps/${APP}/devices`, { debug: true, note: 'sdk e2e' });
  expect(added.status).toBe(201);
  const { debugSecret } = (await added.json()) as { debugSecret: string };
  clock.advance(CATALOG_CACHE_SECONDS);

  // A CI build is not the registered package; with the secret it passes anyway.
  const ci = app({ packageSource: filePackageSource(tamperedPath), keyStore: undefined, debugSecret });
  const result = await hello(ci);
  expect(result.status).toBe(200);

  const log = await signedAdminFetch(cloud, 'GET', `/v1/admin/log?appId=${APP}`);
  expect(log.status).toBe(200);
  const entries = ((await log.json()) as { entries: Array<Record<string, unknown>> }).entries;
  // Entries of one second share `time`, so find the CI install's entry by its did.
  expect(entries.filter((e) => e['did'] === result.body['did'])).toEqual([
    expect.objectContaining({ appId: APP, outcome: 'debug', reasons: ['measurement_mismatch'] }),
  ]);
  expect(JSON.stringify(entries)).not.toContain(debugSecret);
});
