/**
 * Key rotation over the local cloud (docs/ADMIN_API.md §8): the new key is published (to
 * verifiers) before it signs, old keys stay trusted for the longest token's life, then leave and are
 * destroyed. Which key signed a token is found the way a customer's verifier would: hs256 secrets
 * unwrapped from the admin API, checked with jose; token validity also by the deployment's own
 * authorizer (/demo/hello).
 */
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { createHmac } from 'node:crypto';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { decodeJwtPart, newInstallKey } from '../support/protocol-client';
import { KEY_PUBLICATION_SECONDS, RETIREMENT_DELAY_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { attestToken, createTenant, removeDir, startTestCloud, tenantSecrets, tokenPasses, type TestCloud } from './admin-support';

const APP = 'com.example.keys';
let t: TestCloud;
let build: Buffer;

const attest = () => attestToken(t, { appId: APP, appVersion: '1.0.0', packageBytes: build, key: newInstallKey() });
async function hello(token: string): Promise<number> {
  return (await fetch(`${t.cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token } })).status;
}
async function keys(): Promise<Array<Record<string, unknown>>> {
  return (await t.admin('GET', '/v1/admin/keys')).body['keys'] as Array<Record<string, unknown>>;
}
/** kids of the secrets the admin API hands to verifiers now. */
async function publishedKids(): Promise<string[]> {
  return ((await t.admin('GET', '/v1/admin/keys/secrets')).body['keys'] as Array<{ kid: string }>).map((k) => k.kid).sort();
}
/** The kid of the secret that MACed an hs256 token, as a verifier holding every published secret finds it. */
async function signedBy(token: string): Promise<string | undefined> {
  const [header, claims, signature] = token.split('.');
  const secrets = (await tenantSecrets(t)).keys;
  return secrets.find((s) => createHmac('sha256', Buffer.from(s.k, 'base64url')).update(`${header}.${claims}`).digest('base64url') === signature)?.kid;
}

beforeAll(async () => {
  // Tokens live as long as a deployment allows, so the retirement window is tested at its edge.
  t = await startTestCloud({ tokenTtlSeconds: 3600 });
  build = randomBytes(1024);
  await registerBuildForTest(t.cloud, { appId: APP, version: '1.0.0', bytes: build });
});

afterAll(async () => {
  await t?.stop();
  await removeDir(t.dataDir);
});

test('a rotation publishes the new secret first, switches at activation, and retires and erases the old one after the longest token', async () => {
  // Prepare: the deployment's authorizer has loaded the keys once already.
  const before = await attest();
  const [oldKey] = await keys();
  const oldKid = oldKey!['kid'] as string;
  expect(oldKey).toEqual({ kid: oldKid, format: 'hs256', status: 'active', createdAt: expect.any(Number), activatesAt: expect.any(Number) });
  expect(await signedBy(before)).toBe(oldKid);
  expect(await hello(before)).toBe(200);

  // Act: rotate.
  const rotatedAt = t.clock.now;
  const rotated = await t.admin('POST', '/v1/admin/keys/rotate');
  expect(rotated.status).toBe(201);
  const newKid = rotated.body['kid'] as string;
  const activatesAt = rotatedAt + KEY_PUBLICATION_SECONDS;
  const retiresAt = activatesAt + RETIREMENT_DELAY_SECONDS;
  expect(rotated.body).toEqual({ kid: newKid, format: 'hs256', activatesAt, keysDeleted: [], keysNotDeleted: [] });

  // Published, not yet signing.
  expect(await keys()).toEqual([
    { kid: newKid, format: 'hs256', status: 'pending', createdAt: rotatedAt, activatesAt },
    { kid: oldKid, format: 'hs256', status: 'active', createdAt: expect.any(Number), activatesAt: expect.any(Number), retiresAt },
  ]);
  expect(await publishedKids()).toEqual([newKid, oldKid].sort());
  t.clock.advance(KEY_PUBLICATION_SECONDS - 1);
  const lastOld = await attest();
  expect(await signedBy(lastOld)).toBe(oldKid);
  expect(await hello(lastOld)).toBe(200);

  // Activation: new tokens are MACed with the new secret and every verifier accepts them; old tokens still pass.
  t.clock.advance(1);
  const first = await attest();
  expect(await signedBy(first)).toBe(newKid);
  expect(await tokenPasses(t, first)).toBe(true);
  expect(await hello(first)).toBe(200);
  expect(await hello(lastOld)).toBe(200);
  expect((await keys()).map((k) => [k['kid'], k['status']])).toEqual([
    [newKid, 'active'],
    [oldKid, 'retiring'],
  ]);

  // The last old token lives 3600 s; the old secret outlives it.
  t.clock.now = (decodeJwtPart(lastOld, 1)['exp'] as number) - 1;
  expect(await tokenPasses(t, lastOld)).toBe(true);
  expect(await hello(lastOld)).toBe(200);
  t.clock.now = retiresAt - 1;
  expect(await publishedKids()).toEqual([newKid, oldKid].sort());

  // Retired: no longer handed to verifiers.
  t.clock.now = retiresAt;
  expect(await publishedKids()).toEqual([newKid]);
  expect((await keys()).map((k) => [k['kid'], k['status']])).toEqual([
    [newKid, 'active'],
    [oldKid, 'retired'],
  ]);
  const after = await attest();
  expect(await signedBy(after)).toBe(newKid);
  expect(await hello(after)).toBe(200);

  // The next rotation erases the retired secret; tokens keep flowing.
  const next = await t.admin('POST', '/v1/admin/keys/rotate');
  expect(next.body).toMatchObject({ keysDeleted: [oldKid], keysNotDeleted: [] });
  expect((await keys()).find((k) => k['kid'] === oldKid)).toEqual({
    kid: oldKid,
    format: 'hs256',
    status: 'deleted',
    createdAt: expect.any(Number),
    activatesAt: expect.any(Number),
    retiresAt,
    deletionScheduledAt: t.clock.now,
  });
  expect(await hello(await attest())).toBe(200);
});

test('two rotations in a row leave exactly one signing key and both older keys retiring', async () => {
  const a = (await t.admin('POST', '/v1/admin/keys/rotate')).body['kid'] as string;
  t.clock.advance(5);
  const b = (await t.admin('POST', '/v1/admin/keys/rotate')).body['kid'] as string;
  t.clock.advance(KEY_PUBLICATION_SECONDS);
  const statuses = Object.fromEntries((await keys()).map((k) => [k['kid'], k['status']]));
  expect(statuses[b]).toBe('active');
  expect(statuses[a]).toBe('retiring');
  expect(Object.values(statuses).filter((s) => s === 'active')).toHaveLength(1);
  expect(await signedBy(await attest())).toBe(b);
});

test('switching to es256 and back fails no request at the deployment authorizer, which trusts both kinds during the switch', async () => {
  // Prepare
  const hs = await attest();
  expect(decodeProtectedHeader(hs).alg).toBe('HS256');

  // Act: to es256.
  const toEs = await t.admin('POST', '/v1/admin/keys/rotate', { format: 'es256' });
  expect(toEs.body).toMatchObject({ format: 'es256' });
  t.clock.advance(KEY_PUBLICATION_SECONDS);
  const es = await attest();

  // Assess
  expect(decodeProtectedHeader(es)).toEqual({ alg: 'ES256', typ: 'JWT', kid: toEs.body['kid'] });
  expect(decodeJwtPart(es, 1)['aud']).toBe('default');
  expect(await hello(es)).toBe(200);
  expect(await hello(hs)).toBe(200);
  expect(await tokenPasses(t, es)).toBe(true);
  expect((await t.admin('GET', '/v1/admin/keys/jwks')).body['keys']).toEqual([expect.objectContaining({ kid: toEs.body['kid'], alg: 'ES256' })]);

  // And back, which a rotation without a format would not do.
  expect((await t.admin('POST', '/v1/admin/keys/rotate')).body).toMatchObject({ format: 'es256' });
  const back = await t.admin('POST', '/v1/admin/keys/rotate', { format: 'hs256' });
  // Made right after the es256 one, it activates a second after it, so it is the one that signs.
  expect(back.body['activatesAt']).toBe(t.clock.now + KEY_PUBLICATION_SECONDS + 1);
  t.clock.now = back.body['activatesAt'] as number;
  const hsAgain = await attest();
  expect(decodeProtectedHeader(hsAgain).alg).toBe('HS256');
  expect(await signedBy(hsAgain)).toBe(back.body['kid']);
  expect(await hello(hsAgain)).toBe(200);
  expect(await hello(es)).toBe(200);
});

test('a rotation to an unknown format is a 400 naming the field, and changes nothing', async () => {
  const before = await keys();
  const res = await t.admin('POST', '/v1/admin/keys/rotate', { format: 'rs256' });
  expect(res).toEqual({ status: 400, body: { error: 'invalid_request', field: 'format', message: 'format must be hs256 or es256' } });
  expect(await keys()).toEqual(before);
});

test("one tenant's rotation leaves another's keys alone", async () => {
  const acme = await createTenant(t, 'acme-keys');
  const acmeBefore = (await t.admin('GET', '/v1/admin/keys', undefined, acme)).body;
  const defaultBefore = await keys();
  expect((await t.admin('POST', '/v1/admin/keys/rotate', undefined, acme)).status).toBe(201);
  expect(await keys()).toEqual(defaultBefore);
  expect(((await t.admin('GET', '/v1/admin/keys', undefined, acme)).body['keys'] as unknown[]).length).toBe((acmeBefore['keys'] as unknown[]).length + 1);
});

test('a tenant may rotate once an hour: concurrent or later rotations get 429 with Retry-After and create nothing; operators are exempt', async () => {
  // Prepare: a tenant credential that tries to create keys as fast as it can (ten in 215 ms once left twelve keys).
  const greedy = await createTenant(t, 'greedy-keys');
  const kmsKeysOf = async () => ((await t.admin('GET', '/v1/admin/keys', undefined, greedy)).body['keys'] as unknown[]).length;
  const before = await kmsKeysOf();

  // Act
  const burst = await Promise.all(Array.from({ length: 10 }, () => t.admin('POST', '/v1/admin/keys/rotate', { format: 'es256' }, greedy)));
  t.clock.advance(3599);
  const early = await signedAdminFetch(t.cloud, 'POST', '/v1/admin/keys/rotate', {}, greedy);
  const earlyBody = (await early.json()) as Record<string, unknown>;
  t.clock.advance(1);
  const onTime = await t.admin('POST', '/v1/admin/keys/rotate', undefined, greedy);
  const operator = [await t.admin('POST', '/v1/admin/keys/rotate'), await t.admin('POST', '/v1/admin/keys/rotate')];

  // Assess
  const statuses = burst.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(1);
  expect(statuses.filter((s) => s === 429)).toHaveLength(9);
  expect(burst.find((r) => r.status === 429)!.body).toEqual({
    error: 'rate_limited',
    message: expect.stringMatching(/^keys of tenant greedy-keys were rotated at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: one rotation an hour, try again after /),
  });
  expect([early.status, early.headers.get('retry-after')]).toEqual([429, '1']);
  expect(earlyBody['error']).toBe('rate_limited');
  expect(onTime.status).toBe(201);
  expect(await kmsKeysOf()).toBe(before + 2);
  expect(operator.map((r) => r.status)).toEqual([201, 201]);
});
