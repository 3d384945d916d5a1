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
