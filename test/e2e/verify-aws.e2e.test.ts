/**
 * `attestor/verify/aws` against the local cloud: a backend's verifier gets its tenant's secrets
 * wrapped from the admin API and unwraps them with KMS under its own credential, picks up a
 * rotation by itself, and cannot be handed another tenant's secrets; a CI backend gets the test
 * secrets the same way, and a server that passes a production secret off as a test secret gets
 * nothing unwrapped.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { KEY_PUBLICATION_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { attestorMiddleware, createVerifier } from '../../packages/verify/src/index';
import { attestorSecrets, attestorTestSecrets } from '../../packages/verify/src/aws';
import { testSecretEncryptionContext } from '../../packages/contracts/src/test-tokens';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestOnce, newInstallKey } from '../support/protocol-client';

const APP = 'com.example.backend';
let dataDir: string;
let cloud: LocalCloud;
let clock: ManualClock;
const build = randomBytes(2048);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-verify-aws-'));
  clock = new ManualClock(Math.floor(Date.now() / 1000));
  cloud = await startLocalCloud({ dataDir, port: 0, clock });
  await registerBuildForTest(cloud, { appId: APP, version: '1.0.0', bytes: build });
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const token = async (bytes = build) =>
  (await attestOnce(cloud.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: bytes, key: newInstallKey() })).body['token'] as string;
const secretsAs = (
  tenantId: string,
  credentials = { accessKeyId: cloud.adminCredentials.accessKeyId, secretAccessKey: cloud.adminCredentials.secretAccessKey },
) => attestorSecrets({ apiUrl: cloud.endpoint, tenantId, region: cloud.adminCredentials.region, credentials, kmsEndpoint: cloud.endpoints.kms });

test('verifies genuine tokens, denies decoys, and follows a rotation without a restart', async () => {
  // Prepare
  const verifier = createVerifier({ issuer: 'attestor', secrets: secretsAs('default'), clock });
  // Act / Assess
  await expect(verifier.verify(await token())).resolves.toMatchObject({ sub: APP });
  await expect(verifier.verify(await token(Buffer.from('repackaged')))).rejects.toMatchObject({ code: 'bad_signature' });
  const rotated = await signedAdminFetch(cloud, 'POST', '/v1/admin/keys/rotate');
  expect(rotated.status).toBe(201);
  clock.advance(KEY_PUBLICATION_SECONDS);
  await expect(verifier.verify(await token())).resolves.toMatchObject({ sub: APP });
});

test("refuses to unwrap secrets wrapped for another tenant than its own", async () => {
  // The operator's credential belongs to the default tenant; asking for acme's secrets with it gets
  // the default tenant's, which the source refuses rather than unwrap.
  const verifier = createVerifier({ issuer: 'attestor', secrets: secretsAs('acme'), clock });
  await expect(verifier.verify(await token())).rejects.toThrow(/another tenant than acme/);
});

test('passes on the retirement time of a retiring secret, so the verifier drops it then', async () => {
  // Prepare: after a rotation, the old secret is retiring.
  await signedAdminFetch(cloud, 'POST', '/v1/admin/keys/rotate');
  clock.advance(KEY_PUBLICATION_SECONDS);
  const listed = (await (await signedAdminFetch(cloud, 'GET', '/v1/admin/keys')).json()) as {
    keys: Array<{ kid: string; status: string; retiresAt?: number }>;
  };
  // Act
  const set = await secretsAs('default')();
  // Assess
  const retiring = listed.keys.filter((k) => k.status === 'retiring');
  expect(retiring.length).toBeGreaterThan(0);
  for (const key of retiring) expect(set.keys.find((s) => s.kid === key.kid)?.retiresAt).toBe(key.retiresAt);
  expect(set.keys.find((s) => listed.keys.find((k) => k.kid === s.kid)?.status === 'active')).not.toHaveProperty('retiresAt');
});

test("a backend's middleware whose KMS cannot be reached answers 503 and logs the secret's kid, the KMS key and KMS's error, nothing secret", async () => {
  // Prepare: a KMS endpoint nothing listens on.
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadKms = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((r) => closed.close(r));
  const credentials = { accessKeyId: cloud.adminCredentials.accessKeyId, secretAccessKey: cloud.adminCredentials.secretAccessKey };
  const secrets = attestorSecrets({ apiUrl: cloud.endpoint, tenantId: 'default', region: cloud.adminCredentials.region, credentials, kmsEndpoint: deadKms });
  const logged: string[] = [];
  const middleware = attestorMiddleware({ issuer: 'attestor', secrets, clock, logger: { error: (line) => logged.push(line) } });
  const server = createServer((req, res) => middleware(req, res, () => res.end('through')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const wrapped = (await (await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/secrets')).json()) as { keys: Array<{ kid: string; keyId: string }> };
  try {
    // Act
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { headers: { 'attestor-token': await token() } });
    // Assess
    expect(res.status).toBe(503);
    expect(logged).toHaveLength(1);
    const line = logged[0]!;
    expect(line).toMatch(/^attestor: attestation cannot be checked, answering 503: SecretUnwrapError: KMS Decrypt of secret \S+ with key \S+ failed: \w+ <- /);
    expect(wrapped.keys.some((k) => line.includes(`secret ${k.kid} with key ${k.keyId} failed`))).toBe(true);
    expect(line).toContain('ECONNREFUSED');
    expect(line).not.toContain(credentials.secretAccessKey);
  } finally {
    server.close();
  }
});

describe('test secrets for a CI backend (attestorTestSecrets)', () => {
  const credentials = () => ({ accessKeyId: cloud.adminCredentials.accessKeyId, secretAccessKey: cloud.adminCredentials.secretAccessKey });
  const testSecretsAt = (apiUrl: string) =>
    attestorTestSecrets({ apiUrl, tenantId: 'default', region: cloud.adminCredentials.region, credentials: credentials(), kmsEndpoint: cloud.endpoints.kms });
  const mint = async () => {
    const minted = await signedAdminFetch(cloud, 'POST', '/v1/admin/tokens/test', { appId: APP });
    expect(minted.status).toBe(201);
    return ((await minted.json()) as { token: string }).token;
  };

  test('before the first mint there are none: the CI verifier still verifies production tokens', async () => {
    const listed = (await (await signedAdminFetch(cloud, 'GET', '/v1/admin/tokens/test/secrets')).json()) as { keys: unknown[] };
    expect(listed.keys).toEqual([]);
    await expect(testSecretsAt(cloud.endpoint)()).resolves.toEqual({ keys: [] });
    const ci = createVerifier({ issuer: 'attestor', secrets: secretsAs('default'), acceptTestTokens: true, testSecrets: testSecretsAt(cloud.endpoint), clock });
    await expect(ci.verify(await token())).resolves.toMatchObject({ sub: APP });
  });

  test('a verifier given them lets test tokens in; one given only the production secrets refuses them', async () => {
    // Prepare
    const testToken = await mint();
    const ci = createVerifier({ issuer: 'attestor', secrets: secretsAs('default'), acceptTestTokens: true, testSecrets: testSecretsAt(cloud.endpoint), clock });
    const production = createVerifier({ issuer: 'attestor', secrets: secretsAs('default'), clock });
    // Act / Assess
    await expect(ci.verify(testToken)).resolves.toMatchObject({ sub: APP, test: true });
    await expect(ci.verify(await token())).resolves.toMatchObject({ sub: APP });
    await expect(production.verify(testToken)).rejects.toMatchObject({ code: 'test_token' });
  });

  test('a production secret served as a test secret (relabelled, test context claimed) is not unwrapped: KMS binds the context', async () => {
    // Prepare: a server that answers the test route with the tenant's current production secret,
    // given a test kid and the test context, as a compromised or mistaken proxy could.
    await mint();
    const production = (await (await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/secrets')).json()) as { keys: Array<Record<string, unknown>> };
    const kid = 'test-AAAAAAAAAAAAAAAAAAAAAA';
    const forged = { keys: [{ ...production.keys[0], kid, encryptionContext: testSecretEncryptionContext('default', kid) }] };
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/v1/admin/tokens/test/secrets' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url === '/v1/admin/tokens/test/secrets' ? forged : { error: 'not_found' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      // Act
      const fetched = testSecretsAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)();
      // Assess: KMS refuses to decrypt the production ciphertext under the test context.
      await expect(fetched).rejects.toThrow(new RegExp(`^KMS Decrypt of secret ${kid} with key \\S+ failed: InvalidCiphertextException$`));
    } finally {
      server.close();
    }
  });
});
