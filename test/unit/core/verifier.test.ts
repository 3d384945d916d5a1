import type { VerificationKeys, VerificationKeySource } from '../../../packages/service/src/core/ports';
import { AttestationVerifier, KeySourceUnavailableError } from '../../../packages/verify/src/core/verifier';
import { CLOCK_SKEW_SECONDS, SECRET_CACHE_SECONDS } from '../../../packages/contracts/src/protocol';
import { createSecretKey, randomBytes } from 'node:crypto';
import { ManualClock, MemoryTokenKeys, generateTestKey, type TestKey } from '../../support/memory';
import { ISSUER, TENANT, claimsAt, es256, forge, codeOf, hs256 } from './helpers';

/** Wraps a key set the test can rotate; counts fetches and can hold them open. */
class CountingKeySource implements VerificationKeySource {
  calls = 0;
  readonly tenants: string[] = [];
  failWith: Error | undefined;
  private gate: Promise<void> | undefined;
  private release: (() => void) | undefined;
  constructor(public keySet: TestKey[]) {}

  async keys(tenantId: string): Promise<VerificationKeys> {
    this.calls++;
    this.tenants.push(tenantId);
    const snapshot = new Map(this.keySet.map((k) => [k.kid, k.publicKey] as const));
    await this.gate;
    if (this.failWith) throw this.failWith;
    return { publicKeys: snapshot, secrets: [] };
  }
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release?.();
    this.gate = undefined;
  }
}

function setup(keySet: TestKey[] = [generateTestKey()], refreshIntervalSeconds?: number) {
  const clock = new ManualClock();
  const source = new CountingKeySource(keySet);
  const verifier = new AttestationVerifier({
    keys: source,
    tenantId: TENANT,
    issuer: ISSUER,
    clock,
    ...(refreshIntervalSeconds ? { refreshIntervalSeconds } : {}),
  });
  const token = (key: TestKey) => forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now, { aud: TENANT }), es256(key.privateKey));
  return { clock, source, verifier, token };
}

