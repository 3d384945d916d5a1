/**
 * Plays the attacker of PROTOCOL.md §9 against the promise that a client cannot tell a passing
 * token from a decoy, nor a registered app id from an unknown one. The attacker holds labelled
 * genuine tokens (from the genuine app on their own device) and decoys (from tampered copies),
 * the tenant's JWKS, the source code and the public endpoints, and tries to sort fresh tokens:
 *
 * - by ECDSA public-key recovery (two genuine tokens pin the tenant's key, no JWKS needed), and a
 *   learner over the keys it recovers;
 * - by verifying against the JWKS;
 * - by every visible part: header, claim names, lengths, lifetime;
 * - by a learner over the signature bits.
 *
 * With es256 (the opt-in) recovery and the JWKS succeed, which is what shows this test can fail;
 * each learner also catches a control of biased decoys. With hs256 (the default) recovery finds no
 * key and every classifier scores chance.
 *
 * The same attacker tries to tell registered app ids from unknown ones by their decoys: with hs256
 * it cannot; with es256 one probe does it (and names the tenant), which the protocol admits.
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

/**
 * The public keys ECDSA recovery gives for a token, reading its signature as r‖s (halves of equal
 * length, as ES256's P1363 encoding is): what an attacker runs on any token, without knowing its
 * format. Two for most ES256 signatures; for a 32-byte HMAC, two points for about half of them (when
 * the first half is an x-coordinate on P-256), none for the rest.
 */
function recoveredKeys(token: string): string[] {
  const sig = signature(token);
  const half = sig.length / 2;
  return recoverPublicKeys(signingInput(token), Buffer.concat([Buffer.alloc(32 - half), sig.subarray(0, half), Buffer.alloc(32 - half), sig.subarray(half)]));
}

