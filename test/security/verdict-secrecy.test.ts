/**
 * Plays the attacker of PROTOCOL.md §9 against the promise that a client cannot tell a passing
 * token from a decoy, nor a registered app id from an unknown one. The attacker holds labelled
 * genuine tokens (from the genuine app on their own device) and decoys (from tampered copies),
 * the tenant's JWKS, the source code and the public endpoints, and tries to sort fresh tokens:
 *
 * - by ECDSA public-key recovery (two genuine tokens pin the tenant's key, no JWKS needed);
 * - by verifying against the JWKS;
 * - by every visible part: header, claim names, lengths, lifetime;
 * - by a learner over the signature bits.
 *
 * With es256 (the opt-in) the first two succeed, which is what shows this test can fail. With
 * hs256 (the default) every one of them scores chance.
 */
import { randomBytes, verify, createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { attest } from '../../packages/service/src/core/attestation';
import { CATALOG_CACHE_SECONDS } from '../../packages/service/src/core/catalog-cache';
import { KEY_PUBLICATION_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { jwkHex, recoverPublicKeys } from '../support/ecdsa-recovery';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestOnce, decodeJwtPart, newInstallKey } from '../support/protocol-client';
import { genuineRequest, makeWorld } from '../unit/core/helpers';

type Label = 'pass' | 'decoy';
interface Sample {
  readonly token: string;
  readonly label: Label;
}
type Classifier = (token: string) => Label;

let dataDir: string;
let cloud: LocalCloud;
let clock: ManualClock;
let esCredential: { accessKeyId: string; secretAccessKey: string };
const build = randomBytes(4096);
const tampered = Buffer.from(build).fill(7, 100, 101);

// App ids of one length, so that lengths could only differ through what the service adds.
const HS_APP = 'com.example.hs256';
const ES_APP = 'com.example.es256';
const ACME_APP = 'com.example.acme1';

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-secrecy-'));
  clock = new ManualClock(Math.floor(Date.now() / 1000));
  cloud = await startLocalCloud({ dataDir, port: 0, clock, tokenTtlSeconds: 900 });
  await registerBuildForTest(cloud, { appId: HS_APP, version: '1.0.0', bytes: build });
  // A tenant that opted into es256, and one (acme) that keeps the default, each with an app.
  for (const tenantId of ['esco', 'acme']) {
    const created = await signedAdminFetch(cloud, 'POST', '/v1/admin/tenants', { tenantId });
    const { credential } = (await created.json()) as { credential: { accessKeyId: string; secretAccessKey: string } };
    if (tenantId === 'esco') esCredential = credential;
    const appId = tenantId === 'esco' ? ES_APP : ACME_APP;
    const asTenant = { ...cloud, adminCredentials: { ...cloud.adminCredentials, ...credential } };
    await registerBuildForTest(asTenant as LocalCloud, { appId, version: '1.0.0', bytes: build });
  }
  await signedAdminFetch(cloud, 'POST', '/v1/admin/keys/rotate', { format: 'es256' }, esCredential);
  clock.advance(KEY_PUBLICATION_SECONDS + CATALOG_CACHE_SECONDS);
}, 60_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function tokenOf(appId: string, bytes: Buffer): Promise<string> {
  const res = await attestOnce(cloud.endpoint, { appId, appVersion: '1.0.0', packageBytes: bytes, key: newInstallKey() });
  if (res.status !== 200) throw new Error(`attest ${res.status}`);
  return res.body['token'] as string;
}

/** n genuine tokens and n decoys of `appId`, interleaved, fetched a few at a time. */
async function samples(appId: string, n: number): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, async () => [
        { token: await tokenOf(appId, build), label: 'pass' as const },
        { token: await tokenOf(appId, tampered), label: 'decoy' as const },
      ]),
    );
    out.push(...batch.flat());
  }
  return out;
}

const accuracy = (classify: Classifier, test: readonly Sample[]) => test.filter((s) => classify(s.token) === s.label).length / test.length;
const signingInput = (token: string) => Buffer.from(token.split('.').slice(0, 2).join('.'), 'ascii');
const signature = (token: string) => Buffer.from(token.split('.')[2]!, 'base64url');

