/**
 * Test tokens end to end against a real local cloud: minted through the CLI (the admin route, the
 * tenant's test secret made and wrapped by the local KMS), verified by @attestor/verify configured to
 * accept them, and refused, as an attacker would present them, by a default verifier holding the
 * tenant's production secrets and by the local gateway's default authorizer on /demo/hello. Each mint
 * is in `attestor log --test-tokens`, without the token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { run } from '../../packages/cli/src/main';
import { createVerifier, TokenVerificationError, type TokenSecretSet } from '../../packages/verify/src/index';
import { Capture, runCliAgainst } from './helpers';
import { ManualClock } from '../support/memory';
import { signedAdminFetch } from '../support/local-admin';

const APP = 'com.example.ci';
let dataDir: string;
let cloud: LocalCloud;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-test-tokens-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function cli(argv: string[]) {
  return runCliAgainst(cloud.endpoint, dataDir, argv);
}

const codeOf = (attempt: Promise<unknown>) =>
  attempt.then(
    () => 'accepted',
    (error: unknown) => (error instanceof TokenVerificationError ? error.code : `threw ${String(error)}`),
  );

describe('attestor token mint against the local cloud', () => {
  it('mints a test token that only a verifier accepting test tokens lets in, and records the mint', async () => {
    // Prepare: an app of the default tenant, and its production secrets.
    expect((await cli(['apps', 'create', APP])).code).toBe(0);
    const production = await cli(['keys', 'secret', '--json']);
    expect(production.code).toBe(0);
    const secrets = production.json<TokenSecretSet>();

    // Act: mint through the CLI (plain: only the token on stdout), then read the test secrets.
    const plain = await cli(['token', 'mint', '--app', APP]);
    const minted = await cli(['token', 'mint', '--app', APP, '--ttl', '10m', '--claims', 'ver=2.0.0', 'lut=true', '--json']);
    const testSecrets = await cli(['token', 'secret', '--json']);

    // Assess: the CLI's output.
    expect(plain.code).toBe(0);
    expect(plain.stdout.lines).toHaveLength(1);
    expect(plain.stderr.text).toMatch(/^test token for com\.example\.ci, expires .*; accepted only where test tokens are\n$/);
    expect(minted.code).toBe(0);
    const mint = minted.json<{ token: string; expiresAt: number; ttlSeconds: number; kid: string; claims: Record<string, unknown> }>();
    expect(mint).toMatchObject({ appId: APP, ttlSeconds: 600, claims: { ver: '2.0.0', lut: true } });
    expect(mint.kid).toMatch(/^test-[A-Za-z0-9_-]{22}$/);
    expect(testSecrets.code).toBe(0);
    const testSet = testSecrets.json<TokenSecretSet>();
    expect(testSet.keys.map((k) => k.kid)).toEqual([mint.kid]);
    // The test secret is not a production secret, nor derived from one in any visible way.
    expect(secrets.keys.map((k) => k.k)).not.toContain(testSet.keys[0]!.k);

    // Assess: a CI verifier configured for test tokens lets both in, and says what they are.
    const ci = createVerifier({ issuer: 'attestor', secrets, acceptTestTokens: true, testSecrets: testSet });
    const claims = await ci.verify(mint.token);
    expect(claims).toMatchObject({ sub: APP, ver: '2.0.0', lut: true, test: true, iss: 'attestor' });
    expect(claims.exp - claims.iat).toBe(600);
    expect((await ci.verify(plain.stdout.lines[0])).ver).toBe('test');

    // Assess: the attacker's view. A default verifier (the tenant's real secrets) refuses the test token...
    const production_ = createVerifier({ issuer: 'attestor', secrets });
    expect(await codeOf(production_.verify(mint.token))).toBe('test_token');
    // ...and so does the local gateway's default authorizer on the protected demo route.
    const demo = await fetch(`${cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': mint.token } });
    expect(demo.status).toBe(403);
    // A verifier holding the test secrets but not opted in refuses too (and cannot be built that way).
    expect(() => createVerifier({ issuer: 'attestor', secrets, testSecrets: testSet })).toThrow(/acceptTestTokens/);

    // Assess: both mints are in the audit log (one second apart at most, so in either order), without the token.
    const log = await cli(['log', '--test-tokens', '--json']);
    expect(log.code).toBe(0);
    expect(log.stdout.text).not.toContain(mint.token.split('.')[2]!);
    const entries = log.stdout.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toHaveLength(2);
    const ofTtl = (ttl: number) => entries.find((e) => e['ttlSeconds'] === ttl);
    expect(ofTtl(600)).toMatchObject({ appId: APP, kid: mint.kid, claimNames: ['ver', 'lut'], expiresAt: mint.expiresAt });
    expect(ofTtl(600)!['principal']).toMatch(/\S/);
    expect(ofTtl(300)).toMatchObject({ appId: APP, kid: mint.kid, claimNames: [] });
  });

  it('refuses bad input in one line, minting nothing', async () => {
    // Act
    const ttl = await cli(['token', 'mint', '--app', APP, '--ttl', '2h']);
    const claim = await cli(['token', 'mint', '--app', APP, '--claims', 'iss=someone']);
    const notKeyValue = await cli(['token', 'mint', '--app', APP, '--claims', 'ver']);
    const otherApp = await cli(['token', 'mint', '--app', 'com.example.nobody']);
    const log = await cli(['log', '--test-tokens', '--json']);

    // Assess
    for (const r of [ttl, claim, notKeyValue, otherApp]) {
      expect(r.code).not.toBe(0);
      expect(r.stdout.text).toBe('');
      expect(r.stderr.lines).toHaveLength(1);
    }
    expect(ttl.stderr.text).toMatch(/out of range: test tokens live 1m to 1h/);
    expect(claim.stderr.text).toMatch(/cannot set iss: may hold only ver, did, hw, pay, lut/);
    expect(notKeyValue.stderr.text).toMatch(/is not key=value/);
    expect(otherApp.stderr.text).toMatch(/no app com\.example\.nobody/);
    expect(log.stdout.lines).toHaveLength(2);
  });

  it('token rotate makes a new test secret and retires the others: a token of a retired one verifies nowhere that reads the new set', async () => {
    // Prepare: a token signed by the current test secret, never used (an attacker holding a leaked secret mints the same).
    const before = (await cli(['token', 'mint', '--app', APP, '--json'])).json<{ token: string; kid: string }>();
    const secrets = (await cli(['keys', 'secret', '--json'])).json<TokenSecretSet>();
    // Act
    const rotated = await cli(['token', 'rotate', '--json']);
    const human = await cli(['token', 'rotate']);
    const after = (await cli(['token', 'mint', '--app', APP, '--json'])).json<{ token: string; kid: string }>();
    const testSet = (await cli(['token', 'secret', '--json'])).json<TokenSecretSet>();
    // Assess: the first rotation retired the secret that signed `before`; the second, the first's.
    expect(rotated.code).toBe(0);
    const rotation = rotated.json<{ kid: string; createdAt: number; retired: string[] }>();
    expect(rotation.kid).toMatch(/^test-[A-Za-z0-9_-]{22}$/);
    expect(rotation.retired).toEqual([before.kid]);
    expect(human.code).toBe(0);
    expect(human.stdout.lines[0]).toMatch(/^kid +test-[A-Za-z0-9_-]{22}$/);
    expect(human.stdout.lines[2]).toBe(`retired  ${rotation.kid}`);
    expect(human.stderr.text).toContain('need the new set');
    // Only the newest secret is served, it signs new mints, and the retired one's token is refused.
    expect(testSet.keys.map((k) => k.kid)).toEqual([after.kid]);
    expect(after.kid).not.toBe(rotation.kid);
    const ci = createVerifier({ issuer: 'attestor', secrets, acceptTestTokens: true, testSecrets: testSet });
    await expect(ci.verify(after.token)).resolves.toMatchObject({ test: true });
    expect(await codeOf(ci.verify(before.token))).toBe('unknown_kid');
  });

  it('rotate takes no body but an empty one: anything else is a 400 naming it, and rotates nothing', async () => {
    const listed = async () => ((await (await signedAdminFetch(cloud, 'GET', '/v1/admin/tokens/test/secrets')).json()) as { keys: { kid: string }[] }).keys;
    const kids = (await listed()).map((k) => k.kid);
    const answers = [];
    for (const body of [{ a: 1 }, [], null, 'text']) {
      const res = await signedAdminFetch(cloud, 'POST', '/v1/admin/tokens/test/rotate', body);
      answers.push({ status: res.status, body: (await res.json()) as Record<string, unknown> });
    }
    const unknownMember = { error: 'invalid_request', field: 'a', message: 'a is not a field: this route takes an empty body' };
    expect(answers[0]).toEqual({ status: 400, body: unknownMember });
    for (const answer of answers.slice(1)) {
      expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_request', message: expect.stringMatching(/\S/) } });
    }
    expect((await listed()).map((k) => k.kid)).toEqual(kids);
    const mint = await signedAdminFetch(cloud, 'POST', '/v1/admin/tokens/test', { appId: APP, ttl: 60 });
    expect(await mint.json()).toEqual({ error: 'invalid_request', field: 'ttl', message: 'ttl is not a field: give appId, ttlSeconds and claims' });
  });

  it("an authorizer that accepts test tokens stops trusting a rotated-out secret at its next key refresh", async () => {
    // Prepare: a CI cloud on a manual clock; a token of its first test secret, not yet used.
    const ciDir = mkdtempSync(join(tmpdir(), 'attestor-test-tokens-rotate-'));
    const clock = new ManualClock(Math.floor(Date.now() / 1000));
    const ciCloud = await startLocalCloud({ dataDir: ciDir, port: 0, clock, authorizer: { acceptTestTokens: true } });
    try {
      const ciCli = (argv: string[]) => runCliAgainst(ciCloud.endpoint, ciDir, argv);
      expect((await ciCli(['apps', 'create', APP])).code).toBe(0);
      const old = (await ciCli(['token', 'mint', '--app', APP])).stdout.text.trim();
      const hello = (token: string) => fetch(`${ciCloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token } }).then((r) => r.status);
      // The first secret is trusted: another of its tokens gets in before the rotation.
      expect(await hello((await ciCli(['token', 'mint', '--app', APP])).stdout.text.trim())).toBe(200);
      // Act: rotate, then let the authorizer's key refresh come due and run.
      expect((await ciCli(['token', 'rotate'])).code).toBe(0);
      const fresh = (await ciCli(['token', 'mint', '--app', APP])).stdout.text.trim();
      clock.advance(31);
      let status = 0;
      for (let i = 0; i < 50 && status !== 403; i++) {
        status = await hello(old);
        if (status !== 403) await new Promise((r) => setTimeout(r, 20));
      }
      // Assess
      expect(status).toBe(403);
      expect(await hello(fresh)).toBe(200);
    } finally {
      await ciCloud.stop();
      rmSync(ciDir, { recursive: true, force: true });
    }
  });

  const optedIn = 'lets a test token through an authorizer opted in to test tokens (%s key source), and still refuses a forged one there';
  it.each(['kms', 'remote'] as const)(optedIn, async (keySource) => {
    // Prepare: a second local cloud whose authorizer accepts test tokens, as a CI stage's would; with
    // the remote source it reads them from GET /v1/admin/tokens/test/secrets, signed, and unwraps them.
    const ciDir = mkdtempSync(join(tmpdir(), 'attestor-test-tokens-ci-'));
    const ciCloud = await startLocalCloud({ dataDir: ciDir, port: 0, authorizer: { acceptTestTokens: true, keySource } });
    try {
      const ciCli = async (argv: string[]) => {
        const stdout = new Capture();
        const code = await run({ argv, env: { ATTESTOR_HOME: ciDir, ATTESTOR_ENDPOINT: ciCloud.endpoint }, cwd: ciDir, stdout, stderr: new Capture() });
        return { code, token: stdout.text.trim() };
      };
      expect((await ciCli(['apps', 'create', APP])).code).toBe(0);
      const minted = await ciCli(['token', 'mint', '--app', APP]);
      // A test token minted by the other cloud: same shape, another tenant secret.
      const foreign = (await cli(['token', 'mint', '--app', APP])).stdout.text.trim();
      const hello = (token: string) => fetch(`${ciCloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token } });
      // Act
      const accepted = await hello(minted.token);
      const refused = await hello(foreign);
      // Assess
      expect(minted.code).toBe(0);
      expect(accepted.status).toBe(200);
      expect(refused.status).toBe(403);
    } finally {
      await ciCloud.stop();
      rmSync(ciDir, { recursive: true, force: true });
    }
  });
});
