/**
 * What a protected API enforces beyond a valid token (binding, proof of possession, single use),
 * and the verified-token cache that must never let a request skip any of it.
 */
import * as nodeCrypto from 'node:crypto';
import { bindingMatches, bindingOf, checkBinding } from '../../../packages/verify/src/core/binding';
import type { VerificationKeys, VerificationKeySource } from '../../../packages/service/src/core/ports';
import { InMemoryReplayLedger, ReplayLedgerFullError, type ReplayLedger } from '../../../packages/verify/src/core/replay';
import { VerifiedTokenCache } from '../../../packages/verify/src/core/token-cache';
import { AttestationVerifier, EnforcementConfigurationError, KeyRing, type EnforcementOptions } from '../../../packages/verify/src/core/verifier';
import { TokenVerificationError } from '../../../packages/verify/src/core/verify';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { bindingFor, makeProof } from '../../support/proof';
import { ManualClock, generateTestKey, type TestKey } from '../../support/memory';
import { ISSUER, TENANT, claimsAt, es256, forge, newInstallKey, type InstallKey, codeOf } from './helpers';

// Counting wrappers around the real functions, to see which work a cache hit skips.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, verify: jest.fn(actual.verify), timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});
const verifyCalls = () => jest.mocked(nodeCrypto.verify).mock.calls.length;

const URL_ = 'https://api.example.com/orders';

class SwitchableKeys implements VerificationKeySource {
  constructor(public set: TestKey[]) {}
  async keys(): Promise<VerificationKeys> {
    return { publicKeys: new Map(this.set.map((k) => [k.kid, k.publicKey] as const)), secrets: [] };
  }
}

function world(enforcement: EnforcementOptions = {}) {
  const clock = new ManualClock();
  const key = generateTestKey();
  const source = new SwitchableKeys([key]);
  const verifier = new AttestationVerifier({ keys: source, tenantId: TENANT, issuer: ISSUER, clock, ...enforcement });
  const install = newInstallKey();
  const jkt = jwkThumbprint(install.jwk);
  const token = (claims: Record<string, unknown> = {}) =>
    forge(
      { alg: 'ES256', typ: 'JWT', kid: key.kid },
      claimsAt(clock.now, { aud: TENANT, jti: nodeCrypto.randomBytes(16).toString('base64url'), did: jkt, cnf: { jkt }, ...claims }),
      es256(key.privateKey),
    );
  const proof = (forToken: string, overrides: Partial<Parameters<typeof makeProof>[0]> = {}, by: InstallKey = install) =>
    makeProof({ key: by, token: forToken, method: 'GET', url: URL_, iat: clock.now, ...overrides });
  return { clock, key, source, verifier, install, jkt, token, proof };
}