describe('AttestationVerifier', () => {
  it("never accepts a genuine token with a character moved past Latin-1, its low byte kept (U+0161 for 'a')", async () => {
    // Prepare: an hs256 and an es256 token, and every character before the signature moved past
    // Latin-1 with its low byte kept. Reading one byte per character would see the signed bytes:
    // the same MAC, and (decoded leniently) the same claims, under another text.
    const keys = new MemoryTokenKeys();
    const key = generateTestKey();
    const { clock, verifier: es256Verifier, token: es256Token } = setup([key]);
    const hs256Verifier = new AttestationVerifier({ keys, tenantId: TENANT, issuer: ISSUER, clock });
    const cases = [
      { verifier: hs256Verifier, token: forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now), hs256(keys.secretFor(TENANT).key)) },
      { verifier: es256Verifier, token: es256Token(key) },
    ];

    for (const { verifier, token } of cases) {
      // Act
      const moved = (at: number) => token.slice(0, at) + String.fromCharCode(0x100 | token.charCodeAt(at)) + token.slice(at + 1);
      const twins = Array.from({ length: token.lastIndexOf('.') }, (_, at) => moved(at));
      const accepted: string[] = [];
      for (const twin of twins) if ((await verifier.verify(twin).catch(() => undefined)) !== undefined) accepted.push(twin);

      // Assess
      expect((await verifier.verify(token)).sub).toBe(claimsAt(clock.now)['sub']);
      expect(accepted).toEqual([]);
    }
  });

  it('loads the tenant keys once across many verifies within the refresh interval', async () => {
    // Prepare
    const key = generateTestKey();
    const { source, verifier, token, clock } = setup([key]);
    // Act
    for (let i = 0; i < 29; i++) {
      clock.advance(1);
      for (let j = 0; j < 3; j++) expect((await verifier.verify(token(key))).aud).toBe(TENANT);
    }
    // Assess
    expect(source.calls).toBe(1);
    expect(source.tenants).toEqual([TENANT]);
  });

  it('verifies hs256 tokens with the secrets of MemoryTokenKeys for its tenant', async () => {
    const keys = new MemoryTokenKeys();
    const clock = new ManualClock();
    const verifier = new AttestationVerifier({ keys, tenantId: TENANT, issuer: ISSUER, clock });
    const token = forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now), hs256(keys.secretFor(TENANT).key));
    expect((await verifier.verify(token)).sub).toBe(claimsAt(0)['sub']);
    const decoy = forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now), hs256(createSecretKey(randomBytes(32))));
    expect(await codeOf(verifier.verify(decoy))).toBe('bad_signature');
  });

  it('refetches once when an hs256 token matches no secret held (a rotation not seen yet), and no more than once per 30 s', async () => {
    // Prepare: the verifier holds the old secret; the source has moved on to a new one.
    const clock = new ManualClock();
    const oldSecret = { kid: 'old', key: createSecretKey(randomBytes(32)) };
    const newSecret = { kid: 'new', key: createSecretKey(randomBytes(32)) };
    let current = [oldSecret];
    let calls = 0;
    const verifier = new AttestationVerifier({
      keys: { keys: async () => (calls++, { publicKeys: new Map(), secrets: current }) },
      tenantId: TENANT,
      issuer: ISSUER,
      clock,
    });
    const mint = (key: typeof oldSecret) =>
      forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now, { jti: randomBytes(16).toString('base64url') }), hs256(key.key));
    await verifier.verify(mint(oldSecret));
    current = [newSecret, oldSecret];
    // Act
    const claims = await verifier.verify(mint(newSecret));
    const decoys = [];
    for (let i = 0; i < 5; i++) decoys.push(await codeOf(verifier.verify(mint({ kid: 'x', key: createSecretKey(randomBytes(32)) }))));
    // Assess
    expect(claims.sub).toBe(claimsAt(0)['sub']);
    expect(calls).toBe(2);
    expect(decoys).toEqual(Array(5).fill('bad_signature'));
  });

  it('does not fetch keys for a missing or malformed token', async () => {
    const { source, verifier } = setup();
    expect(await codeOf(verifier.verify(undefined))).toBe('missing');
    expect(await codeOf(verifier.verify('a.b'))).toBe('malformed');
    expect(source.calls).toBe(0);
  });

  it('refetches on an unknown kid at most once per 30 s', async () => {
    // Prepare
    const key = generateTestKey();
    const stranger = generateTestKey();
    const { source, verifier, token, clock } = setup([key], 3600); // no background refreshes in the way
    await verifier.verify(token(key));
    expect(source.calls).toBe(1);
    // Act / Assess: the first unknown kid refetches (it may be a freshly rotated key)...
    clock.advance(1);
    expect(await codeOf(verifier.verify(token(stranger)))).toBe('unknown_kid');
    expect(source.calls).toBe(2);
    // ...and a flood of unknown kids within the next 30 s fetches nothing more.
    for (let i = 0; i < 29; i++) {
      clock.advance(1);
      expect(await codeOf(verifier.verify(token(stranger)))).toBe('unknown_kid');
      expect(await codeOf(verifier.verify(token(generateTestKey())))).toBe('unknown_kid');
    }
    expect(source.calls).toBe(2);
    clock.advance(1); // 30 s after the refetch
    expect(await codeOf(verifier.verify(token(stranger)))).toBe('unknown_kid');
    expect(source.calls).toBe(3);
    for (let i = 0; i < 29; i++) {
      clock.advance(1);
      expect(await codeOf(verifier.verify(token(stranger)))).toBe('unknown_kid');
    }
    expect(source.calls).toBe(3);
    // Known kids never refetch.
    clock.advance(100);
    await verifier.verify(token(key));
    expect(source.calls).toBe(3);
  });

  it('does not refetch for the kid a cold load did not find', async () => {
    const { source, verifier, token } = setup([generateTestKey()]);
    expect(await codeOf(verifier.verify(token(generateTestKey())))).toBe('unknown_kid');
    expect(source.calls).toBe(1);
  });

  it('honours a custom refetch interval', async () => {
    const key = generateTestKey();
    const clock = new ManualClock();
    const source = new CountingKeySource([key]);
    const verifier = new AttestationVerifier({ keys: source, tenantId: TENANT, issuer: ISSUER, clock, refetchIntervalSeconds: 5 });
    const stranger = generateTestKey();
    const token = forge({ alg: 'ES256', typ: 'JWT', kid: stranger.kid }, claimsAt(clock.now, { aud: TENANT }), es256(stranger.privateKey));
    await codeOf(verifier.verify(token)); // cold load
    await codeOf(verifier.verify(token)); // first unknown-kid refetch
    expect(source.calls).toBe(2);
    clock.advance(4);
    await codeOf(verifier.verify(token));
    expect(source.calls).toBe(2);
    clock.advance(1);
    await codeOf(verifier.verify(token));
    expect(source.calls).toBe(3);
  });

  it('shares one load between concurrent cold verifies', async () => {
    // Prepare
    const key = generateTestKey();
    const { source, verifier, token } = setup([key]);
    source.hold();
    // Act
    const pending = Array.from({ length: 20 }, () => verifier.verify(token(key)));
    await Promise.resolve();
    source.open();
    const results = await Promise.all(pending);
    // Assess
    expect(results).toHaveLength(20);
    expect(source.calls).toBe(1);
  });

  it('shares one refetch between concurrent unknown-kid verifies', async () => {
    const key = generateTestKey();
    const stranger = generateTestKey();
    const { source, verifier, token, clock } = setup([key]);
    await verifier.verify(token(key));
    clock.advance(30);
    source.hold();
    const pending = Array.from({ length: 10 }, () => codeOf(verifier.verify(token(stranger))));
    await Promise.resolve();
    source.open();
    expect(new Set(await Promise.all(pending))).toEqual(new Set(['unknown_kid']));
    expect(source.calls).toBe(2);
  });

  it('lets in the first token of a freshly rotated key at once, and keeps the old key', async () => {
    // Prepare
    const oldKey = generateTestKey();
    const newKey = generateTestKey();
    const { source, verifier, token, clock } = setup([oldKey]);
    await verifier.verify(token(oldKey));
    source.keySet = [newKey, oldKey];
    // Act / Assess: no time has passed since the load, and the new kid still gets in.
    expect((await verifier.verify(token(newKey))).aud).toBe(TENANT);
    expect((await verifier.verify(token(oldKey))).aud).toBe(TENANT);
    expect(source.calls).toBe(2);
    clock.advance(10);
    expect((await verifier.verify(token(newKey))).aud).toBe(TENANT);
    expect(source.calls).toBe(2);
  });

  it('refreshes keys in the background once they are older than the refresh interval, without holding requests', async () => {
    // Prepare
    const oldKey = generateTestKey();
    const newKey = generateTestKey();
    const { source, verifier, token, clock } = setup([oldKey]);
    await verifier.verify(token(oldKey));
    source.keySet = [newKey];
    source.hold();
    // Act: past the refresh interval, a request triggers the refresh but is answered with the keys at hand.
    clock.advance(30);
    const during = await verifier.verify(token(oldKey));
    source.open();
    await new Promise((r) => setImmediate(r));
    // Assess: once the refresh landed, the retired key is gone and the new one is known without a refetch.
    expect(during.aud).toBe(TENANT);
    expect(source.calls).toBe(2);
    expect((await verifier.verify(token(newKey))).aud).toBe(TENANT);
    expect(source.calls).toBe(2);
    expect(await codeOf(verifier.verify(token(oldKey)))).toBe('unknown_kid');
  });

  it('keeps the keys it has when a background refresh fails', async () => {
    const key = generateTestKey();
    const { source, verifier, token, clock } = setup([key]);
    await verifier.verify(token(key));
    source.failWith = new Error('throttled');
    clock.advance(30);
    await verifier.verify(token(key));
    await new Promise((r) => setImmediate(r));
    expect((await verifier.verify(token(key))).aud).toBe(TENANT);
    expect(source.calls).toBe(2);
  });

  it(`fails closed once its last successful load is ${SECRET_CACHE_SECONDS} s old while the source fails, and recovers when a load succeeds`, async () => {
    // Prepare: keys loaded, then the source fails for good (a revoked kms:Decrypt, a disabled key, a failing route).
    const key = generateTestKey();
    const { source, verifier, token, clock } = setup([key]);
    await verifier.verify(token(key));
    const loadedAt = clock.now;
    source.failWith = new Error('AccessDeniedException');
    const settle = () => new Promise((r) => setImmediate(r));

    // Act / Assess: refreshes fail in the background while the loaded keys serve, up to the bound...
    for (let t = 30; t < SECRET_CACHE_SECONDS; t += 30) {
      clock.advance(30);
      expect((await verifier.verify(token(key))).aud).toBe(TENANT);
      await settle();
    }
    clock.advance(loadedAt + SECRET_CACHE_SECONDS - 1 - clock.now);
    expect((await verifier.verify(token(key))).aud).toBe(TENANT);
    // ...and from the bound on every request is denied, cached tokens included, as with no keys at all.
    clock.advance(1);
    const denied = await verifier.verify(token(key)).then(() => 'accepted', (e: Error) => e.message);
    const deniedLater = await Promise.all([1, 2, 3].map(() => verifier.verify(token(key)).then(() => 'accepted', (e: Error) => e.name)));
    clock.advance(3600);
    const dayLater = await verifier.verify(token(key)).then(() => 'accepted', (e: Error) => e.message);
    source.failWith = undefined;
    clock.advance(5);
    const recovered = await verifier.verify(token(key));

    expect(denied).toBe('AccessDeniedException');
    expect(deniedLater).toEqual(['KeySourceUnavailableError', 'KeySourceUnavailableError', 'KeySourceUnavailableError']);
    expect(dayLater).toBe('AccessDeniedException');
    expect(recovered.aud).toBe(TENANT);
  });

  it('refuses keys the source last confirmed too long ago, and trusts confirmed ones only for what is left of the bound', async () => {
    // Prepare: a caching source (KmsTenantKeys) says when KMS last vouched for its secret.
    const clock = new ManualClock();
    const secret = { kid: 's', key: createSecretKey(randomBytes(32)) };
    let confirmedAt = clock.now - SECRET_CACHE_SECONDS;
    const verifier = new AttestationVerifier({
      keys: { keys: async () => ({ publicKeys: new Map(), secrets: [secret], confirmedAt }) },
      tenantId: TENANT,
      issuer: ISSUER,
      clock,
      refreshIntervalSeconds: 3600,
    });
    const mint = () => forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now, { jti: randomBytes(16).toString('base64url') }), hs256(secret.key));

    // Act / Assess
    const stale = await verifier.verify(mint()).then(() => 'accepted', (e: Error) => e.name);
    clock.advance(5);
    confirmedAt = clock.now - 100;
    const accepted = (await verifier.verify(mint())).sub;
    clock.advance(SECRET_CACHE_SECONDS - 100 - 1);
    const lastSecond = (await verifier.verify(mint())).sub;
    clock.advance(1);
    const past = await verifier.verify(mint()).then(() => 'accepted', (e: Error) => e.name);

    expect(stale).toBe('KeySourceUnavailableError');
    expect(accepted).toBe(claimsAt(0)['sub']);
    expect(lastSecond).toBe(claimsAt(0)['sub']);
    expect(past).toBe('KeySourceUnavailableError');
  });

  it('asks once more when keys arrive already too old (a process frozen during the load), rather than failing the load', async () => {
    // Prepare: the first answer was confirmed just in time when asked for, and arrives after the clock moved on.
    const clock = new ManualClock();
    const secret = { kid: 's', key: createSecretKey(randomBytes(32)) };
    const answers: number[] = [];
    const verifier = new AttestationVerifier({
      keys: {
        keys: async () => {
          const confirmedAt = answers.length === 0 ? clock.now - SECRET_CACHE_SECONDS + 1 : clock.now;
          answers.push(confirmedAt);
          await Promise.resolve();
          clock.advance(answers.length === 1 ? 10 : 0);
          return { publicKeys: new Map(), secrets: [secret], confirmedAt };
        },
      },
      tenantId: TENANT,
      issuer: ISSUER,
      clock,
    });
    const token = forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now), hs256(secret.key));
    // Act / Assess
    expect((await verifier.verify(token)).sub).toBe(claimsAt(0)['sub']);
    expect(answers).toHaveLength(2);
  });

  describe(`a key with a retiresAt is not trusted after it (+ ${CLOCK_SKEW_SECONDS} s skew)`, () => {
    function retiringSetup() {
      const clock = new ManualClock();
      const retiring = { kid: 'retiring', key: createSecretKey(randomBytes(32)) };
      const current = { kid: 'current', key: createSecretKey(randomBytes(32)) };
      const esKey = generateTestKey();
      const retiresAt = clock.now + 600;
      let fail = false;
      const source: VerificationKeySource = {
        // A source that still lists the retired keys (a secret set nobody updated): only retiresAt can drop them.
        keys: async () => {
          if (fail) throw new Error('unreachable');
          return {
            publicKeys: new Map([[esKey.kid, esKey.publicKey]]),
            secrets: [current, retiring],
            retiresAt: new Map([
              [retiring.kid, retiresAt],
              [esKey.kid, retiresAt],
            ]),
          };
        },
      };
      const verifier = new AttestationVerifier({ keys: source, tenantId: TENANT, issuer: ISSUER, clock });
      const hsToken = (key: typeof current) =>
        forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now, { jti: randomBytes(16).toString('base64url') }), hs256(key.key));
      const esToken = () =>
        forge(
          { alg: 'ES256', typ: 'JWT', kid: esKey.kid },
          claimsAt(clock.now, { aud: TENANT, jti: randomBytes(16).toString('base64url') }),
          es256(esKey.privateKey),
        );
      return { clock, verifier, hsToken, esToken, retiring, current, retiresAt, failLoads: () => (fail = true) };
    }

    it('while loads succeed', async () => {
      // Prepare
      const { clock, verifier, hsToken, esToken, retiring, current, retiresAt } = retiringSetup();
      clock.advance(retiresAt - 100 - clock.now);
      const cached = hsToken(retiring);
      await verifier.verify(cached);
      // Act
      clock.advance(retiresAt + CLOCK_SKEW_SECONDS - 1 - clock.now);
      const before = [await verifier.verify(hsToken(retiring)), await verifier.verify(esToken()), await verifier.verify(cached)].map((c) => c.iss);
      clock.advance(1);
      const after = [await codeOf(verifier.verify(hsToken(retiring))), await codeOf(verifier.verify(esToken())), await codeOf(verifier.verify(cached))];
      // Assess: the other secret still verifies.
      expect(before).toEqual([ISSUER, ISSUER, ISSUER]);
      expect(after).toEqual(['bad_signature', 'unknown_kid', 'bad_signature']);
      expect((await verifier.verify(hsToken(current))).iss).toBe(ISSUER);
    });

    it('while loads fail', async () => {
      // Prepare: loaded 200 s before retirement; then the source fails, so the load-age bound alone would trust the keys 100 s past retiresAt.
      const { clock, verifier, hsToken, esToken, retiring, current, retiresAt, failLoads } = retiringSetup();
      clock.advance(retiresAt - 200 - clock.now);
      await verifier.verify(hsToken(current));
      failLoads();
      // Act
      clock.advance(200 + CLOCK_SKEW_SECONDS);
      // Neither retired secret nor retired key is trusted any more, so each asks for a refetch, which
      // fails: that is the key source's outage (the authorizer's 503, retried), never a pass.
      const retired = await Promise.all([verifier.verify(hsToken(retiring)), verifier.verify(esToken())].map((p) => p.catch((error: unknown) => error)));
      const kept = (await verifier.verify(hsToken(current))).iss;
      // Assess
      expect(retired.map((e) => e instanceof KeySourceUnavailableError)).toEqual([true, true]);
      expect(kept).toBe(ISSUER);
    });
  });

  it('drops a retired key after a refetch', async () => {
    const oldKey = generateTestKey();
    const newKey = generateTestKey();
    const { source, verifier, token, clock } = setup([oldKey]);
    await verifier.verify(token(oldKey));
    source.keySet = [newKey];
    clock.advance(1);
    await verifier.verify(token(newKey));
    expect(await codeOf(verifier.verify(token(oldKey)))).toBe('unknown_kid');
  });

  it('fails closed when the key source fails, backs off, and recovers once it works again', async () => {
    // Prepare
    const key = generateTestKey();
    const { source, verifier, token, clock } = setup([key]);
    source.failWith = new Error('key source unreachable');
    const settle = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
    // Act
    const failure = await settle(verifier.verify(token(key)));
    const duringBackoff = await Promise.all(Array.from({ length: 20 }, () => settle(verifier.verify(token(key)))));
    source.failWith = undefined;
    const stillBackingOff = await settle(verifier.verify(token(key)));
    clock.advance(5);
    const claims = await verifier.verify(token(key));
    // Assess
    expect((failure as Error).message).toBe('key source unreachable');
    expect(duringBackoff.every((e) => e instanceof KeySourceUnavailableError)).toBe(true);
    expect(stillBackingOff).toBeInstanceOf(KeySourceUnavailableError);
    expect(claims.aud).toBe(TENANT);
    expect(source.calls).toBe(2);
  });

  it('still checks signature and claims with cached keys', async () => {
    const key = generateTestKey();
    const { verifier, clock } = setup([key]);
    const expired = forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now - 1000, { aud: TENANT }), es256(key.privateKey));
    const otherAudience = forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now, { aud: 'tenant-b' }), es256(key.privateKey));
    const forged = forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now, { aud: TENANT }), es256(generateTestKey().privateKey));
    expect(await codeOf(verifier.verify(expired))).toBe('expired');
    expect(await codeOf(verifier.verify(otherAudience))).toBe('wrong_audience');
    expect(await codeOf(verifier.verify(forged))).toBe('bad_signature');
  });
});
