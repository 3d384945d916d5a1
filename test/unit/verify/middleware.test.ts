/** attestorMiddleware in a real Express app over HTTP, keys from a real JWKS server. */
import { createHmac, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { jwkThumbprint } from '../../../packages/verify/src/core/install-key';
import { attestationOf, attestorMiddleware, bindingOf, type MiddlewareOptions, type VerificationOutcome } from '../../../packages/verify/src/index';
import { ManualClock, generateTestKey } from '../../support/memory';
import { makeProof } from '../../support/proof';
import { ISSUER, TENANT, claimsAt, es256, forge, newInstallKey } from '../core/helpers';
import { startJwksServer, type JwksServer } from './jwks-server';

const tenant = generateTestKey();
const decoy = generateTestKey();
const install = newInstallKey();
const jkt = jwkThumbprint(install.jwk);
let jwks: JwksServer;
let clock: ManualClock;
const servers: Server[] = [];

beforeEach(async () => {
  clock = new ManualClock();
  jwks = await startJwksServer([tenant]);
});
afterEach(async () => {
  await jwks.close();
  for (const s of servers.splice(0)) await new Promise((r) => (s.close(r), s.closeAllConnections()));
});

const token = (claims: Record<string, unknown> = {}, by = tenant) =>
  forge(
    { alg: 'ES256', typ: 'JWT', kid: tenant.kid },
    claimsAt(clock.now, { aud: TENANT, jti: randomBytes(16).toString('base64url'), did: jkt, cnf: { jkt }, ...claims }),
    es256(by.privateKey),
  );

/** An app with the middleware on /api and a route that echoes what it saw. */
async function app(extra: Partial<MiddlewareOptions> = {}): Promise<{ base: string; outcomes: VerificationOutcome[] }> {
  const outcomes: VerificationOutcome[] = [];
  const a = express();
  a.use(
    '/api',
    attestorMiddleware({ issuer: ISSUER, audience: TENANT, jwksUrl: jwks.url, clock, onResult: (outcome) => outcomes.push(outcome), ...extra }),
  );
  a.all('/api/orders', (req, res) => {
    res.json({ sub: attestationOf(req)?.sub ?? null });
  });
  const server = a.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, outcomes };
}

