/**
 * Key rotation over the local cloud (docs/ADMIN_API.md §8): the new key is published before it
 * signs, old keys stay trusted for the longest token's life, then leave the JWKS. Token validity
 * is judged by jose against the JWKS and by the deployment's own authorizer (/demo/hello).
 */
import { randomBytes } from 'node:crypto';
import { registerBuildForTest } from '../support/local-admin';
import { decodeJwtPart, newInstallKey } from '../support/protocol-client';
import { KEY_PUBLICATION_SECONDS, RETIREMENT_DELAY_SECONDS } from '../../src/core/tenant-keys';
import { attestToken, createTenant, removeDir, startTestCloud, tokenPasses, type TestCloud } from './admin-support';

const APP = 'com.example.keys';
let t: TestCloud;
let build: Buffer;

const kidOf = (token: string) => decodeJwtPart(token, 0)['kid'] as string;
const attest = () => attestToken(t, { appId: APP, appVersion: '1.0.0', packageBytes: build, key: newInstallKey() });
async function hello(token: string): Promise<number> {
  return (await fetch(`${t.cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token } })).status;
}
async function keys(): Promise<Array<Record<string, unknown>>> {
  return (await t.admin('GET', '/v1/admin/keys')).body['keys'] as Array<Record<string, unknown>>;
}
async function jwksKids(): Promise<string[]> {
  return ((await t.admin('GET', '/v1/admin/keys/jwks')).body['keys'] as Array<{ kid: string }>).map((k) => k.kid).sort();
}

beforeAll(async () => {
  t = await startTestCloud();
  build = randomBytes(1024);
  await registerBuildForTest(t.cloud, { appId: APP, version: '1.0.0', bytes: build });
  // Tokens live as long as a policy allows, so the retirement window is tested at its edge.
  await t.admin('PUT', `/v1/admin/apps/${APP}/policy`, { tokenTtlSeconds: 3600, reject: { rooted: false, emulator: false, debugger: false, hooked: true } });
});

afterAll(async () => {
  await t?.stop();
  await removeDir(t.dataDir);
});

test('a rotation publishes the new key first, switches at activation, and retires the old key after the longest token', async () => {
  // Prepare: the deployment's authorizer has loaded the keys once already.
  const before = await attest();
  const oldKid = kidOf(before);
  expect(await hello(before)).toBe(200);
  expect(await keys()).toEqual([{ kid: oldKid, status: 'active', createdAt: expect.any(Number), activatesAt: expect.any(Number) }]);

  // Act: rotate.
  const rotatedAt = t.clock.now;
  const rotated = await t.admin('POST', '/v1/admin/keys/rotate');
  expect(rotated.status).toBe(201);
  const newKid = rotated.body['kid'] as string;
  const activatesAt = rotatedAt + KEY_PUBLICATION_SECONDS;
  const retiresAt = activatesAt + RETIREMENT_DELAY_SECONDS;
  expect(rotated.body).toEqual({ kid: newKid, activatesAt, keysDeleted: [], keysNotDeleted: [] });

  // Published, not yet signing.
  expect(await keys()).toEqual([
    { kid: newKid, status: 'pending', createdAt: rotatedAt, activatesAt },
    { kid: oldKid, status: 'active', createdAt: expect.any(Number), activatesAt: expect.any(Number), retiresAt },
  ]);
  expect(await jwksKids()).toEqual([newKid, oldKid].sort());
  t.clock.advance(KEY_PUBLICATION_SECONDS - 1);
  const lastOld = await attest();
  expect(kidOf(lastOld)).toBe(oldKid);
  expect(await hello(lastOld)).toBe(200);

  // Activation: new tokens carry the new kid and every verifier accepts them; old tokens still pass.
  t.clock.advance(1);
  const first = await attest();
  expect(kidOf(first)).toBe(newKid);
  expect(await tokenPasses(t, first)).toBe(true);
  expect(await hello(first)).toBe(200);
  expect(await hello(lastOld)).toBe(200);
  expect((await keys()).map((k) => [k['kid'], k['status']])).toEqual([
    [newKid, 'active'],
    [oldKid, 'retiring'],
  ]);

  // The last old token lives 3600 s; the old key outlives it.
  t.clock.now = (decodeJwtPart(lastOld, 1)['exp'] as number) - 1;
  expect(await tokenPasses(t, lastOld)).toBe(true);
  expect(await hello(lastOld)).toBe(200);
  t.clock.now = retiresAt - 1;
  expect(await jwksKids()).toEqual([newKid, oldKid].sort());

  // Retired: gone from the JWKS.
  t.clock.now = retiresAt;
  expect(await jwksKids()).toEqual([newKid]);
  expect((await keys()).map((k) => [k['kid'], k['status']])).toEqual([
    [newKid, 'active'],
    [oldKid, 'retired'],
  ]);
  const after = await attest();
  expect(kidOf(after)).toBe(newKid);
  expect(await hello(after)).toBe(200);

  // The next rotation schedules the retired key's deletion in KMS; tokens keep flowing.
  const next = await t.admin('POST', '/v1/admin/keys/rotate');
  expect(next.body).toMatchObject({ keysDeleted: [oldKid], keysNotDeleted: [] });
  expect((await keys()).find((k) => k['kid'] === oldKid)).toEqual({
    kid: oldKid,
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
  expect(kidOf(await attest())).toBe(b);
});

test("one tenant's rotation leaves another's keys alone", async () => {
  const acme = await createTenant(t, 'acme-keys');
  const acmeBefore = (await t.admin('GET', '/v1/admin/keys', undefined, acme)).body;
  const defaultBefore = await keys();
  expect((await t.admin('POST', '/v1/admin/keys/rotate', undefined, acme)).status).toBe(201);
  expect(await keys()).toEqual(defaultBefore);
  expect(((await t.admin('GET', '/v1/admin/keys', undefined, acme)).body['keys'] as unknown[]).length).toBe((acmeBefore['keys'] as unknown[]).length + 1);
});
