/**
 * Single use, monitor mode and keys from the IAM-authorized JWKS route, end to end over the local
 * gateway with the authorizer wired from the Lambda's environment contract.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_NAMES } from '../../packages/local/src/cloud';
import { attestToken, hello, startEnforcingCloud, type EnforcingCloud } from './enforcement-support';

describe('limitedUse', () => {
  let world: EnforcingCloud;
  beforeAll(async () => {
    world = await startEnforcingCloud({ limitedUse: true });
  });
  afterAll(() => world?.stop());

  test('of 100 concurrent requests with one single-use token exactly one gets through', async () => {
    // Prepare
    const { token } = await attestToken(world, { extra: { limitedUse: true } });
    const before = world.recorder.verdicts.length;
    // Act
    const results = await Promise.all(Array.from({ length: 100 }, () => hello(world, { 'Attestor-Token': token })));
    // Assess
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 403)).toHaveLength(99);
    expect(world.recorder.codesSince(before)).toEqual(Array(99).fill('replayed'));
  });

  test('the token id is recorded in the ledger table until the token expires (plus skew)', async () => {
    const { token } = await attestToken(world, { extra: { limitedUse: true } });
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string; exp: number; lut: boolean };
    expect(claims.lut).toBe(true);
    expect((await hello(world, { 'Attestor-Token': token })).status).toBe(200);
    const { Item } = await world.cloud.services.clients
      .dynamodb()
      .send(new GetItemCommand({ TableName: LOCAL_NAMES.tokenLedgerTable, Key: { id: { S: `token#${claims.jti}` } }, ConsistentRead: true }));
    expect(Item?.['ttl']).toEqual({ N: String(claims.exp + 60) });
  });

  test('a token that failed attestation is denied without using up anything', async () => {
    const tampered = Buffer.from(world.build);
    tampered[7] = tampered[7]! ^ 1;
    const { token } = await attestToken(world, { packageBytes: tampered, extra: { limitedUse: true } });
    const before = world.recorder.verdicts.length;
    expect((await hello(world, { 'Attestor-Token': token })).status).toBe(403);
    expect(world.recorder.codesSince(before)).toEqual(['bad_signature']);
  });
});

describe('monitor mode', () => {
  let world: EnforcingCloud;
  beforeAll(async () => {
    world = await startEnforcingCloud({ mode: 'monitor' });
  });
  afterAll(() => world?.stop());

  test('lets every request through and records each verdict with its code', async () => {
    // Prepare
    const { token } = await attestToken(world);
    const tampered = Buffer.from(world.build);
    tampered[0] = tampered[0]! ^ 1;
    const { token: decoy } = await attestToken(world, { packageBytes: tampered });
    const before = world.recorder.verdicts.length;
    // Act
    const results = [
      await hello(world, { 'Attestor-Token': token }),
      await hello(world, {}),
      await hello(world, { 'Attestor-Token': 'not.a.token' }),
      await hello(world, { 'Attestor-Token': decoy }),
    ];
    // Assess: all through; only the valid one carries the app's identity to the backend.
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(results.map((r) => r.body['appId'] ?? null)).toEqual(['com.example.enforced', null, null, null]);
    expect(world.recorder.verdicts.slice(before)).toEqual([
      { result: 'valid', code: 'valid', mode: 'monitor', appId: 'com.example.enforced' },
      { result: 'missing', code: 'missing', mode: 'monitor' },
      { result: 'invalid', code: 'malformed', mode: 'monitor' },
      { result: 'invalid', code: 'bad_signature', mode: 'monitor' },
    ]);
    const monitored = world.recorder.logs.filter((l) => l.event === 'token_monitored').slice(-4);
    expect(monitored.map((l) => l.fields)).toEqual([
      { result: 'valid', code: 'valid', path: '/demo/hello' },
      { result: 'missing', code: 'missing', path: '/demo/hello' },
      { result: 'invalid', code: 'malformed', path: '/demo/hello' },
      { result: 'invalid', code: 'bad_signature', path: '/demo/hello' },
    ]);
  });
});

describe('keys from the admin routes (KEY_SOURCE=remote: SigV4-signed fetches, secrets unwrapped with KMS)', () => {
  let world: EnforcingCloud;
  beforeAll(async () => {
    world = await startEnforcingCloud({ keySource: 'remote' });
  });
  afterAll(() => world?.stop());

  test('a genuine token gets in, a decoy and a missing token do not', async () => {
    const { token } = await attestToken(world);
    const tampered = Buffer.from(world.build);
    tampered[3] = tampered[3]! ^ 1;
    const { token: decoy } = await attestToken(world, { packageBytes: tampered });
    expect((await hello(world, { 'Attestor-Token': token })).status).toBe(200);
    expect((await hello(world, { 'Attestor-Token': decoy })).status).toBe(403);
    expect((await hello(world, {})).status).toBe(401);
  });
});