describe('VerifiedTokenCache', () => {
  const someKey = generateTestKey().publicKey;
  const entry = (kid: string) => ({ claims: claimsAt(0) as never, key: someKey, kid });
  /** A token-shaped text whose signature segment is `name` hashed: distinct names, distinct signatures. */
  const tok = (name: string) => `h.c.${nodeCrypto.createHash('sha256').update(name).digest('base64url')}`;
  const signatureOf = (token: string) => token.slice(token.lastIndexOf('.') + 1);

  it('keeps a token in use through every turnover and drops the ones not used for a generation', () => {
    // Prepare: generations of two entries.
    const cache = new VerifiedTokenCache(4);
    cache.set(tok('a'), entry('a'));
    cache.set(tok('b'), entry('b')); // a and b become the old generation
    // Act: a is used again, b is not; two more generations of new tokens go by.
    cache.get(tok('a'));
    cache.set(tok('c'), entry('c')); // a and c the old generation, b dropped
    cache.get(tok('a'));
    cache.set(tok('d'), entry('d')); // a and d the old generation, c dropped
    // Assess
    expect(cache.get(tok('b'))).toBeUndefined();
    expect(cache.get(tok('c'))).toBeUndefined();
    expect(cache.get(tok('a'))?.kid).toBe('a');
    expect(cache.get(tok('d'))?.kid).toBe('d');
  });

  it('never grows past its size under a flood of distinct tokens', () => {
    const cache = new VerifiedTokenCache(100);
    for (let i = 0; i < 10_000; i++) {
      cache.set(tok(`t${i}`), entry('k'));
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    expect(cache.get(tok('t9999'))).toBeDefined();
    expect(cache.get(tok('t9899'))).toBeUndefined();
  });

  it('gives an entry only to the exact token text it was stored for', () => {
    // Prepare: two texts with the same signature segment (one of them forged), and two signatures
    // that share the first four characters the cache keys on.
    const cache = new VerifiedTokenCache(100);
    const genuine = tok('genuine');
    const signature = genuine.slice(genuine.lastIndexOf('.') + 1);
    const twin = `${signature.slice(0, 4)}${'A'.repeat(signature.length - 4)}`;
    cache.set(genuine, entry('genuine'));
    // Act + Assess
    expect(cache.get(`h.forged-claims.${signature}`)).toBeUndefined();
    expect(cache.get(`h.c.${twin}`)).toBeUndefined();
    expect(cache.get(genuine)?.kid).toBe('genuine');
    cache.delete(`h.c.${twin}`);
    expect(cache.get(genuine)?.kid).toBe('genuine');
  });

  it('admits a signature the second time it is offered, so a token used once is never remembered', () => {
    const cache = new VerifiedTokenCache(100);
    const a = signatureOf(tok('a'));
    const b = signatureOf(tok('b'));
    expect(cache.admit(a)).toBe(false);
    expect(cache.admit(b)).toBe(false);
    expect(cache.admit(a)).toBe(true);
    expect(cache.admit(b)).toBe(true);
    // A flood of signatures seen once clears the doorkeeper rather than filling it.
    for (let i = 0; i < 10_000; i++) cache.admit(signatureOf(tok(`flood${i}`)));
    const admittedEarly = Array.from({ length: 1000 }, (_, i) => cache.admit(signatureOf(tok(`fresh${i}`)))).filter(Boolean).length;
    expect(admittedEarly).toBeLessThan(50);
  });

  it('remembers nothing with size 0 and refuses a negative size', () => {
    const cache = new VerifiedTokenCache(0);
    cache.set(tok('a'), entry('a'));
    expect(new VerifiedTokenCache(1).maxEntries).toBe(1);
    expect(cache.get(tok('a'))).toBeUndefined();
    expect(cache.admit(signatureOf(tok('a')))).toBe(false);
    expect(cache.admit(signatureOf(tok('a')))).toBe(false);
    expect(() => new VerifiedTokenCache(-1)).toThrow(RangeError);
  });
});

describe('verified-token cache in the verifier', () => {
  it('verifies the signature of a token twice (seen once, then remembered), and not again while it is cached', async () => {
    // Prepare
    const { verifier, token } = world();
    const t = token();
    const before = verifyCalls();
    // Act
    const first = await verifier.verify(t);
    const second = await verifier.verify(t);
    const third = await verifier.verify(t);
    const fourth = await verifier.verify(t);
    // Assess
    expect(verifyCalls() - before).toBe(2);
    expect(first).toEqual(second);
    expect(fourth).toBe(third);
    expect(third).toBe(second);
    for (const claims of [first, second, third]) {
      expect(Object.isFrozen(claims)).toBe(true);
      expect(Object.isFrozen(claims.cnf)).toBe(true);
    }
  });

  it('does not remember a token used once: a flood of distinct valid tokens evicts nothing', async () => {
    const { verifier, token } = world();
    const inUse = token();
    await verifier.verify(inUse);
    await verifier.verify(inUse);
    for (let i = 0; i < 50; i++) await verifier.verify(token());
    const before = verifyCalls();
    await verifier.verify(inUse);
    expect(verifyCalls() - before).toBe(0);
  });

  it('still expires a cached token, and forgets it then', async () => {
    const { verifier, token, clock } = world();
    const t = token();
    await verifier.verify(t);
    await verifier.verify(t);
    const cached = verifyCalls();
    await verifier.verify(t);
    expect(verifyCalls()).toBe(cached);
    clock.advance(300 + 60);
    expect(await codeOf(verifier.verify(t))).toBe('expired');
    clock.now -= 360;
    const before = verifyCalls();
    await verifier.verify(t);
    expect(verifyCalls() - before).toBe(1);
  });

  it('denies a cached token once its key is no longer trusted', async () => {
    // Prepare
    const { verifier, token, source, clock } = world();
    const t = token();
    await verifier.verify(t);
    await verifier.verify(t);
    // Act: the key is retired; after the refresh interval the ring reloads in the background.
    source.set = [generateTestKey()];
    clock.advance(30);
    await verifier.verify(t);
    await new Promise((r) => setImmediate(r));
    // Assess
    expect(await codeOf(verifier.verify(t))).toBe('unknown_kid');
  });

  it('re-checks audience and issuer per verifier when verifiers share a ring', async () => {
    const clock = new ManualClock();
    const key = generateTestKey();
    const ring = new KeyRing({ source: new SwitchableKeys([key]), tenantId: TENANT, clock });
    const forA = new AttestationVerifier({ keyRing: ring, issuer: ISSUER, audience: TENANT, clock });
    const forB = new AttestationVerifier({ keyRing: ring, issuer: ISSUER, audience: 'tenant-b', clock });
    const otherIssuer = new AttestationVerifier({ keyRing: ring, issuer: 'someone-else', audience: TENANT, clock });
    const t = forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now, { aud: TENANT }), es256(key.privateKey));
    await forA.verify(t);
    await forA.verify(t);
    expect(ring.verifiedTokens.size).toBe(1);
    expect(await codeOf(forB.verify(t))).toBe('wrong_audience');
    expect(await codeOf(otherIssuer.verify(t))).toBe('wrong_issuer');
  });

  it('does not cache tokens that fail', async () => {
    const clock = new ManualClock();
    const key = generateTestKey();
    const ring = new KeyRing({ source: new SwitchableKeys([key]), tenantId: TENANT, clock });
    const verifier = new AttestationVerifier({ keyRing: ring, issuer: ISSUER, audience: TENANT, clock });
    const wrongAudience = forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now, { aud: 'x' }), es256(key.privateKey));
    const decoy = forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now, { aud: TENANT }), es256(generateTestKey().privateKey));
    expect(await codeOf(verifier.verify(wrongAudience))).toBe('wrong_audience');
    expect(await codeOf(verifier.verify(decoy))).toBe('bad_signature');
    expect(ring.verifiedTokens.size).toBe(0);
  });
});