/** A key recovered from at least two of the genuine tokens: the signer's key, if one signs them all. */
function consistentKey(genuine: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const token of genuine) {
    for (const key of new Set(recoveredKeys(token))) {
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return undefined;
}

/** A token is genuine when recovery gives the key two genuine tokens pinned. */
function recoveryClassifier(key: string): Classifier {
  return (token) => (recoveredKeys(token).includes(key) ? 'pass' : 'decoy');
}

/** Checks the signature against the published public keys. */
function jwksClassifier(jwks: { keys: Array<{ kid: string; x: string; y: string; kty: string; crv: string }> }): Classifier {
  const keys = new Map(jwks.keys.map((k) => [k.kid, createPublicKey({ key: { kty: k.kty, crv: k.crv, x: k.x, y: k.y }, format: 'jwk' })]));
  return (token) => {
    const key = keys.get(decodeJwtPart(token, 0)['kid'] as string);
    return key !== undefined && verify('sha256', signingInput(token), { key, dsaEncoding: 'ieee-p1363' }, signature(token)) ? 'pass' : 'decoy';
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

const bitOf = (bytes: Uint8Array, i: number) => ((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1;

/** Naive Bayes over `width` binary features of each token, learned from labelled samples. */
function naiveBayes(training: readonly Sample[], width: number, featuresOf: (token: string) => readonly number[]): Classifier {
  const ones = { pass: new Float64Array(width), decoy: new Float64Array(width) };
  const counts = { pass: 0, decoy: 0 };
  for (const s of training) {
    const features = featuresOf(s.token);
    counts[s.label]++;
    for (let i = 0; i < width; i++) ones[s.label][i]! += features[i]!;
  }
  const p = (label: Label, i: number) => (ones[label][i]! + 1) / (counts[label] + 2);
  return (token) => {
    const features = featuresOf(token);
    let score = 0;
    for (let i = 0; i < width; i++) score += features[i] ? Math.log(p('pass', i) / p('decoy', i)) : Math.log((1 - p('pass', i)) / (1 - p('decoy', i)));
    return score >= 0 ? 'pass' : 'decoy';
  };
}

/** Naive Bayes over the 256 bits of an HMAC (or the first 256 of an ECDSA signature). */
function bitClassifier(training: readonly Sample[]): Classifier {
  return naiveBayes(training, 256, (token) => {
    const sig = signature(token);
    return Array.from({ length: 256 }, (_, i) => bitOf(sig, i));
  });
}

/**
 * Naive Bayes over what recovery gives: whether it gives any key, and the first 32 bits of the
 * lesser one's x. Recovery is a pure function of a token, so features are computed once per token.
 */
function candidateClassifier(training: readonly Sample[]): Classifier {
  const memo = new Map<string, number[]>();
  return naiveBayes(training, 33, (token) => {
    let features = memo.get(token);
    if (!features) {
      const [lesser] = recoveredKeys(token).sort();
      const x = lesser === undefined ? Buffer.alloc(4) : Buffer.from(lesser.slice(0, 8), 'hex');
      features = [lesser === undefined ? 0 : 1, ...Array.from({ length: 32 }, (_, i) => bitOf(x, i))];
      memo.set(token, features);
    }
    return features;
  });
}

/** Decoys replaced by MACs whose first half is never an x-coordinate on P-256: a bias a flawed decoy could have. */
function withUnrecoverableDecoys(all: readonly Sample[]): Sample[] {
  return all.map((s) => {
    if (s.label === 'pass') return s;
    const input = s.token.split('.').slice(0, 2).join('.');
    let token: string;
    do token = `${input}.${randomBytes(32).toString('base64url')}`;
    while (recoveredKeys(token).length > 0);
    return { ...s, token };
  });
}

describe('verdict secrecy', () => {
  test('es256 (opt-in): key recovery from two genuine tokens, and the JWKS, sort tokens into pass and decoy; this is what the test detects', async () => {
    // Prepare
    const all = await samples(ES_APP, 50);
    const training = all.slice(0, 20);
    const test = all.slice(20);
    const jwks = await (await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/jwks', undefined, esCredential)).json();
    const genuine = training.filter((s) => s.label === 'pass').map((s) => s.token);

    // Act
    const key = consistentKey(genuine.slice(0, 2));

    // Assess: two genuine tokens pin the tenant's key, published in its JWKS, and sort the rest.
    expect(decodeJwtPart(all[0]!.token, 0)['alg']).toBe('ES256');
    expect(key).toBe(jwkHex((jwks as { keys: Array<{ x: string; y: string }> }).keys[0]!));
    expect(accuracy(recoveryClassifier(key!), test)).toBeGreaterThanOrEqual(0.99);
    expect(accuracy(jwksClassifier(jwks), test)).toBe(1);
  }, 60_000);

  test('hs256 (default): over 400 tokens, key recovery finds no key and, like every visible part, scores chance; no JWKS to check against', async () => {
    // Prepare
    const all = await samples(HS_APP, 250);
    const training = all.slice(0, 100);
    const test = all.slice(100);
    const jwks = await (await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/jwks')).json();
    const genuine = all.filter((s) => s.label === 'pass').map((s) => s.token);
    // A control the same learner must catch: decoys whose MACs recovery never gives a key for.
    const biased = withUnrecoverableDecoys(all);

    // Act
    const key = consistentKey(genuine);
    const scores = {
      recovered: accuracy(candidateClassifier(training), test),
      structure: accuracy(structureClassifier(training), test),
    };
    const control = accuracy(candidateClassifier(biased.slice(0, 100)), biased.slice(100));

    // Assess: no key is common to any two of 250 genuine tokens, where with es256 two suffice...
    expect(key).toBeUndefined();
    // ...recovery does give keys (about half the MACs), so the learner has something to learn from...
    const recoverable = genuine.filter((t) => recoveredKeys(t).length > 0).length / genuine.length;
    expect(recoverable).toBeGreaterThan(0.35);
    expect(recoverable).toBeLessThan(0.65);
    // ...and scores chance (400 test tokens: σ = 2.5 %), where it catches the control: "recoverable
    // means pass" is right on every decoy and half the passes, 75 % (σ = 2.2 %), so its floor of 65 %
    // is over four σ below, and over six σ above the chance line the real tokens stay under.
    expect(test).toHaveLength(400);
    for (const score of Object.values(scores)) expect(score).toBeLessThanOrEqual(0.58);
    expect(control).toBeGreaterThan(0.65);
    // Nothing is published to check an hs256 token against.
    expect(jwks).toEqual({ keys: [] });
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

    // Assess: 1,000 test tokens put chance at 50 % ± 1.6 % (σ); 55 % would be three σ away. The
    // control's one informative bit is worth 75 % alone, and the 255 noise bits of naive Bayes take
    // it to about 70 % (runs: 0.67 to 0.75), so its floor sits at 62 %: far above chance, yet out of
    // reach of that noise.
    expect(score).toBeLessThanOrEqual(0.55);
    expect(control).toBeGreaterThan(0.62);
  });
});

describe('no enumeration', () => {
  test("es256 (opt-in): one decoy tells a registered app from an unknown id, and names its tenant; this is what the test detects", async () => {
    // Prepare: esco signs es256; its app and unknown ids of the same length, with a package that measures wrong for both.
    const known = await Promise.all(Array.from({ length: 40 }, () => tokenOf(ES_APP, tampered)));
    const unknown = await Promise.all(Array.from({ length: 40 }, (_, i) => tokenOf(`com.example.y${String(i).padStart(4, '0')}`, tampered)));
    const labelled = (tokens: string[], label: Label) => tokens.map((token) => ({ token, label }));
    const training = [...labelled(known.slice(0, 20), 'pass'), ...labelled(unknown.slice(0, 20), 'decoy')];
    const test = [...labelled(known.slice(20), 'pass'), ...labelled(unknown.slice(20), 'decoy')];

    // Act
    const score = accuracy(structureClassifier(training), test);

    // Assess: the registered app's decoy is an ES256 token with a kid and aud=<tenant>; the unknown id's is hs256.
    expect(score).toBe(1);
    expect(decodeJwtPart(known[0]!, 0)).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    expect(decodeJwtPart(known[0]!, 1)['aud']).toBe('esco');
    expect(decodeJwtPart(unknown[0]!, 0)).toEqual({ alg: 'HS256', typ: 'JWT' });
  }, 60_000);

  test("hs256 (default): decoys for a registered app of another tenant match decoys for unknown app ids in every visible part", async () => {
    // Prepare: acme's app and unknown ids of the same length, with a package that measures wrong for both.
    const known = await Promise.all(Array.from({ length: 40 }, () => tokenOf(ACME_APP, tampered)));
    const unknown = await Promise.all(Array.from({ length: 40 }, (_, i) => tokenOf(`com.example.x${String(i).padStart(4, '0')}`, tampered)));
    const training = [
      ...known.slice(0, 20).map((token) => ({ token, label: 'pass' as const })),
      ...unknown.slice(0, 20).map((token) => ({ token, label: 'decoy' as const })),
    ];
    const test = [
      ...known.slice(20).map((token) => ({ token, label: 'pass' as const })),
      ...unknown.slice(20).map((token) => ({ token, label: 'decoy' as const })),
    ];

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
