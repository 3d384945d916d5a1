/**
 * What a fault must never leave behind. A nonce consumed by an attest that then failed is put back,
 * so the client's retry of the same request succeeds, while of concurrent requests with one nonce
 * still exactly one gets past consuming it (PROTOCOL.md §5.1). A registration is never recorded with
 * the digest of an object cut off mid-read; a build the register function gave up on waits in the
 * failures queue, and `registrations failures --retry` registers it once storage is back. The SDK's
 * own retry absorbs a single throttled call. Real stand-ins, real AWS SDK clients, faults by proxy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { KEY_PUBLICATION_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { AWS_FAULTS, faultRule, operation, startFaultyCloud, type FaultyCloud } from '../support/aws-faults';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { attestBody, newInstallKey, post } from '../support/protocol-client';

const APP = 'com.example.nonce';
const VERSION = '1.0.0';
let offset = 0;
const clock = { nowSeconds: () => Math.floor(Date.now() / 1000) + offset };
let dataDir: string;
let faulty: FaultyCloud;
let build: Buffer;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-nonce-faults-'));
  // Two attempts: one retry, as the service's own configuration allows it.
  faulty = await startFaultyCloud({
    dataDir,
    port: 0,
    clock,
    registerAttempts: 2,
    awsClients: { maxAttempts: 2, socketTimeoutMs: 300, connectionTimeoutMs: 300 },
  });
  build = randomBytes(256 * 1024);
  await registerBuildForTest(faulty.cloud, { appId: APP, version: VERSION, bytes: build });
  // es256, so that every attestation makes a KMS Sign after consuming its nonce.
  expect((await signedAdminFetch(faulty.cloud, 'POST', '/v1/admin/keys/rotate', { format: 'es256' })).status).toBe(201);
  offset += KEY_PUBLICATION_SECONDS + 1;
});

afterAll(async () => {
  await faulty?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => faulty.clear());

async function freshAttestBody(): Promise<Record<string, unknown>> {
  const challenge = await post(faulty.cloud.endpoint, '/v1/challenge', { appId: APP });
  expect(challenge.status).toBe(200);
  return attestBody({ nonce: challenge.body['nonce'] as string, appId: APP, appVersion: VERSION, packageBytes: build, key: newInstallKey() });
}

async function verifiesWithTenantKeys(token: string): Promise<boolean> {
  const res = await signedAdminFetch(faulty.cloud, 'GET', '/v1/admin/keys/jwks');
  const jwks = (await res.json()) as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), { currentDate: new Date(clock.nowSeconds() * 1000) }).then(
    () => true,
    () => false,
  );
}

describe('a nonce and a failed attest', () => {
  it('puts the nonce back when KMS refuses to sign: the same request succeeds once KMS is back, then never again', async () => {
    // Prepare
    const body = await freshAttestBody();
    const remove = faulty.proxies.kms.inject(faultRule(AWS_FAULTS.kms.throttled!, operation('Sign')));
    // Act
    const refused = await post(faulty.cloud.endpoint, '/v1/attest', body);
    remove();
    const retried = await post(faulty.cloud.endpoint, '/v1/attest', body);
    const replayed = await post(faulty.cloud.endpoint, '/v1/attest', body);
    // Assess
    expect(refused).toEqual({ status: 503, body: { error: 'service_unavailable' } });
    expect(retried.status).toBe(200);
    expect(await verifiesWithTenantKeys(retried.body['token'] as string)).toBe(true);
    expect(replayed).toEqual({ status: 409, body: { error: 'nonce_invalid' } });
  });

  it('lets exactly one of 20 concurrent requests with one nonce past consuming it, while that one fails and puts it back', async () => {
    // Prepare: the holder's Sign is slow, then refused, so every other request arrives while it holds the nonce.
    const body = await freshAttestBody();
    faulty.proxies.kms.inject(faultRule({ kind: 'delay', ms: 300 }, operation('Sign')));
    faulty.proxies.kms.inject(faultRule(AWS_FAULTS.kms.throttled!, operation('Sign')));
    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(faulty.cloud.endpoint, '/v1/attest', body)));
    faulty.clear();
    const retried = await post(faulty.cloud.endpoint, '/v1/attest', body);
    // Assess
    expect(answers.filter((a) => a.status === 503)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(19);
    expect(retried.status).toBe(200);
    expect(await verifiesWithTenantKeys(retried.body['token'] as string)).toBe(true);
  });

  it('absorbs one throttled DynamoDB call with the SDK retry the configuration allows: the client never sees it', async () => {
    const body = await freshAttestBody();
    faulty.proxies.dynamodb.inject(faultRule(AWS_FAULTS.dynamodb.throttledOnDemand!, operation('DeleteItem'), 1));
    const answer = await post(faulty.cloud.endpoint, '/v1/attest', body);
    expect(answer.status).toBe(200);
    expect(faulty.proxies.dynamodb.log.some((e) => e.faults.length > 0 && e.target?.endsWith('.DeleteItem'))).toBe(true);
  });
});

describe('a registration and a failing store', () => {
  const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

  it('never records the digest of a build cut off mid-read; the failure waits in the queue, and --retry registers it', async () => {
    // Prepare: every read of the build is cut off after 64 KiB, for every attempt of the function.
    const bytes = randomBytes(200 * 1024);
    const version = '2.0.0';
    const issued = await signedAdminFetch(faulty.cloud, 'POST', `/v1/admin/apps/${APP}/uploads`, { version, size: bytes.length });
    const { uploadId, uploadUrl } = (await issued.json()) as { uploadId: string; uploadUrl: string };
    faulty.proxies.s3.inject(faultRule({ kind: 'truncate', bytes: 64 * 1024 }, (r) => r.method === 'GET' && r.path.includes(uploadId)));
    // Act: upload; the function fails on every attempt and gives up.
    expect((await fetch(uploadUrl, { method: 'PUT', body: bytes })).status).toBe(200);
    await faulty.cloud.settled();
    const pending = (await (await signedAdminFetch(faulty.cloud, 'GET', `/v1/admin/uploads/${uploadId}`)).json()) as Record<string, unknown>;
    const listed = (await (await signedAdminFetch(faulty.cloud, 'GET', '/v1/admin/registrations/failures')).json()) as {
      failures: Array<Record<string, unknown>>;
    };
    // Assess: nothing recorded, the failure is listed with its build and cause.
    expect(pending['status']).toBe('pending');
    expect(pending['registration']).toBeUndefined();
    const failure = listed.failures.find((f) => (f['objectKeys'] as string[]).some((k) => k.includes(uploadId)));
    expect(failure).toMatchObject({ attempts: 2, error: expect.stringContaining('failed to register') });
    // Act: storage is back; the operator retries.
    faulty.clear();
    const retry = await signedAdminFetch(faulty.cloud, 'POST', '/v1/admin/registrations/failures/retry', { ids: [failure!['id']] });
    await faulty.cloud.settled();
    // Assess: registered with the digest of the whole build, and the queue no longer holds it.
    expect(await retry.json()).toEqual({ retried: [failure!['id']] });
    const done = (await (await signedAdminFetch(faulty.cloud, 'GET', `/v1/admin/uploads/${uploadId}`)).json()) as Record<string, unknown>;
    expect(done).toMatchObject({ status: 'registered', sha256: digest(bytes), size: bytes.length });
    const after = (await (await signedAdminFetch(faulty.cloud, 'GET', '/v1/admin/registrations/failures')).json()) as { failures: unknown[] };
    expect(after.failures).toEqual([]);
  });

  it('clears a failure for good, leaving its upload pending', async () => {
    const bytes = randomBytes(1024);
    const issued = await signedAdminFetch(faulty.cloud, 'POST', `/v1/admin/apps/${APP}/uploads`, { version: '3.0.0', size: bytes.length });
    const { uploadId, uploadUrl } = (await issued.json()) as { uploadId: string; uploadUrl: string };
    const remove = faulty.proxies.s3.inject(faultRule(AWS_FAULTS.s3.throttled!, (r) => r.method === 'GET' && r.path.includes(uploadId)));
    expect((await fetch(uploadUrl, { method: 'PUT', body: bytes })).status).toBe(200);
    await faulty.cloud.settled();
    remove();
    const cleared = (await (await signedAdminFetch(faulty.cloud, 'POST', '/v1/admin/registrations/failures/clear', {})).json()) as { cleared: string[] };
    expect(cleared.cleared).toHaveLength(1);
    expect((await (await signedAdminFetch(faulty.cloud, 'GET', '/v1/admin/registrations/failures')).json()) as unknown).toEqual({ failures: [] });
    expect(((await (await signedAdminFetch(faulty.cloud, 'GET', `/v1/admin/uploads/${uploadId}`)).json()) as Record<string, unknown>)['status']).toBe(
      'pending',
    );
  });

  it('is operator-only: a tenant credential gets 403', async () => {
    const created = (await (await signedAdminFetch(faulty.cloud, 'POST', '/v1/admin/tenants', { tenantId: 'acme-faults' })).json()) as {
      credential: { accessKeyId: string; secretAccessKey: string };
    };
    const res = await signedAdminFetch(faulty.cloud, 'GET', '/v1/admin/registrations/failures', undefined, created.credential);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'forbidden', message: 'only an operator credential may call GET /v1/admin/registrations/failures' });
  });
});