/** Two genuine tokens pin an ES256 key (the one candidate they share); without one, the attacker can only guess. */
function recoveryClassifier(genuine: readonly string[]): Classifier {
  const candidates = genuine.slice(0, 2).map((t) => (signature(t).length === 64 ? recoverPublicKeys(signingInput(t), signature(t)) : []));
  const key = candidates[0]!.find((c) => candidates[1]!.includes(c));
  return (token) => (key !== undefined && signature(token).length === 64 && recoverPublicKeys(signingInput(token), signature(token)).includes(key) ? 'pass' : key === undefined ? 'pass' : 'decoy');
}

/** Checks the signature against the published public keys; with none to check against, guesses. */
function jwksClassifier(jwks: { keys: Array<{ kid: string; x: string; y: string; kty: string; crv: string }> }): Classifier {
  const keys = new Map(jwks.keys.map((k) => [k.kid, createPublicKey({ key: { kty: k.kty, crv: k.crv, x: k.x, y: k.y }, format: 'jwk' })]));
  return (token) => {
    const key = keys.get(decodeJwtPart(token, 0)['kid'] as string);
    if (!key) return 'pass';
    return verify('sha256', signingInput(token), { key, dsaEncoding: 'ieee-p1363' }, signature(token)) ? 'pass' : 'decoy';
  };
}

/** Everything visible but the signature: header, claim names and order, length, lifetime, audience. */
function features(token: string): string {
  const claims = decodeJwtPart(token, 1);
  return JSON.stringify([token.split('.')[0], Object.keys(claims), token.length, (claims['exp'] as number) - (claims['iat'] as number), claims['aud'] ?? null]);
}

/** Learns which visible features go with which label; a feature set seen with both, or never, is a guess. */
function structureClassifier(training: readonly Sample[]): Classifier {
  const seen = new Map<string, Set<Label>>();
  for (const s of training) seen.set(features(s.token), (seen.get(features(s.token)) ?? new Set()).add(s.label));
  return (token) => {
    const labels = seen.get(features(token));
    return labels?.size === 1 ? [...labels][0]! : 'pass';
  };
}

