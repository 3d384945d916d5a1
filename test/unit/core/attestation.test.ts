import { createHash, createPublicKey } from 'node:crypto';
import { UNREGISTERED_APP } from '../../../packages/contracts/src/metrics';
import { attest, issueChallenge, nonceId, NonceInvalidError, type AttestResult } from '../../../packages/service/src/core/attestation';
import { decodeB64u } from '../../../packages/contracts/src/base64url';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import type { Policy } from '../../../packages/service/src/core/policy';
import type { AttestationLogEntry } from '../../../packages/service/src/core/ports';
import { TenantKeyMissingError } from '../../../packages/service/src/core/tenant-keys';
import { HS256_HEADER } from '../../../packages/contracts/src/protocol';
import { verifyTokenWithKeys, TokenVerificationError } from '../../../packages/verify/src/core/verify';
import { APP_ID, BUILD, ISSUER, TENANT, TOKEN_TTL, VERSION, genuineRequest, makeWorld, newInstallKey, parts, thrown, type World } from './helpers';

async function verifyAgainstTenant(world: World, token: string, tenantId = TENANT) {
  return verifyTokenWithKeys(token, await world.keys.keys(tenantId), { issuer: ISSUER, audience: tenantId, nowSeconds: world.clock.now });
}

/** hs256 claims: no aud (PROTOCOL.md §5.2). */
const CLAIM_ORDER = ['iss', 'sub', 'iat', 'exp', 'jti', 'ver', 'did', 'cnf'];
const ES256_CLAIM_ORDER = ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'ver', 'did', 'cnf'];

/** Same header, same claim names in the same order, same length. */
function expectIndistinguishable(failing: string, passing: string): void {
  const f = parts(failing);
  const p = parts(passing);
  expect(f.raw[0]).toBe(p.raw[0]);
  expect(Object.keys(f.claims)).toEqual(Object.keys(p.claims));
  expect(failing.length).toBe(passing.length);
  expect(f.raw.map((s) => s.length)).toEqual(p.raw.map((s) => s.length));
}

describe('issueChallenge', () => {
  it('stores only the hash of a 32-byte nonce, for the app, for 60 s', async () => {
    // Prepare
    const world = makeWorld();
    // Act
    const challenge = await issueChallenge(world.deps, { appId: APP_ID });
    // Assess
    const nonce = decodeB64u(challenge.nonce)!;
    expect(nonce).toHaveLength(32);
    expect(challenge.expiresAt).toBe(world.clock.now + 60);
    expect([...world.nonces.records.values()]).toEqual([{ nonceId: nonceId(nonce), appId: APP_ID, expiresAt: world.clock.now + 60 }]);
    expect(nonceId(nonce)).toBe(createHash('sha256').update(nonce).digest('base64url'));
    expect(world.nonces.records.has(challenge.nonce)).toBe(false);
  });
});

