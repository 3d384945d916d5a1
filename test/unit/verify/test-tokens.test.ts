/**
 * Test tokens (PROTOCOL.md §5.7) at the verifier and in the minting use case: let in only where
 * accepted, never mixed with production keys, refused by default before any key is fetched, and
 * each mint audited without the token.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { createVerifier, type TokenSecretSet } from '../../../packages/verify/src/index';
import { AttestationVerifier, KeyRing } from '../../../packages/verify/src/core/verifier';
import type { TokenClaims } from '../../../packages/contracts/src/protocol';
import { TEST_TOKEN_TYPE, type TestTokenAuditEntry } from '../../../packages/contracts/src/test-tokens';
import { mintTestTokenSchema } from '../../../packages/contracts/src/test-token-validation';
import { parseRequest } from '../../../packages/contracts/src/validation';
import { mintTestToken, testToken, type MintTestTokenDeps } from '../../../packages/service/src/core/test-tokens';
import { hs256Token } from '../../../packages/service/src/core/token';
import { ManualClock } from '../../support/memory';
import { APP_ID, ISSUER, claimsAt, codeOf, forge } from '../core/helpers';

const secretOf = (kid: string) => ({ kid, bytes: randomBytes(32) });
const production = secretOf('prod-kid');
const test = secretOf('test-AAAAAAAAAAAAAAAAAAAAAA');
const set = (...s: Array<{ kid: string; bytes: Buffer }>): TokenSecretSet => ({
  keys: s.map((x) => ({ kty: 'oct', kid: x.kid, k: x.bytes.toString('base64url') })),
});
const hmac = (bytes: Buffer) => (input: Buffer) => createHmac('sha256', bytes).update(input).digest();
const testSigner = { kid: test.kid, secret: createSecretKey(test.bytes) };

let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock();
});
const claims = (extra: Record<string, unknown> = {}) => claimsAt(clock.now, { jti: randomBytes(16).toString('base64url'), ...extra }) as unknown as TokenClaims;
const accepting = () => createVerifier({ issuer: ISSUER, clock, secrets: set(production), acceptTestTokens: true, testSecrets: set(test) });

describe('a verifier and test tokens', () => {
  it('lets a test token in only when configured to accept them, and marks its claims', async () => {
    // Prepare
    const token = testToken(testSigner, claims());
    // Act / Assess
    expect(await accepting().verify(token)).toMatchObject({ sub: APP_ID, test: true });
    expect(await codeOf(createVerifier({ issuer: ISSUER, clock, secrets: set(production) }).verify(token))).toBe('test_token');
  });

  it('refuses a test token by default without fetching keys for it', async () => {
    // Prepare: a key source that counts its calls, loaded once.
    let fetches = 0;
    const verifier = createVerifier({ issuer: ISSUER, clock, secrets: async () => (fetches++, set(production)) });
    await verifier.verify(hs256Token(createSecretKey(production.bytes), claims()));
    // Act: a flood of test tokens, even with kids nobody holds.
    const codes = [];
    for (let i = 0; i < 20; i++) {
      const unknownKid = `test-${randomBytes(16).toString('base64url')}`;
      codes.push(await codeOf(verifier.verify(testToken({ kid: unknownKid, secret: testSigner.secret }, claims()))));
    }
    // Assess
    expect(new Set(codes)).toEqual(new Set(['test_token']));
    expect(fetches).toBe(1);
  });

  it('refuses a test token that another verifier sharing the key ring has cached', async () => {
    // Prepare: one ring (and so one verified-token cache) for a CI verifier and a default one.
    const keys = async () => ({ publicKeys: new Map(), secrets: [], testSecrets: [{ kid: test.kid, key: testSigner.secret }] });
    const ring = new KeyRing({ source: { keys }, tenantId: '', clock });
    const ci = new AttestationVerifier({ keyRing: ring, issuer: ISSUER, clock, acceptTestTokens: true });
    const strict = new AttestationVerifier({ keyRing: ring, issuer: ISSUER, clock });
    const token = testToken(testSigner, claims());
    // Act
    await ci.verify(token);
    // Assess
    expect(await codeOf(strict.verify(token))).toBe('test_token');
  });

  it('never verifies across the two kinds of key', async () => {
    // Prepare: the test secret on a production-shaped token, and a production secret on a test-shaped one.
    const testSecretAsProduction = hs256Token(testSigner.secret, claims());
    const productionAsTest = forge({ alg: 'HS256', typ: TEST_TOKEN_TYPE, kid: test.kid }, claims({ test: true }), hmac(production.bytes));
    // Act / Assess
    expect(await codeOf(accepting().verify(testSecretAsProduction))).toBe('bad_signature');
    expect(await codeOf(accepting().verify(productionAsTest))).toBe('bad_signature');
  });

  it('refuses a token whose header and test claim disagree, and a test header that names no test kid', async () => {
    const claimOnly = forge({ alg: 'HS256', typ: 'JWT' }, claims({ test: true }), hmac(production.bytes));
    const headerOnly = forge({ alg: 'HS256', typ: TEST_TOKEN_TYPE, kid: test.kid }, claims(), hmac(test.bytes));
    const productionKid = forge({ alg: 'HS256', typ: TEST_TOKEN_TYPE, kid: 'prod-kid' }, claims({ test: true }), hmac(production.bytes));
    for (const token of [claimOnly, headerOnly, productionKid]) expect(await codeOf(accepting().verify(token))).toBe('malformed');
  });

  it('checks a test token\'s lifetime like any token\'s', async () => {
    const token = testToken(testSigner, claims({ exp: clock.now + 60 }));
    const verifier = accepting();
    await verifier.verify(token);
    clock.advance(121);
    expect(await codeOf(verifier.verify(token))).toBe('expired');
  });

  it('is configured explicitly: acceptTestTokens and testSecrets come together', () => {
    expect(() => createVerifier({ issuer: ISSUER, secrets: set(production), acceptTestTokens: true })).toThrow(/acceptTestTokens needs testSecrets/);
    expect(() => createVerifier({ issuer: ISSUER, secrets: set(production), testSecrets: set(test) })).toThrow(/only with acceptTestTokens/);
  });

  it('refuses the test set given as secrets, where its holder could mint tokens taken for attestations\', and the reverse', async () => {
    // Prepare: what a CI system holding the test secret would try, had the backend been given the wrong file.
    const forged = hs256Token(createSecretKey(test.bytes), claims());
    // Act
    const swapped = () => createVerifier({ issuer: ISSUER, clock, secrets: set(test) });
    const mixed = () => createVerifier({ issuer: ISSUER, clock, secrets: set(production, test) });
    const reversed = () => createVerifier({ issuer: ISSUER, clock, secrets: set(production), acceptTestTokens: true, testSecrets: set(production) });
    const lazily = createVerifier({ issuer: ISSUER, clock, secrets: async () => set(test) });
    // Assess
    expect(swapped).toThrow(/secrets hold test secret test-A+: give test secrets \(attestor token secret\) as testSecrets/);
    expect(mixed).toThrow(/secrets hold test secret/);
    expect(reversed).toThrow(/testSecrets hold prod-kid, which is not a test secret/);
    await expect(lazily.verify(forged)).rejects.toThrow();
  });
});

describe('mintTestToken', () => {
  const caller = { tenantId: 'tenant-a', principal: 'arn:aws:iam::123456789012:role/ci', operator: false, role: 'admin' as const };
  const deps = (audit: TestTokenAuditEntry[] | undefined): MintTestTokenDeps => ({
    apps: { getApp: async (appId: string) => (appId === APP_ID ? ({ appId, tenantId: 'tenant-a' } as never) : undefined) },
    clock,
    random: { bytes: (n: number) => randomBytes(n) },
    testTokens: {
      issuer: ISSUER,
      keys: {
        testSigningSecret: async () => testSigner,
        wrappedTestSecrets: async () => ({ keys: [] }),
        rotateTestSecret: () => Promise.reject(new Error('minting never rotates')),
      },
      ...(audit ? { audit: { recordTestTokenMint: async (entry: TestTokenAuditEntry) => void audit.push(entry) } } : {}),
    },
  });
  const request = (body: unknown) => parseRequest(mintTestTokenSchema, body);

  it('mints with the default lifetime and the claims set, and records the mint without the token', async () => {
    // Prepare
    const audit: TestTokenAuditEntry[] = [];
    // Act
    const minted = await mintTestToken(deps(audit), caller, request({ appId: APP_ID, claims: { ver: '2.0.0', hw: 'android-key', lut: true } }));
    // Assess
    const verified = await accepting().verify(minted.token);
    expect(verified).toMatchObject({ iss: ISSUER, sub: APP_ID, ver: '2.0.0', hw: 'android-key', lut: true, test: true, exp: clock.now + 300 });
    expect(verified.cnf.jkt).toBe(verified.did);
    expect(audit).toEqual([
      {
        time: clock.now,
        tenantId: 'tenant-a',
        principal: caller.principal,
        appId: APP_ID,
        ttlSeconds: 300,
        expiresAt: clock.now + 300,
        kid: test.kid,
        jti: verified.jti,
        claimNames: ['ver', 'hw', 'lut'],
      },
    ]);
    expect(JSON.stringify(audit)).not.toContain(minted.token.split('.')[2]);
  });

  it('holds lifetimes to 60 s to 1 h and claims to the settable ones', () => {
    expect(request({ appId: APP_ID, ttlSeconds: 60 }).ttlSeconds).toBe(60);
    expect(request({ appId: APP_ID, ttlSeconds: 3600 }).ttlSeconds).toBe(3600);
    for (const ttlSeconds of [59, 3601, 1.5, '300']) {
      expect(() => request({ appId: APP_ID, ttlSeconds })).toThrow(/ttlSeconds must be a whole number of seconds from 60 to 3600/);
    }
    for (const name of ['iss', 'sub', 'exp', 'test', 'cnf']) expect(() => request({ appId: APP_ID, claims: { [name]: 'x' } })).toThrow(`cannot set ${name}`);
  });

  it("refuses another tenant's app as missing, and refuses to mint where it cannot audit", async () => {
    await expect(mintTestToken(deps([]), caller, request({ appId: 'com.example.other' }))).rejects.toThrow(/no app com\.example\.other/);
    await expect(mintTestToken(deps(undefined), caller, request({ appId: APP_ID }))).rejects.toThrow(/cannot be audited/);
  });
});
