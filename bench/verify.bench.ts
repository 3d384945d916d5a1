/**
 * Token verification speed (issue 4), as ratios measured in one run against baselines run
 * alongside:
 * - a token not seen before, through createVerifier().verify: at least 1.5x jose's jwtVerify and
 *   0.85x a bare crypto.verify of the same ES256 signature with a prepared KeyObject;
 * - a token already verified (the verified-token cache): at least 50x the bare crypto.verify.
 * Contenders run in alternating rounds and each keeps its best round, so drift in machine load
 * hits all of them alike.
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { createVerifier } from '../src/verify';
import type { BenchResult } from './index';

const CHUNKS = 40;
/** Chunks run first and not counted: the JIT has compiled every contender before measuring starts. */
const WARMUP_CHUNKS = 3;
const CHUNK = 100;
const TOKENS = (WARMUP_CHUNKS + CHUNKS) * CHUNK;
const CACHED_PER_CHUNK = 10_000;

const b64uJson = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

function mintTokens(privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'], kid: string, now: number): string[] {
  const header = b64uJson({ alg: 'ES256', typ: 'JWT', kid });
  return Array.from({ length: TOKENS }, () => {
    const did = randomBytes(32).toString('base64url');
    const claims = b64uJson({
      iss: 'attestor',
      sub: 'com.example.app',
      aud: 'acme',
      iat: now,
      exp: now + 300,
      jti: randomBytes(16).toString('base64url'),
      ver: '1.0.0',
      did,
      cnf: { jkt: did },
    });
    const input = `${header}.${claims}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  });
}

/** Seconds one run of `work` takes. */
async function seconds(work: () => Promise<void> | void): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function run(): Promise<BenchResult[]> {
  const { jwtVerify, importJWK } = await import('jose');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as Record<string, string>), kid: 'bench-key', alg: 'ES256', use: 'sig' };
  const now = Math.floor(Date.now() / 1000);
  const tokens = mintTokens(privateKey, jwk.kid, now);
  // The bare baseline gets everything prepared: signing input and signature bytes, the KeyObject.
  const prepared = tokens.map((t) => {
    const dot = t.lastIndexOf('.');
    return { input: Buffer.from(t.slice(0, dot)), signature: Buffer.from(t.slice(dot + 1), 'base64url') };
  });
  const bare = (from: number) => {
    for (let i = from; i < from + CHUNK; i++) {
      const p = prepared[i]!;
      if (!verify('sha256', p.input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p.signature)) throw new Error('bare verify failed');
    }
  };
  const joseKey = await importJWK(jwk, 'ES256');
  const joseOptions = { issuer: 'attestor', audience: 'acme', algorithms: ['ES256'] };
  const verifierOptions = { issuer: 'attestor', audience: 'acme', keys: { keys: [jwk] } };
  // One verifier for the whole run: every token is one it has not seen, so each pays parsing, the
  // signature check and the insertion into its (bounded) cache.
  const fresh = createVerifier(verifierOptions);
  await fresh.verify(mintTokens(privateKey, jwk.kid, now)[0]!);
  // Tokens are reused for minutes: a hundred apps' tokens, each verified once, then asked for again.
  const warm = createVerifier(verifierOptions);
  const pool = tokens.slice(0, 100);
  for (const t of pool) await warm.verify(t);

  // The machine's load drifts; small chunks of each contender, interleaved, see the same drift, and
  // the median of the per-chunk ratios ignores the chunks a burst of load fell on.
  const vsJose: number[] = [];
  const vsBare: number[] = [];
  const cachedVsBare: number[] = [];
  const totals = { ours: 0, jose: 0, bare: 0, cached: 0 };
  for (let c = 0; c < WARMUP_CHUNKS + CHUNKS; c++) {
    const from = c * CHUNK;
    const time = {
      bare: () => seconds(() => bare(from)),
      jose: () =>
        seconds(async () => {
          for (let i = from; i < from + CHUNK; i++) await jwtVerify(tokens[i]!, joseKey, joseOptions);
        }),
      ours: () =>
        seconds(async () => {
          for (let i = from; i < from + CHUNK; i++) await fresh.verify(tokens[i]!);
        }),
      cached: () =>
        seconds(async () => {
          for (let i = 0; i < CACHED_PER_CHUNK; i++) await warm.verify(pool[i % 100]!);
        }),
    };
    // Each chunk starts with another contender, so none always runs right after another's garbage.
    const order = (['bare', 'jose', 'ours', 'cached'] as const).map((_, k, all) => all[(k + c) % all.length]!);
    const t = { bare: 0, jose: 0, ours: 0, cached: 0 };
    for (const name of order) t[name] = await time[name]();
    if (c < WARMUP_CHUNKS) continue;
    vsJose.push(t.jose / t.ours);
    vsBare.push(t.bare / t.ours);
    cachedVsBare.push(t.bare / CHUNK / (t.cached / CACHED_PER_CHUNK));
    totals.ours += t.ours;
    totals.jose += t.jose;
    totals.bare += t.bare;
    totals.cached += t.cached;
  }

  const perSecond = (ops: number, s: number) => `${Math.round(ops / s).toLocaleString('en-US')}/s`;
  const result = (name: string, value: number, min: number, detail: string): BenchResult => ({ name, value, unit: 'x', target: `>= ${min}x`, pass: value >= min, detail });
  const measured = CHUNKS * CHUNK;
  const overall = `overall ${perSecond(measured, totals.ours)} ours`;
  return [
    result('verify, token not seen before, vs jose jwtVerify', median(vsJose), 1.5, `${overall}, ${perSecond(measured, totals.jose)} jose`),
    result('verify, token not seen before, vs bare crypto.verify (prepared KeyObject)', median(vsBare), 0.85, `${overall}, ${perSecond(measured, totals.bare)} bare`),
    result('verify, token already verified, vs bare crypto.verify', median(cachedVsBare), 50, `${perSecond(CHUNKS * CACHED_PER_CHUNK, totals.cached)} cached, ${perSecond(measured, totals.bare)} bare`),
  ];
}