/** Naive Bayes over the 256 bits of an HMAC (or the first 256 of an ECDSA signature). */
function bitClassifier(training: readonly Sample[]): Classifier {
  const ones = { pass: new Float64Array(256), decoy: new Float64Array(256) };
  const counts = { pass: 0, decoy: 0 };
  const bit = (sig: Buffer, i: number) => ((sig[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;
  for (const s of training) {
    const sig = signature(s.token);
    counts[s.label]++;
    for (let i = 0; i < 256; i++) ones[s.label][i]! += bit(sig, i);
  }
  const p = (label: Label, i: number) => (ones[label][i]! + 1) / (counts[label] + 2);
  return (token) => {
    const sig = signature(token);
    let score = 0;
    for (let i = 0; i < 256; i++) score += bit(sig, i) ? Math.log(p('pass', i) / p('decoy', i)) : Math.log((1 - p('pass', i)) / (1 - p('decoy', i)));
    return score >= 0 ? 'pass' : 'decoy';
  };
}

describe('verdict secrecy', () => {
  test('es256 (opt-in): key recovery from two genuine tokens, and the JWKS, sort tokens into pass and decoy; this is what the test detects', async () => {
    // Prepare
    const all = await samples(ES_APP, 50);
    const training = all.slice(0, 20);
    const test = all.slice(20);
    const jwks = await (await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/jwks', undefined, esCredential)).json();
    const genuine = training.filter((s) => s.label === 'pass').map((s) => s.token);

    // Act / Assess
    expect(decodeJwtPart(all[0]!.token, 0)['alg']).toBe('ES256');
    expect(accuracy(recoveryClassifier(genuine), test)).toBeGreaterThanOrEqual(0.99);
    expect(accuracy(jwksClassifier(jwks), test)).toBe(1);
    // The recovered key is the tenant's, published in its JWKS.
    const recovered = recoverPublicKeys(signingInput(genuine[0]!), signature(genuine[0]!));
    expect(recovered).toContain(jwkHex((jwks as { keys: Array<{ x: string; y: string }> }).keys[0]!));
  }, 60_000);

  test('hs256 (default): over 400 tokens, key recovery, the JWKS and every visible part score chance', async () => {
    // Prepare
    const all = await samples(HS_APP, 250);
    const training = all.slice(0, 100);
    const test = all.slice(100);
    const jwks = await (await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/jwks')).json();
    const genuine = training.filter((s) => s.label === 'pass').map((s) => s.token);

    // Act
    const scores = {
      recovery: accuracy(recoveryClassifier(genuine), test),
      jwks: accuracy(jwksClassifier(jwks), test),
      structure: accuracy(structureClassifier(training), test),
    };

    // Assess
    expect(test).toHaveLength(400);
    expect(jwks).toEqual({ keys: [] });
    for (const score of Object.values(scores)) expect(score).toBeLessThanOrEqual(0.55);
    // Not by luck: every visible part of every token is the same, pass or decoy.
    expect(new Set(all.map((s) => features(s.token))).size).toBe(1);
    expect(new Set(all.map((s) => signature(s.token).length))).toEqual(new Set([32]));
  }, 60_000);

  test('hs256: a learner over the MAC bits scores chance on 2,000 tokens of the real core, and catches a biased decoy', async () => {
    // Prepare: the core's own attest() with in-memory ports, for numbers a statistical test needs.
    const world = makeWorld();
    const mint = async (label: Label): Promise<Sample> => {
      const request = await genuineRequest(world, label === 'pass' ? {} : { signals: { hooked: true } });
      return { token: (await attest(world.deps, request)).token, label };
    };
    const all: Sample[] = [];
    for (let i = 0; i < 2000; i++) all.push(await mint(i % 2 === 0 ? 'pass' : 'decoy'));
    const [training, test] = [all.slice(0, 1000), all.slice(1000)];
    // A control: decoys whose MAC always has its top bit clear, a bias a real flaw could cause.
    const biased = all.map((s) => {
      if (s.label === 'pass') return s;
      const sig = signature(s.token);
      sig[0] = sig[0]! & 0x7f;
      return { ...s, token: `${s.token.split('.').slice(0, 2).join('.')}.${sig.toString('base64url')}` };
    });

    // Act
    const score = accuracy(bitClassifier(training), test);
    const control = accuracy(bitClassifier(biased.slice(0, 1000)), biased.slice(1000));

    // Assess: 1,000 test tokens put chance at 50 % ± 1.6 % (σ); 55 % would be three σ away.
    expect(score).toBeLessThanOrEqual(0.55);
    expect(control).toBeGreaterThan(0.68);
  });
});

describe('no enumeration', () => {
  test("decoys for a registered app of another tenant match decoys for unknown app ids in every visible part", async () => {
    // Prepare: acme's app and unknown ids of the same length, with a package that measures wrong for both.
    const known = await Promise.all(Array.from({ length: 40 }, () => tokenOf(ACME_APP, tampered)));
    const unknown = await Promise.all(Array.from({ length: 40 }, (_, i) => tokenOf(`com.example.x${String(i).padStart(4, '0')}`, tampered)));
    const training = [...known.slice(0, 20).map((token) => ({ token, label: 'pass' as const })), ...unknown.slice(0, 20).map((token) => ({ token, label: 'decoy' as const }))];
    const test = [...known.slice(20).map((token) => ({ token, label: 'pass' as const })), ...unknown.slice(20).map((token) => ({ token, label: 'decoy' as const }))];

    // Act
    const score = accuracy(structureClassifier(training), test);

    // Assess: the lifetime is the deployment's (900 s here), no token names a tenant or key.
    expect(score).toBe(0.5);
    expect(new Set([...known, ...unknown].map(features)).size).toBe(1);
    const claims = decodeJwtPart(known[0]!, 1);
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(900);
    expect(claims).not.toHaveProperty('aud');
    expect(decodeJwtPart(known[0]!, 0)).toEqual({ alg: 'HS256', typ: 'JWT' });
  }, 60_000);
});
