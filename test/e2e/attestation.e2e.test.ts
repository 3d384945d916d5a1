/**
 * End to end over HTTP against the local cloud: the protocol client in test/support (written from
 * PROTOCOL.md, sharing no code with the server) against the real handlers, adapters, dynalite,
 * s3rver and the local KMS endpoint.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { registerBuildForTest, signedAdminFetch, tenantSecretSet } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestBody, attestOnce, decodeJwtPart, newInstallKey, post } from '../support/protocol-client';

const APP = 'com.example.e2e';
const VERSION = '1.0.0';

let dataDir: string;
let cloud: LocalCloud;
let clock: ManualClock;
let build: Buffer;

async function hello(token: string | undefined) {
  const res = await fetch(`${cloud.endpoint}/demo/hello`, { headers: token === undefined ? {} : { 'Attestor-Token': token } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The default tenant's current secret, as a customer's verifier holds it (attestor keys secret --json). */
async function secret(): Promise<Uint8Array> {
  const set = await tenantSecretSet(cloud);
  expect(set.keys.length).toBeGreaterThanOrEqual(1);
  return Buffer.from(set.keys[0]!.k, 'base64url');
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-e2e-'));
  clock = new ManualClock(Math.floor(Date.now() / 1000));
  cloud = await startLocalCloud({ dataDir, port: 0, clock });
  build = randomBytes(256 * 1024);
  await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a genuine build', () => {
  test("gets a token that opens /demo/hello and verifies with the tenant's secret in an independent JOSE library", async () => {
    const key = newInstallKey();
    const res = await attestOnce(cloud.endpoint, { appId: APP, appVersion: VERSION, packageBytes: build, key });

    expect(res.status).toBe(200);
    const token = res.body['token'] as string;
    expect(res.body['expiresAt']).toBe(clock.now + 300);
    const { payload, protectedHeader } = await jwtVerify(token, await secret(), {
      issuer: 'attestor',
      algorithms: ['HS256'],
      currentDate: new Date(clock.now * 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).not.toHaveProperty('aud');
    expect(payload).toMatchObject({ sub: APP, ver: VERSION, iat: clock.now, exp: clock.now + 300 });
    expect((payload['cnf'] as { jkt: string }).jkt).toBe(payload['did']);

    const response = await hello(token);
    expect(response).toEqual({ status: 200, body: { hello: 'attested app', appId: APP, did: payload['did'] } });
  });

  test('the JWKS is empty while the tenant signs hs256: no public key exists that a client could check a token with', async () => {
    const res = await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/jwks');
    expect(await res.json()).toEqual({ keys: [] });
  });
});

describe('anything else is kept out', () => {
  test('a copy with one byte changed gets a token of the same shape that the API denies', async () => {
    const key = newInstallKey();
    const tampered = Buffer.from(build);
    tampered[1000] = tampered[1000]! ^ 0x01;
    const genuine = await attestOnce(cloud.endpoint, { appId: APP, appVersion: VERSION, packageBytes: build, key });
    const fake = await attestOnce(cloud.endpoint, { appId: APP, appVersion: VERSION, packageBytes: tampered, key });

    expect(fake.status).toBe(200);
    const [g, f] = [genuine.body['token'] as string, fake.body['token'] as string];
    expect(f.length).toBe(g.length);
    expect(decodeJwtPart(f, 0)).toEqual(decodeJwtPart(g, 0));
    expect(Object.keys(decodeJwtPart(f, 1))).toEqual(Object.keys(decodeJwtPart(g, 1)));
    await expect(jwtVerify(f, await secret(), { currentDate: new Date(clock.now * 1000) })).rejects.toThrow(/signature/i);
    expect((await hello(f)).status).toBe(403);
  });

  test('an unregistered app and an unregistered version are denied', async () => {
    const key = newInstallKey();
    const otherApp = await attestOnce(cloud.endpoint, { appId: 'com.example.unknown', appVersion: VERSION, packageBytes: build, key });
    const otherVersion = await attestOnce(cloud.endpoint, { appId: APP, appVersion: '9.9.9', packageBytes: build, key });
    expect([otherApp.status, otherVersion.status]).toEqual([200, 200]);
    expect((await hello(otherApp.body['token'] as string)).status).toBe(403);
    expect((await hello(otherVersion.body['token'] as string)).status).toBe(403);
  });

  test('a script without a token gets 401, one with a made-up token 403', async () => {
    expect((await hello(undefined)).status).toBe(401);
    expect((await hello('not.a.token')).status).toBe(403);
  });

  test('a replayed nonce gets 409 nonce_invalid and no token', async () => {
    const key = newInstallKey();
    const first = await attestOnce(cloud.endpoint, { appId: APP, appVersion: VERSION, packageBytes: build, key });
    const replay = await post(cloud.endpoint, '/v1/attest', attestBody({ nonce: first.nonce, appId: APP, appVersion: VERSION, packageBytes: build, key }));
    expect(first.status).toBe(200);
    expect(replay).toEqual({ status: 409, body: { error: 'nonce_invalid' } });
  });

  test('a nonce used after its 60 s is refused', async () => {
    const key = newInstallKey();
    const challenge = await post(cloud.endpoint, '/v1/challenge', { appId: APP });
    clock.advance(61);
    const late = await post(
      cloud.endpoint,
      '/v1/attest',
      attestBody({ nonce: challenge.body['nonce'] as string, appId: APP, appVersion: VERSION, packageBytes: build, key }),
    );
    expect(late).toEqual({ status: 409, body: { error: 'nonce_invalid' } });
  });

  test('an expired token is denied', async () => {
    const res = await attestOnce(cloud.endpoint, { appId: APP, appVersion: VERSION, packageBytes: build, key: newInstallKey() });
    const token = res.body['token'] as string;
    expect((await hello(token)).status).toBe(200);
    clock.advance(300 + 61);
    expect((await hello(token)).status).toBe(403);
  });

  test('of 50 concurrent attests with one nonce exactly one gets a token', async () => {
    const key = newInstallKey();
    const challenge = await post(cloud.endpoint, '/v1/challenge', { appId: APP });
    const body = attestBody({ nonce: challenge.body['nonce'] as string, appId: APP, appVersion: VERSION, packageBytes: build, key });
    const results = await Promise.all(Array.from({ length: 50 }, () => post(cloud.endpoint, '/v1/attest', body)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409 && r.body['error'] === 'nonce_invalid')).toHaveLength(49);
  });
});

describe('bad input', () => {
  test('a malformed attest body gets 400 naming the field and leaves the nonce usable', async () => {
    const key = newInstallKey();
    const challenge = await post(cloud.endpoint, '/v1/challenge', { appId: APP });
    const body = attestBody({ nonce: challenge.body['nonce'] as string, appId: APP, appVersion: VERSION, packageBytes: build, key });
    const bad = await post(cloud.endpoint, '/v1/attest', { ...body, installKey: { ...(body['installKey'] as object), x: 'short' } });
    const good = await post(cloud.endpoint, '/v1/attest', body);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_request', field: 'installKey.x' });
    expect(good.status).toBe(200);
  });

  test('a challenge without a well-formed appId gets 400; any well-formed one gets a nonce', async () => {
    const bad = await post(cloud.endpoint, '/v1/challenge', { appId: 'not an app id' });
    const unknown = await post(cloud.endpoint, '/v1/challenge', { appId: 'com.example.never.registered' });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_request', field: 'appId' } });
    expect(unknown.status).toBe(200);
    expect(Buffer.from(unknown.body['nonce'] as string, 'base64url')).toHaveLength(32);
    expect(unknown.body['expiresAt']).toBe(clock.now + 60);
  });

  test('admin routes refuse unsigned and wrongly signed requests', async () => {
    const unsigned = await fetch(`${cloud.endpoint}/v1/admin/keys/jwks`);
    const wrong = await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/jwks', undefined, { secretAccessKey: 'wrong-secret' });
    expect(unsigned.status).toBe(403);
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual({ message: expect.stringMatching(/signature/) });
  });
});

test('data persists across a restart', async () => {
  const before = await attestOnce(cloud.endpoint, { appId: APP, appVersion: VERSION, packageBytes: build, key: newInstallKey() });
  await cloud.stop();
  cloud = await startLocalCloud({ dataDir, port: 0, clock });
  const after = await attestOnce(cloud.endpoint, { appId: APP, appVersion: VERSION, packageBytes: build, key: newInstallKey() });
  expect((await hello(before.body['token'] as string)).status).toBe(200);
  expect((await hello(after.body['token'] as string)).status).toBe(200);
});

test('an admin request whose body was swapped after signing is refused', async () => {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const url = new URL('/v1/admin/apps/com.example.swapped/uploads', cloud.endpoint);
  const signedBody = JSON.stringify({ version: '1.0.0', size: 10 });
  const signer = new SignatureV4({ credentials: cloud.adminCredentials, region: cloud.adminCredentials.region, service: 'execute-api', sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    headers: {
      host: url.host,
      'content-type': 'application/json',
      'x-amz-content-sha256': (await import('node:crypto')).createHash('sha256').update(signedBody).digest('hex'),
    },
    body: signedBody,
  });
  const swapped = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body: JSON.stringify({ version: '6.6.6', size: 10 }) });
  expect(swapped.status).toBe(403);
  expect(await swapped.json()).toEqual({ message: 'x-amz-content-sha256 does not match the request body' });
});