describe('binding', () => {
  it('is b64u(SHA-256(UTF-8(value))), compared in constant time', () => {
    // Known answer: SHA-256("Bearer abc") computed independently.
    expect(bindingOf('Bearer abc')).toBe(nodeCrypto.createHash('sha256').update('Bearer abc').digest('base64url'));
    expect(bindingOf('Bearer abc')).toBe(bindingFor('Bearer abc'));
    expect(bindingOf('ü')).toBe(nodeCrypto.createHash('sha256').update(Buffer.from([0xc3, 0xbc])).digest('base64url'));
    const before = jest.mocked(nodeCrypto.timingSafeEqual).mock.calls.length;
    expect(bindingMatches(bindingOf('Bearer abc'), 'Bearer abc')).toBe(true);
    expect(jest.mocked(nodeCrypto.timingSafeEqual).mock.calls.length - before).toBe(1);
  });

  it.each([
    ['another value', bindingOf('Bearer abc'), 'Bearer abd'],
    ['no value', bindingOf('Bearer abc'), undefined],
    ['no pay', undefined, 'Bearer abc'],
    ['a pay that is not base64url', `${bindingOf('Bearer abc').slice(0, 42)}=`, 'Bearer abc'],
    ['a pay of the wrong length', bindingOf('Bearer abc').slice(0, 40), 'Bearer abc'],
    ['a pay with non-canonical trailing bits', `${bindingOf('x').slice(0, 42)}${'B'}`, 'x'],
  ])('does not match %s', (_what, pay, value) => {
    expect(bindingMatches(pay, value)).toBe(false);
    expect(() => checkBinding(claimsAt(0, pay === undefined ? {} : { pay }) as never, value)).toThrow(TokenVerificationError);
  });

  it('denies with binding_mismatch through the verifier, also for a cached token', async () => {
    // Prepare
    const { verifier, token } = world({ requireBinding: true });
    const bound = token({ pay: bindingOf('Bearer user-1') });
    // Act / Assess
    expect((await verifier.verifyRequest({ token: bound, binding: 'Bearer user-1' })).pay).toBe(bindingOf('Bearer user-1'));
    expect(await codeOf(verifier.verifyRequest({ token: bound, binding: 'Bearer user-2' }))).toBe('binding_mismatch');
    expect(await codeOf(verifier.verifyRequest({ token: bound }))).toBe('binding_mismatch');
    expect(await codeOf(verifier.verify(bound))).toBe('binding_mismatch');
    expect(await codeOf(verifier.verifyRequest({ token: token(), binding: 'Bearer user-1' }))).toBe('binding_mismatch');
  });

  it('is not checked where not required', async () => {
    const { verifier, token } = world();
    expect((await verifier.verifyRequest({ token: token({ pay: bindingOf('a') }), binding: 'b' })).sub).toBeDefined();
  });
});