async function call(base: string, headers: Record<string, string>, method = 'GET', path = '/api/orders') {
  const res = await fetch(`${base}${path}`, { method, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, auth: res.headers.get('www-authenticate') };
}

describe('attestorMiddleware, enforce mode', () => {
  it('lets a valid token through and hands the claims to the route', async () => {
    const { base, outcomes } = await app();
    expect(await call(base, { 'Attestor-Token': token() })).toMatchObject({ status: 200, body: { sub: 'com.example.app' } });
    expect(outcomes.map((o) => o.result)).toEqual(['valid']);
  });

  it.each<[string, Record<string, string>, string, string]>([
    ['no token', {}, 'missing', 'the Attestor-Token header is required'],
    ['garbage', { 'Attestor-Token': 'garbage' }, 'malformed', 'token is not a compact JWS'],
    ['a decoy token', { 'Attestor-Token': 'DECOY' }, 'bad_signature', 'signature does not verify'],
    ['an expired token', { 'Attestor-Token': 'EXPIRED' }, 'expired', 'token has expired'],
  ])('answers %s with 401 and a JSON body naming the code', async (_what, headers, code, message) => {
    const { base } = await app();
    const value = headers['Attestor-Token'];
    const sent =
      value === 'DECOY'
        ? { 'Attestor-Token': token({}, decoy) }
        : value === 'EXPIRED'
          ? { 'Attestor-Token': token({ iat: clock.now - 999, exp: clock.now - 61 }) }
          : headers;
    expect(await call(base, sent)).toEqual({ status: 401, body: { error: 'attestation_failed', code, message }, auth: 'Attestor' });
  });

  it.each<[string, () => string, string]>([
    ['alg none', () => forge({ alg: 'none', typ: 'JWT', kid: tenant.kid }, claimsAt(clock.now, { aud: TENANT }), () => ''), 'malformed'],
    [
      'HS256 with the public key as secret',
      () =>
        forge({ alg: 'HS256', typ: 'JWT', kid: tenant.kid }, claimsAt(clock.now, { aud: TENANT }), (i) =>
          createHmac('sha256', tenant.publicKey.export({ format: 'pem', type: 'spki' }))
            .update(i)
            .digest(),
        ),
      'unknown_kid',
    ],
    [
      'an attacker key in jwk',
      () =>
        forge(
          { alg: 'ES256', typ: 'JWT', kid: tenant.kid, jwk: decoy.publicKey.export({ format: 'jwk' }) },
          claimsAt(clock.now, { aud: TENANT }),
          es256(decoy.privateKey),
        ),
      'bad_signature',
    ],
    ['an unknown kid', () => forge({ alg: 'ES256', typ: 'JWT', kid: decoy.kid }, claimsAt(clock.now, { aud: TENANT }), es256(decoy.privateKey)), 'unknown_kid'],
    ['a token over 4 KiB', () => token({ pad: 'x'.repeat(4000) }), 'malformed'],
    ['a token for another tenant', () => token({ aud: 'tenant-b' }), 'wrong_audience'],
    ['a token from another issuer', () => token({ iss: 'evil' }), 'wrong_issuer'],
    ['a token issued in the future', () => token({ iat: clock.now + 61 }), 'not_yet_valid'],
    ['a 63-byte signature', () => token().slice(0, -2), 'malformed'],
  ])('denies %s', async (_what, make, code) => {
    const { base } = await app();
    expect(await call(base, { 'Attestor-Token': make() })).toMatchObject({ status: 401, body: { error: 'attestation_failed', code } });
  });

  it('checks the binding against the Authorization header (or another header)', async () => {
    const bound = token({ pay: bindingOf('Bearer user-1') });
    const { base } = await app({ requireBinding: true });
    expect((await call(base, { 'Attestor-Token': bound, Authorization: 'Bearer user-1' })).status).toBe(200);
    expect(await call(base, { 'Attestor-Token': bound, Authorization: 'Bearer user-2' })).toMatchObject({ status: 401, body: { code: 'binding_mismatch' } });
    const other = await app({ requireBinding: true, bindingHeader: 'X-Session' });
    expect((await call(other.base, { 'Attestor-Token': bound, 'X-Session': 'Bearer user-1' })).status).toBe(200);
  });

  it('checks proofs against the URL derived from the request, or publicBaseUrl', async () => {
    // Prepare
    const { base } = await app({ requireProof: true });
    const t = token();
    const proofFor = (url: string, method = 'POST') => makeProof({ key: install, token: t, method, url, iat: clock.now });
    // Act / Assess
    expect((await call(base, { 'Attestor-Token': t, 'Attestor-Proof': proofFor(`${base}/api/orders`) }, 'POST')).status).toBe(200);
    expect(await call(base, { 'Attestor-Token': t, 'Attestor-Proof': proofFor(`${base}/api/orders`, 'GET') }, 'POST')).toMatchObject({
      status: 401,
      body: { code: 'proof_invalid' },
    });
    expect(await call(base, { 'Attestor-Token': t }, 'POST')).toMatchObject({ status: 401, body: { code: 'proof_invalid' } });
    const behindProxy = await app({ requireProof: true, publicBaseUrl: 'https://api.example.com/' });
    expect((await call(behindProxy.base, { 'Attestor-Token': t, 'Attestor-Proof': proofFor('https://api.example.com/api/orders') }, 'POST')).status).toBe(200);
    expect((await call(behindProxy.base, { 'Attestor-Token': t, 'Attestor-Proof': proofFor(`${behindProxy.base}/api/orders`) }, 'POST')).status).toBe(401);
  });

  it('denies a replayed request', async () => {
    const { base } = await app({ limitedUse: true });
    const t = token({ lut: true });
    expect((await call(base, { 'Attestor-Token': t })).status).toBe(200);
    expect(await call(base, { 'Attestor-Token': t })).toMatchObject({ status: 401, body: { code: 'replayed' } });
  });

  it('answers 503 while the keys cannot be fetched, never letting the request in, and logs which source failed and how', async () => {
    // Prepare
    jwks.status = 500;
    const logged: string[] = [];
    const { base, outcomes } = await app({ logger: { error: (line) => logged.push(line) } });
    const jwksPath = new URL(jwks.url);
    // Act
    const answer = await call(base, { 'Attestor-Token': token() });
    // Assess
    expect(answer).toMatchObject({ status: 503, body: { error: 'attestation_unavailable' } });
    expect(outcomes).toEqual([{ result: 'invalid', code: 'verifier_error', message: 'attestation keys or replay store unavailable' }]);
    expect(logged).toEqual([
      `attestor: attestation cannot be checked, answering 503: JwksFetchError: JWKS ${jwksPath.origin}${jwksPath.pathname} answered HTTP 500`,
    ]);
  });

  it('while the source keeps failing, logs the same cause once a minute with a count, and a new cause at once', async () => {
    // Prepare
    jwks.status = 500;
    const logged: string[] = [];
    const { base } = await app({ logger: { error: (line) => logged.push(line) } });
    // Act: the first load fails; the next requests meet the backoff, whose error carries the same cause.
    await call(base, { 'Attestor-Token': token() });
    await call(base, { 'Attestor-Token': token() });
    await call(base, { 'Attestor-Token': token() });
    clock.advance(61);
    await call(base, { 'Attestor-Token': token() });
    await jwks.close();
    clock.advance(61);
    await call(base, { 'Attestor-Token': token() });
    // Assess
    expect(logged).toHaveLength(3);
    const again = /^attestor: attestation cannot be checked, answering 503 \(2 more since the last report\): JwksFetchError: .* answered HTTP 500$/;
    expect(logged[1]).toMatch(again);
    const refused = /JwksFetchError: JWKS http:\/\/127\.0\.0\.1:\d+\/\S* could not be fetched: TypeError <- TypeError: fetch failed <- Error \[ECONNREFUSED\]/;
    expect(logged[2]).toMatch(refused);
  });

  it('refuses an unknown mode', () => {
    expect(() => attestorMiddleware({ issuer: ISSUER, audience: TENANT, jwksUrl: jwks.url, mode: 'audit' as never })).toThrow(/mode must be/);
  });
});

describe('attestorMiddleware, monitor mode', () => {
  it('lets every request through and reports each outcome with its code', async () => {
    // Prepare
    const { base, outcomes } = await app({ mode: 'monitor' });
    // Act
    const results = [
      await call(base, { 'Attestor-Token': token() }),
      await call(base, {}),
      await call(base, { 'Attestor-Token': token({}, decoy) }),
      await call(base, { 'Attestor-Token': token({ aud: 'someone-else' }) }),
    ];
    // Assess
    expect(results.map((r) => [r.status, r.body['sub']])).toEqual([
      [200, 'com.example.app'],
      [200, null],
      [200, null],
      [200, null],
    ]);
    expect(outcomes.map((o) => (o.result === 'valid' ? 'valid' : `${o.result}:${o.code}`))).toEqual([
      'valid',
      'missing:missing',
      'invalid:bad_signature',
      'invalid:wrong_audience',
    ]);
  });

  it('lets requests through while the keys cannot be fetched, and logs that it does and why', async () => {
    jwks.status = 500;
    const logged: string[] = [];
    const { base } = await app({ mode: 'monitor', logger: { error: (line) => logged.push(line) } });
    expect((await call(base, { 'Attestor-Token': token() })).status).toBe(200);
    const line = /^attestor: attestation cannot be checked, letting requests through unverified \(monitor mode\): JwksFetchError: /;
    expect(logged).toEqual([expect.stringMatching(line)]);
  });
});
