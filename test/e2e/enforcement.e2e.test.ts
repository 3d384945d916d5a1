/**
 * Binding and proof of possession end to end: tokens from the real attest path (independent
 * protocol client), requests through the local gateway, the authorizer wired from the same
 * environment contract as the Lambda, single use in the DynamoDB ledger on dynalite.
 */
import { createHash } from 'node:crypto';
import { newInstallKey } from '../support/protocol-client';
import { bindingFor, makeProof } from '../support/proof';
import { attestToken, hello, startEnforcingCloud, type EnforcingCloud } from './enforcement-support';

describe('requireBinding', () => {
  let world: EnforcingCloud;
  beforeAll(async () => {
    world = await startEnforcingCloud({ requireBinding: true });
  });
  afterAll(() => world?.stop());

  test('a token bound to the Authorization header opens the API only with that header', async () => {
    // Prepare
    const { token } = await attestToken(world, { extra: { binding: bindingFor('Bearer alice-session') } });
    const before = world.recorder.verdicts.length;
    // Act
    const match = await hello(world, { 'Attestor-Token': token, Authorization: 'Bearer alice-session' });
    const other = await hello(world, { 'Attestor-Token': token, Authorization: 'Bearer mallory-session' });
    const none = await hello(world, { 'Attestor-Token': token });
    // Assess
    expect(match.status).toBe(200);
    expect(match.body['appId']).toBe('com.example.enforced');
    expect([other.status, none.status]).toEqual([403, 403]);
    expect(world.recorder.codesSince(before)).toEqual(['binding_mismatch', 'binding_mismatch']);
  });

  test('a token without a binding is denied where binding is required', async () => {
    const { token } = await attestToken(world);
    const before = world.recorder.verdicts.length;
    expect((await hello(world, { 'Attestor-Token': token, Authorization: 'Bearer alice-session' })).status).toBe(403);
    expect(world.recorder.codesSince(before)).toEqual(['binding_mismatch']);
  });

  test('the logs name the code and never the token or the Authorization value', async () => {
    const { token } = await attestToken(world, { extra: { binding: bindingFor('Bearer secret-42') } });
    await hello(world, { 'Attestor-Token': token, Authorization: 'Bearer secret-43' });
    const logged = JSON.stringify(world.recorder.logs);
    expect(logged).toContain('"code":"binding_mismatch"');
    expect(logged).not.toContain(token.split('.')[1]!);
    expect(logged).not.toContain('secret-4');
  });
});

describe('requireProof', () => {
  let world: EnforcingCloud;
  let url: string;
  beforeAll(async () => {
    world = await startEnforcingCloud({ requireProof: true });
    url = `${world.cloud.endpoint}/demo/hello`;
  });
  afterAll(() => world?.stop());

  async function attempt(proof: string | undefined, token: string, method = 'GET') {
    const before = world.recorder.verdicts.length;
    const res = await hello(world, { 'Attestor-Token': token, ...(proof === undefined ? {} : { 'Attestor-Proof': proof }) }, method);
    return { status: res.status, codes: world.recorder.codesSince(before) };
  }

  test('a fresh proof by the install key opens the API, on every request with the same token', async () => {
    const { token, key } = await attestToken(world);
    for (let i = 0; i < 3; i++) {
      expect(await attempt(makeProof({ key, token, method: 'GET', url, iat: world.clock.now }), token)).toEqual({ status: 200, codes: [] });
    }
  });

  test.each([
    ['missing', () => undefined],
    ['signed by another key (a stolen token)', (ctx: ProofContext) => makeProof({ ...ctx.base, key: newInstallKey() })],
    ['for another method', (ctx: ProofContext) => makeProof({ ...ctx.base, method: 'POST' })],
    ['for another path', (ctx: ProofContext) => makeProof({ ...ctx.base, url: ctx.base.url.replace('/demo/hello', '/demo/other') })],
    ['for another host', (ctx: ProofContext) => makeProof({ ...ctx.base, url: 'https://api.example.com/demo/hello' })],
    ['stale (iat 61 s ago)', (ctx: ProofContext) => makeProof({ ...ctx.base, iat: ctx.base.iat - 61 })],
    ['from the future (iat in 61 s)', (ctx: ProofContext) => makeProof({ ...ctx.base, iat: ctx.base.iat + 61 })],
    ['for another token', (ctx: ProofContext) => makeProof({ ...ctx.base, claims: { ath: createHash('sha256').update('other').digest('base64url') } })],
    ['of typ JWT', (ctx: ProofContext) => makeProof({ ...ctx.base, header: { typ: 'JWT' } })],
  ])('a proof %s is denied as proof_invalid', async (_what, build) => {
    const { token, key } = await attestToken(world);
    const proof = build({ base: { key, token, method: 'GET', url, iat: world.clock.now } });
    expect(await attempt(proof, token)).toEqual({ status: 403, codes: ['proof_invalid'] });
  });

  test('a replayed proof (same jti) is denied as replayed, even within its 60 s', async () => {
    const { token, key } = await attestToken(world);
    const proof = makeProof({ key, token, method: 'GET', url, iat: world.clock.now });
    expect(await attempt(proof, token)).toEqual({ status: 200, codes: [] });
    world.clock.advance(10);
    expect(await attempt(proof, token)).toEqual({ status: 403, codes: ['replayed'] });
  });

  test('a proof is bound to the request URL the client used, query aside', async () => {
    const { token, key } = await attestToken(world);
    const res = await hello(
      world,
      { 'Attestor-Token': token, 'Attestor-Proof': makeProof({ key, token, method: 'GET', url: `${url}?page=2`, iat: world.clock.now }) },
      'GET',
      '/demo/hello?page=3',
    );
    expect(res.status).toBe(200);
  });
});

interface ProofContext {
  readonly base: { key: ReturnType<typeof newInstallKey>; token: string; method: string; url: string; iat: number };
}