describe('proof of possession through the verifier', () => {
  it('lets in a token with a fresh proof on every request, and no proof twice', async () => {
    // Prepare
    const w = world({ requireProof: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token();
    const first = w.proof(t);
    // Act / Assess
    expect((await w.verifier.verifyRequest({ token: t, proof: first, method: 'GET', url: URL_ })).cnf.jkt).toBe(w.jkt);
    expect((await w.verifier.verifyRequest({ token: t, proof: w.proof(t), method: 'GET', url: URL_ })).cnf.jkt).toBe(w.jkt);
    expect(await codeOf(w.verifier.verifyRequest({ token: t, proof: first, method: 'GET', url: URL_ }))).toBe('replayed');
  });

  it('denies a request without a proof, or with one for another token', async () => {
    const w = world({ requireProof: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token();
    expect(await codeOf(w.verifier.verifyRequest({ token: t, method: 'GET', url: URL_ }))).toBe('proof_invalid');
    expect(await codeOf(w.verifier.verify(t))).toBe('proof_invalid');
    expect(await codeOf(w.verifier.verifyRequest({ token: t, proof: w.proof(w.token()), method: 'GET', url: URL_ }))).toBe('proof_invalid');
  });

  it('denies a stolen token: a proof by any other key fails, even a valid JWS of its own', async () => {
    const w = world({ requireProof: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token();
    const thief = newInstallKey();
    expect(await codeOf(w.verifier.verifyRequest({ token: t, proof: w.proof(t, {}, thief), method: 'GET', url: URL_ }))).toBe('proof_invalid');
  });

  it('remembers a proof jti per install key until past its whole window', async () => {
    // Prepare
    const recorded: [string, number][] = [];
    const ledger: ReplayLedger = { consume: async (id, expiresAt) => (recorded.push([id, expiresAt]), true) };
    const w = world({ requireProof: true, ledger });
    const t = w.token();
    // Act
    await w.verifier.verifyRequest({ token: t, proof: w.proof(t, { jti: 'proof-jti-1' }), method: 'GET', url: URL_ });
    // Assess
    expect(recorded).toEqual([[`proof#${w.jkt}#proof-jti-1`, w.clock.now + 120]]);
  });
});

describe('single use', () => {
  it('lets a token in once and denies it as replayed after', async () => {
    const w = world({ limitedUse: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token({ lut: true });
    expect((await w.verifier.verify(t)).lut).toBe(true);
    expect(await codeOf(w.verifier.verify(t))).toBe('replayed');
  });

  it('lets exactly one of 100 concurrent requests with one token in', async () => {
    const w = world({ limitedUse: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token({ lut: true });
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => w.verifier.verify(t)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && (r.reason as TokenVerificationError).code === 'replayed')).toHaveLength(99);
  });

  it('denies a single-use token replayed with a malleated signature (r, n - s): the high-s twin is not a valid signature', async () => {
    // Prepare: (r, n - s) verifies as well as (r, s) in plain ECDSA, so the token text differs but the
    // jti does not; the protocol accepts only low s (PROTOCOL.md §4.4), so the twin is refused outright.
    const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
    const w = world({ limitedUse: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token({ lut: true });
    const [h, p, s] = t.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    const flipped = Buffer.from((n - BigInt(`0x${sig.subarray(32).toString('hex')}`)).toString(16).padStart(64, '0'), 'hex');
    const malleated = `${h}.${p}.${Buffer.concat([sig.subarray(0, 32), flipped]).toString('base64url')}`;
    // Act / Assess
    expect((await w.verifier.verify(t)).lut).toBe(true);
    expect(malleated).not.toBe(t);
    expect(await codeOf(w.verifier.verify(malleated))).toBe('bad_signature');
  });

  it('consumes every token where enforced, so a reusable token cannot stand in for a single-use one', async () => {
    const w = world({ limitedUse: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token();
    await w.verifier.verify(t);
    expect(await codeOf(w.verifier.verify(t))).toBe('replayed');
  });

  it('records the token id per audience until exp plus skew', async () => {
    const recorded: [string, number][] = [];
    const ledger: ReplayLedger = { consume: async (id, expiresAt) => (recorded.push([id, expiresAt]), true) };
    const w = world({ limitedUse: true, ledger });
    await w.verifier.verify(w.token({ jti: 'token-jti-1', lut: true }));
    expect(recorded).toEqual([[`token#${TENANT}#token-jti-1`, w.clock.now + 300 + 60]]);
  });

  it('does not use up a token on a request that fails another check', async () => {
    const w = world({ limitedUse: true, requireProof: true, ledger: new InMemoryReplayLedger({ clock: new ManualClock() }) });
    const t = w.token({ lut: true });
    expect(await codeOf(w.verifier.verifyRequest({ token: t, proof: w.proof(t, { method: 'POST' }), method: 'GET', url: URL_ }))).toBe('proof_invalid');
    expect((await w.verifier.verifyRequest({ token: t, proof: w.proof(t), method: 'GET', url: URL_ })).lut).toBe(true);
    expect(await codeOf(w.verifier.verifyRequest({ token: t, proof: w.proof(t), method: 'GET', url: URL_ }))).toBe('replayed');
  });

  it('fails closed when the ledger cannot be reached', async () => {
    const ledger: ReplayLedger = { consume: async () => Promise.reject(new Error('ProvisionedThroughputExceededException')) };
    const w = world({ limitedUse: true, ledger });
    await expect(w.verifier.verify(w.token({ lut: true }))).rejects.toThrow('ProvisionedThroughputExceededException');
  });

  it('refuses to be built without a ledger', () => {
    const clock = new ManualClock();
    const keys = new SwitchableKeys([]);
    expect(() => new AttestationVerifier({ keys, tenantId: TENANT, issuer: ISSUER, clock, limitedUse: true })).toThrow(EnforcementConfigurationError);
    expect(() => new AttestationVerifier({ keys, tenantId: TENANT, issuer: ISSUER, clock, requireProof: true })).toThrow(/need a ledger/);
  });
});

describe('InMemoryReplayLedger', () => {
  it('accepts an id again only after it expired', async () => {
    const clock = new ManualClock();
    const ledger = new InMemoryReplayLedger({ clock });
    expect(await ledger.consume('a', clock.now + 10)).toBe(true);
    expect(await ledger.consume('a', clock.now + 10)).toBe(false);
    expect(await ledger.consume('b', clock.now + 10)).toBe(true);
    clock.advance(10);
    expect(await ledger.consume('a', clock.now + 10)).toBe(true);
  });

  it('sweeps expired ids when full and refuses (so callers deny) when still full', async () => {
    const clock = new ManualClock();
    const ledger = new InMemoryReplayLedger({ clock, maxEntries: 2 });
    await ledger.consume('a', clock.now + 5);
    await ledger.consume('b', clock.now + 50);
    await expect(ledger.consume('c', clock.now + 50)).rejects.toBeInstanceOf(ReplayLedgerFullError);
    clock.advance(5);
    expect(await ledger.consume('c', clock.now + 50)).toBe(true);
    expect(await ledger.consume('b', clock.now + 50)).toBe(false);
  });
});