describe('attest', () => {
  describe('a genuine request', () => {
    let world: World;
    let result: AttestResult;
    const installKey = newInstallKey();

    beforeAll(async () => {
      world = makeWorld();
      result = await attest(world.deps, await genuineRequest(world, { installKey }));
    });

    it('passes with no reasons and is MACed with the tenant secret', async () => {
      expect(result.verdict).toEqual({
        passed: true,
        outcome: 'pass',
        reasons: [],
        tenantId: TENANT,
        appKnown: true,
        did: jwkThumbprint(installKey.jwk),
        jti: parts(result.token).claims['jti'],
        time: world.clock.now,
      });
      expect(world.keys.signingKeyCalls).toEqual([TENANT]);
      await expect(verifyAgainstTenant(world, result.token)).resolves.toMatchObject({ sub: APP_ID });
    });

    it('mints a token that verify.ts accepts against the tenant keys', async () => {
      const claims = await verifyAgainstTenant(world, result.token);
      expect(claims.sub).toBe(APP_ID);
    });

    it('carries sub, ver, did, cnf.jkt and the deployment lifetime, and names neither tenant nor key', () => {
      // Act
      const { header, claims, raw, signature } = parts(result.token);
      // Assess
      const did = jwkThumbprint(installKey.jwk);
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(raw[0]).toBe(HS256_HEADER);
      expect(signature).toHaveLength(32);
      expect(Object.keys(claims)).toEqual(CLAIM_ORDER);
      expect(claims).toMatchObject({ iss: ISSUER, sub: APP_ID, ver: VERSION, did, cnf: { jkt: did }, iat: world.clock.now });
      expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(TOKEN_TTL);
      expect(result.expiresAt).toBe(claims['exp']);
      expect(claims['jti']).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(claims).not.toHaveProperty('pay');
      expect(claims).not.toHaveProperty('lut');
    });

    it('consumes the nonce', () => {
      expect(world.nonces.records.size).toBe(0);
    });
  });

  it('carries a binding as pay and limitedUse as lut, after the fixed claims', async () => {
    // Prepare
    const world = makeWorld();
    const binding = createHash('sha256').update('order-42').digest('base64url');
    // Act
    const result = await attest(world.deps, await genuineRequest(world, { binding, limitedUse: true }));
    // Assess
    const { claims } = parts(result.token);
    expect(result.verdict.passed).toBe(true);
    expect(Object.keys(claims)).toEqual([...CLAIM_ORDER, 'pay', 'lut']);
    expect(claims['pay']).toBe(binding);
    expect(claims['lut']).toBe(true);
    expect((await verifyAgainstTenant(world, result.token)).pay).toBe(binding);
  });

  it('omits lut when limitedUse is false', async () => {
    const world = makeWorld();
    const result = await attest(world.deps, await genuineRequest(world, { limitedUse: false }));
    expect(parts(result.token).claims).not.toHaveProperty('lut');
  });

  it('gives every token the deployment lifetime, whatever a policy stored by protocol 1 said', async () => {
    // Prepare
    const world = makeWorld();
    world.registry.policies.set(APP_ID, { tokenTtlSeconds: 120, reject: { rooted: true, emulator: false, debugger: false, hooked: true } } as Policy);
    const deps = { ...world.deps, tokenTtlSeconds: 900 };
    // Act
    const result = await attest(deps, await genuineRequest(world));
    // Assess
    const { claims } = parts(result.token);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(900);
    expect(result.expiresAt).toBe(world.clock.now + 900);
  });

  describe('failing requests get a decoy token indistinguishable from a passing one', () => {
    const OTHER_APP = 'com.example.ppa'; // same length as APP_ID
    const OTHER_VERSION = '9.9.9'; // same length as VERSION
    const STRICT: Policy = { reject: { rooted: false, emulator: false, debugger: false, hooked: true }, minSdkVersion: '2.0.0' };

    interface Case {
      readonly name: string;
      readonly reasons: readonly string[];
      readonly arrange?: (world: World) => void;
      readonly options?: Parameters<typeof genuineRequest>[1];
      /** Replaces fields of the request after it was built. */
      readonly tamper?: (request: Awaited<ReturnType<typeof genuineRequest>>) => Awaited<ReturnType<typeof genuineRequest>>;
    }

    const cases: Case[] = [
      { name: 'unknown app', reasons: ['app_unknown', 'version_unknown'], options: { appId: OTHER_APP } },
      {
        name: 'unknown app whose version happens to be registered',
        reasons: ['app_unknown'],
        arrange: (w) =>
          w.registry.registrations.set(`${OTHER_APP}\0${VERSION}`, { ...w.registry.registrations.get(`${APP_ID}\0${VERSION}`)!, appId: OTHER_APP }),
        options: { appId: OTHER_APP },
      },
      { name: 'unknown version', reasons: ['version_unknown'], options: { appVersion: OTHER_VERSION } },
      {
        name: 'expired registration',
        reasons: ['registration_expired'],
        arrange: (w) => {
          const key = `${APP_ID}\0${VERSION}`;
          w.registry.registrations.set(key, { ...w.registry.registrations.get(key)!, expiresAt: w.clock.now });
        },
      },
      { name: 'measurement mismatch (modified build)', reasons: ['measurement_mismatch'], options: { build: Buffer.concat([BUILD, Buffer.from('!')]) } },
      { name: 'bad install proof', reasons: ['install_proof_invalid'], options: { installProof: Buffer.alloc(64, 1).toString('base64url') } },
      {
        name: 'install proof by another key',
        reasons: ['install_proof_invalid'],
        tamper: (r) => ({ ...r, installKey: newInstallKey().jwk }),
      },
      {
        name: 'install key off the curve',
        reasons: ['install_proof_invalid'],
        tamper: (r) => {
          const y = Buffer.from(r.installKey.y, 'base64url');
          y[0]! ^= 1;
          return { ...r, installKey: { ...r.installKey, y: y.toString('base64url') } };
        },
      },
      { name: 'hooked device under the default policy', reasons: ['device_hooked'], options: { signals: { hooked: true } } },
      {
        name: 'SDK older than the stored policy allows',
        reasons: ['sdk_too_old'],
        arrange: (w) => w.registry.policies.set(APP_ID, STRICT),
        options: { sdkVersion: '1.9.9' },
      },
      {
        name: 'several failures at once',
        reasons: ['version_unknown', 'install_proof_invalid', 'device_hooked'],
        options: { appVersion: OTHER_VERSION, signals: { hooked: true }, installProof: Buffer.alloc(64, 1).toString('base64url') },
      },
    ];

    it.each(cases)('$name', async ({ reasons, arrange, options, tamper }) => {
      // Prepare: a passing token for comparable input (same tenant, same-length strings), then the failure.
      const world = makeWorld();
      const passing = await attest(world.deps, await genuineRequest(world));
      expect(passing.verdict.passed).toBe(true);
      arrange?.(world);
      let request = await genuineRequest(world, options);
      if (tamper) request = tamper(request);
      // Act
      const failing = await attest(world.deps, request);
      // Assess
      expect(failing.verdict.passed).toBe(false);
      expect(failing.verdict.reasons).toEqual(reasons);
      expectIndistinguishable(failing.token, passing.token);
      expect(failing.expiresAt - world.clock.now).toBe(TOKEN_TTL);
      expect(() =>
        verifyTokenWithKeys(failing.token, { publicKeys: new Map(), secrets: [world.keys.secretFor(TENANT)] }, { issuer: ISSUER, nowSeconds: world.clock.now }),
      ).toThrow(expect.objectContaining({ code: 'bad_signature' }));
      // The decoy secret, which nobody outside the process has, is what MACed it.
      const decoyClaims = verifyTokenWithKeys(
        failing.token,
        { publicKeys: new Map(), secrets: [{ kid: 'decoy', key: world.deps.decoySecret }] },
        { issuer: ISSUER, nowSeconds: world.clock.now },
      );
      expect(decoyClaims.sub).toBe(request.appId);
    });

    it('a registered app fetches its tenant key for a failing attestation as for a passing one', async () => {
      // Prepare
      const world = makeWorld();
      // Act
      await attest(world.deps, await genuineRequest(world));
      await attest(world.deps, await genuineRequest(world, { signals: { hooked: true } }));
      // Assess
      expect(world.keys.signingKeyCalls).toEqual([TENANT, TENANT]);
    });

    it('an unknown app gets an hs256 decoy, is logged under the default tenant, and fetches that tenant key as a stand-in', async () => {
      // Prepare: even a default tenant that signs es256 gives unknown apps nothing that names it.
      const world = makeWorld();
      world.keys.useFormat(TENANT, 'es256');
      // Act
      const result = await attest(world.deps, await genuineRequest(world, { appId: OTHER_APP }));
      // Assess: the stand-in's key is fetched (the calls of a registered app) and not used.
      expect(result.verdict.tenantId).toBe(TENANT);
      expect(result.verdict.appKnown).toBe(false);
      expect(parts(result.token).header).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(parts(result.token).claims).not.toHaveProperty('aud');
      expect(world.keys.signingKeyCalls).toEqual([TENANT]);
      expect(world.keys.es256Calls).toEqual([]);
    });

    it('an unknown app gets its decoy when the stand-in tenant has no key, and an error when fetching it fails', async () => {
      // Prepare
      const world = makeWorld();
      const missing = jest.spyOn(world.keys, 'signingKey').mockRejectedValueOnce(new TenantKeyMissingError(TENANT));
      // Act / Assess: no key at all is no reason to answer an unknown id differently from a registered one...
      const result = await attest(world.deps, await genuineRequest(world, { appId: OTHER_APP }));
      expect(result.verdict.passed).toBe(false);
      expect(parts(result.token).header).toEqual({ alg: 'HS256', typ: 'JWT' });
      // ...but a key that cannot be read fails the attestation as it fails a registered app's.
      missing.mockRejectedValueOnce(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
      await expect(attest(world.deps, await genuineRequest(world, { appId: OTHER_APP }))).rejects.toThrow('throttled');
    });

    it('a rooted device passes under the default policy but fails under one that rejects it', async () => {
      // Prepare
      const world = makeWorld();
      const lenient = await attest(world.deps, await genuineRequest(world, { signals: { rooted: true, emulator: true, debugger: true } }));
      world.registry.policies.set(APP_ID, { reject: { rooted: true, emulator: false, debugger: false, hooked: true } });
      // Act
      const strict = await attest(world.deps, await genuineRequest(world, { signals: { rooted: true } }));
      // Assess
      expect(lenient.verdict.reasons).toEqual([]);
      expect(strict.verdict.reasons).toEqual(['device_rooted']);
    });
  });

  describe('nonces', () => {
    async function expectNonceInvalid(promise: Promise<unknown>): Promise<void> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NonceInvalidError);
      expect((error as NonceInvalidError).code).toBe('nonce_invalid');
      expect((error as Error).message).toBe('nonce is unknown, already used or expired');
    }

    it('counts a replay with the same writes whether its app id is registered or made up, so its latency tells neither', async () => {
      // Prepare: a log that records what the replays count.
      const world = makeWorld();
      const counted: Array<{ tenantId: string; appId: string }> = [];
      const attestationLog = {
        record: async () => undefined,
        countNonceInvalid: async ({ tenantId, appId }: { tenantId: string; appId: string }) => void counted.push({ tenantId, appId }),
      };
      const deps = { ...world.deps, attestationLog: attestationLog as never };
      const registered = await genuineRequest(world);
      const madeUp = await genuineRequest(world, { appId: 'com.example.madeup' });
      await attest(deps, registered);
      await attest(deps, madeUp);
      // Act
      await expectNonceInvalid(attest(deps, registered));
      await expectNonceInvalid(attest(deps, madeUp));
      // Assess: one count each; made-up ids share the default tenant's UNREGISTERED_APP counter.
      expect(counted).toEqual([
        { tenantId: TENANT, appId: registered.appId },
        { tenantId: TENANT, appId: UNREGISTERED_APP },
      ]);
    });

    it('refuses a reused nonce, and signs nothing for it', async () => {
      // Prepare
      const world = makeWorld();
      const request = await genuineRequest(world);
      await attest(world.deps, request);
      // Act / Assess
      await expectNonceInvalid(attest(world.deps, request));
      expect(world.keys.signingKeyCalls).toEqual([TENANT]);
    });

    it('refuses a nonce after 61 s and accepts it at 59 s', async () => {
      // Prepare
      const world = makeWorld();
      const late = await genuineRequest(world);
      const inTime = await genuineRequest(world);
      // Act / Assess
      world.clock.advance(59);
      expect((await attest(world.deps, inTime)).verdict.passed).toBe(true);
      world.clock.advance(2);
      await expectNonceInvalid(attest(world.deps, late));
    });

    it('refuses a nonce issued for another appId, and leaves it usable by its own app', async () => {
      // Prepare
      const world = makeWorld();
      const request = await genuineRequest(world, { challengeAppId: 'com.example.other' });
      // Act / Assess
      await expectNonceInvalid(attest(world.deps, request));
      expect(world.nonces.records.size).toBe(1);
    });

    it('refuses a nonce that was never issued', async () => {
      const world = makeWorld();
      const request = await genuineRequest(world);
      world.nonces.records.clear();
      await expectNonceInvalid(attest(world.deps, request));
      expect(world.keys.signingKeyCalls).toEqual([]);
    });

    it('lets exactly one of two concurrent attests with one nonce through', async () => {
      const world = makeWorld();
      const request = await genuineRequest(world);
      const outcomes = await Promise.allSettled([attest(world.deps, request), attest(world.deps, request)]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    });
  });

  it('a passing token does not verify with another tenant\'s secret', async () => {
    const world = makeWorld();
    const result = await attest(world.deps, await genuineRequest(world));
    const error = thrown(() =>
      verifyTokenWithKeys(
        result.token,
        { publicKeys: new Map(), secrets: [world.keys.secretFor('tenant-b')] },
        { issuer: ISSUER, nowSeconds: world.clock.now },
      ),
    );
    expect(error).toBeInstanceOf(TokenVerificationError);
    expect(error).toMatchObject({ code: 'bad_signature' });
  });

  describe('a tenant that opted into es256', () => {
    it('signs passing tokens with its KMS key under its kid and audience, and decoys with the decoy key under the same kid', async () => {
      // Prepare
      const world = makeWorld();
      world.keys.useFormat(TENANT, 'es256');
      // Act
      const passing = await attest(world.deps, await genuineRequest(world));
      const failing = await attest(world.deps, await genuineRequest(world, { signals: { hooked: true } }));
      // Assess
      expect(world.keys.es256Calls).toEqual(['tenant', 'decoy']);
      const kid = world.keys.keyFor(TENANT).kid;
      expect(parts(passing.token).header).toEqual({ alg: 'ES256', typ: 'JWT', kid });
      expect(Object.keys(parts(passing.token).claims)).toEqual(ES256_CLAIM_ORDER);
      expect(parts(passing.token).claims['aud']).toBe(TENANT);
      expectIndistinguishable(failing.token, passing.token);
      await expect(verifyAgainstTenant(world, passing.token)).resolves.toMatchObject({ aud: TENANT });
      await expect(verifyAgainstTenant(world, failing.token)).rejects.toMatchObject({ code: 'bad_signature' });
      const decoy = { publicKeys: new Map([[kid, createPublicKey(world.keys.decoy.privateKey)]]), secrets: [] };
      expect(verifyTokenWithKeys(failing.token, decoy, { issuer: ISSUER, audience: TENANT, nowSeconds: world.clock.now }).sub).toBe(APP_ID);
    });

    it('es256 tokens are not valid for another audience', async () => {
      const world = makeWorld();
      world.keys.useFormat(TENANT, 'es256');
      const result = await attest(world.deps, await genuineRequest(world));
      const error = thrown(() =>
        verifyTokenWithKeys(
          result.token,
          { publicKeys: new Map([[world.keys.keyFor(TENANT).kid, world.keys.keyFor(TENANT).publicKey]]), secrets: [] },
          { issuer: ISSUER, audience: 'tenant-b', nowSeconds: world.clock.now },
        ),
      );
      expect(error).toMatchObject({ code: 'wrong_audience' });
    });
  });

  describe('the attestation log', () => {
    it('records the verdict, never the token', async () => {
      // Prepare
      const world = makeWorld();
      const recorded: AttestationLogEntry[] = [];
      const deps = { ...world.deps, attestationLog: { record: async (entry: AttestationLogEntry) => void recorded.push(entry) } as never };
      // Act
      const result = await attest(deps, await genuineRequest(world, { signals: { hooked: true } }));
      // Assess
      expect(recorded).toEqual([
        expect.objectContaining({ tenantId: TENANT, appId: APP_ID, outcome: 'fail', reasons: ['device_hooked'], jti: result.verdict.jti }),
      ]);
      expect(JSON.stringify(recorded)).not.toContain(result.token.split('.')[2]);
    });

    it('a log that cannot be written is reported and the client still gets its token', async () => {
      const world = makeWorld();
      const failure = new Error('ProvisionedThroughputExceededException');
      const deps = { ...world.deps, attestationLog: { record: async () => Promise.reject(failure) } as never };
      const result = await attest(deps, await genuineRequest(world));
      expect(result.logError).toBe(failure);
      expect(result.verdict.passed).toBe(true);
      await expect(verifyAgainstTenant(world, result.token)).resolves.toMatchObject({ sub: APP_ID });
    });
  });
});
