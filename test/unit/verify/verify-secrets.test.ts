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
const jwk = (kid: string, bytes: Buffer, extra: Record<string, unknown> = {}) => ({ kty: 'oct' as const, kid, alg: 'HS256' as const, k: bytes.toString('base64url'), ...extra });
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
