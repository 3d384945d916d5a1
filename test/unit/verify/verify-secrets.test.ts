/**
 * `attestor/verify` with hs256 secrets, the default token format: a secret set as
 * `attestor keys secret --json` prints it, or a function that fetches one (rotation without a
 * restart), and both formats at once while a tenant switches.
 */
import { createSecretKey, randomBytes } from 'node:crypto';
import { createVerifier, parseSecretSet, SecretSetError, type TokenSecretSet } from '../../../packages/verify/src/index';
import { ManualClock, generateTestKey } from '../../support/memory';
import { ISSUER, TENANT, claimsAt, codeOf, es256, forge, hs256 } from '../core/helpers';
import { startJwksServer } from './jwks-server';

const secretBytes = () => randomBytes(32);
const jwk = (kid: string, bytes: Buffer, extra: Record<string, unknown> = {}) => ({
  kty: 'oct' as const,
  kid,
  alg: 'HS256' as const,
  k: bytes.toString('base64url'),
  ...extra,
});
const mint = (clock: ManualClock, bytes: Buffer, claims: Record<string, unknown> = {}) =>
  forge({ alg: 'HS256', typ: 'JWT' }, claimsAt(clock.now, { jti: randomBytes(16).toString('base64url'), ...claims }), hs256(createSecretKey(bytes)));

describe('createVerifier with secrets', () => {
  it('verifies tokens MACed with a secret of the set, and denies a decoy as bad_signature', async () => {
    // Prepare
    const clock = new ManualClock();
    const current = secretBytes();
    const verifier = createVerifier({ issuer: ISSUER, secrets: { keys: [jwk('a', current)] }, clock });
    // Act / Assess
    expect((await verifier.verify(mint(clock, current))).sub).toBe(claimsAt(0)['sub']);
    expect(await codeOf(verifier.verify(mint(clock, secretBytes())))).toBe('bad_signature');
  });

  it('takes a function that fetches the set, and sees a rotation at its next refresh without a restart', async () => {
    // Prepare
    const clock = new ManualClock();
    const first = secretBytes();
    const second = secretBytes();
    let set: TokenSecretSet = { keys: [jwk('first', first)] };
    let fetches = 0;
    const verifier = createVerifier({ issuer: ISSUER, secrets: async () => (fetches++, set), clock, refreshIntervalSeconds: 30 });
    await verifier.verify(mint(clock, first));
    // Act: the tenant rotates; the store now holds both, the new one first.
    set = { keys: [jwk('second', second), jwk('first', first)] };
    clock.advance(30);
    await verifier.verify(mint(clock, first)); // triggers the background refresh
    await new Promise((resolve) => setImmediate(resolve));
    const claims = await verifier.verify(mint(clock, second));
    // Assess
    expect(claims.sub).toBe(claimsAt(0)['sub']);
    expect(fetches).toBe(2);
  });

  it('accepts hs256 and es256 tokens at once while a tenant switches formats', async () => {
    // Prepare
    const clock = new ManualClock();
    const key = generateTestKey();
    const server = await startJwksServer([key]);
    const secret = secretBytes();
    try {
      const verifier = createVerifier({ issuer: ISSUER, audience: TENANT, jwksUrl: server.url, secrets: { keys: [jwk('s', secret)] }, clock });
      const es = forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(clock.now, { aud: TENANT }), es256(key.privateKey));
      // Act / Assess
      expect((await verifier.verify(mint(clock, secret))).aud).toBeUndefined();
      expect((await verifier.verify(es)).aud).toBe(TENANT);
    } finally {
      await server.close();
    }
  });

  it("stops trusting a secret of the set at its retiresAt (+ 60 s skew), even in a set nobody updated", async () => {
    // Prepare: a set as `attestor keys secret --json` printed it during a rotation, kept unchanged.
    const clock = new ManualClock();
    const current = secretBytes();
    const retiring = secretBytes();
    const retiresAt = clock.now + 3690;
    const verifier = createVerifier({
      issuer: ISSUER,
      secrets: { keys: [jwk('new', current, { status: 'active' }), jwk('old', retiring, { status: 'retiring', retiresAt })] },
      clock,
    });
    // Act
    clock.advance(3690 + 59);
    const before = (await verifier.verify(mint(clock, retiring))).iss;
    clock.advance(1);
    const after = await codeOf(verifier.verify(mint(clock, retiring)));
    // Assess
    expect(before).toBe(ISSUER);
    expect(after).toBe('bad_signature');
    expect((await verifier.verify(mint(clock, current))).iss).toBe(ISSUER);
  });

  it('denies every token once the fetching function has failed for 300 s (a revoked Decrypt), and recovers with it', async () => {
    // Prepare
    const clock = new ManualClock();
    const secret = secretBytes();
    let failing = false;
    const verifier = createVerifier({
      issuer: ISSUER,
      secrets: async () => {
        if (failing) throw Object.assign(new Error('User is not authorized to perform: kms:Decrypt'), { name: 'AccessDeniedException' });
        return { keys: [jwk('s', secret)] };
      },
      clock,
    });
    const token = mint(clock, secret, { exp: clock.now + 3600 });
    await verifier.verify(token);
    failing = true;
    const outcome = () => verifier.verify(token).then(() => 'accepted', (e: Error) => e.name);
    // Act: under traffic every 30 s, each background refresh failing.
    const seen: string[] = [];
    for (let t = 30; t <= 330; t += 30) {
      clock.advance(30);
      seen.push(`${t}:${await outcome()}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    failing = false;
    clock.advance(5);
    const recovered = await outcome();
    // Assess
    expect(seen.slice(0, 9)).toEqual([30, 60, 90, 120, 150, 180, 210, 240, 270].map((t) => `${t}:accepted`));
    expect(seen.slice(9)).toEqual(['300:AccessDeniedException', '330:AccessDeniedException']);
    expect(recovered).toBe('accepted');
  });

  it('refuses a set without a usable secret at creation, naming the command that makes one', () => {
    expect(() => createVerifier({ issuer: ISSUER, secrets: { keys: [] } })).toThrow(SecretSetError);
    expect(() => createVerifier({ issuer: ISSUER, secrets: JSON.parse('"not a set"') })).toThrow(/attestor keys secret --json/);
  });
});

describe('parseSecretSet', () => {
  it('keeps HS256 oct keys of at least 32 bytes in the order given and skips everything else', () => {
    // Prepare
    const a = secretBytes();
    const b = secretBytes();
    const set = {
      keys: [
        jwk('a', a),
        { kty: 'EC', kid: 'ec', crv: 'P-256', x: 'x', y: 'y' },
        jwk('short', randomBytes(16)),
        jwk('rs', secretBytes(), { alg: 'RS256' }),
        jwk('enc', secretBytes(), { use: 'enc' }),
        { ...jwk('padded', secretBytes()), k: `${secretBytes().toString('base64url')}=` },
        jwk('b', b, { status: 'pending', activatesAt: 1 }),
        jwk('dup', secretBytes()),
        jwk('dup', secretBytes()),
      ],
    };
    // Act
    const secrets = parseSecretSet(set);
    // Assess
    expect(secrets.map((s) => s.kid)).toEqual(['a', 'b']);
    expect(secrets[0]!.key.export().equals(a)).toBe(true);
  });
});
