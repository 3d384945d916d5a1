/**
 * Every route over HTTP through the local cloud (gateway, SigV4 check, authorizer, handlers, real
 * adapters over the stand-ins): HTTP_FUZZ_RUNS generated requests each, signed for the admin routes
 * so that they get past authentication. No 5xx, no stack trace, and afterwards the service still
 * attests a genuine client and answers every route's genuine request as before.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { ROUTES, type Route } from '../../packages/contracts/src/routes';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { routeFixtures } from '../support/route-fixtures';

const RUNS = Number(process.env['HTTP_FUZZ_RUNS'] ?? 200);
const APP = 'com.example.httpfuzz';
const VERSION = '1.0.0';
const STACK_TRACE = /\bat [^\s]+ \(|\.ts:\d+|\.js:\d+|Error:/;

let dataDir: string;
let cloud: LocalCloud;
let build: Buffer;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-http-fuzz-'));
  cloud = await startLocalCloud({ dataDir, port: 0 });
  build = randomBytes(4096);
  await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', '%', '%2F', '..', APP, VERSION, 'a'.repeat(200), '\u0000', '\u202e'));
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 100 }),
  fc.constant(undefined),
  fc.constantFrom('{"appId":"com.example.httpfuzz"}', '{"version":"2.0.0","size":10}', '{"tenantId":"x"}', '{"ids":["a"]}'),
);

function request(route: Route): fc.Arbitrary<{ path: string; body: string | undefined; headers: Record<string, string> }> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return fc
    .record({
      params: fc.tuple(...names.map(() => fc.oneof(text, fc.constant(APP)))),
      raw: fc.boolean(),
      query: fc.dictionary(fc.constantFrom('appId', 'limit', 'since', 'cursor', 'kind', 'window'), text, { maxKeys: 2 }),
      body,
      token: fc.oneof(text, fc.constant('')),
    })
    .map(({ params, raw, query, body: b, token }) => {
      let i = 0;
      // Escaped as a client would, or raw (what a careless one sends); '/' and '?' always escaped to keep the route.
      const path = route.path.replace(/\{\w+\}/g, () => {
        const p = params[i++]!;
        return raw ? p.replace(/[/?#]/g, encodeURIComponent) : encodeURIComponent(p);
      });
      const search = new URLSearchParams(query).toString();
      return { path: `${path}${search ? `?${search}` : ''}`, body: b, headers: { 'Attestor-Token': token.replace(/[^\x20-\x7e]/g, '') || 'x' } };
    });
}

async function send(route: Route, r: { path: string; body: string | undefined; headers: Record<string, string> }): Promise<{ status: number; text: string }> {
  if (route.auth === 'iam') {
    // Signed with the operator's credential: past authentication, so the handlers see it.
    let parsed: unknown;
    try {
      parsed = r.body === undefined ? undefined : JSON.parse(r.body);
    } catch {
      parsed = r.body;
    }
    const res = await signedAdminFetch(cloud, route.method, r.path, route.method === 'GET' ? undefined : parsed);
    return { status: res.status, text: await res.text() };
  }
  const res = await fetch(`${cloud.endpoint}${r.path}`, {
    method: route.method,
    headers: { 'content-type': 'application/json', ...r.headers },
    ...(route.method === 'GET' || r.body === undefined ? {} : { body: r.body }),
  });
  return { status: res.status, text: await res.text() };
}

describe('every route, fuzzed over HTTP through the local cloud', () => {
  // Reads first: the writes fuzzed later create apps (an upload creates its app), and the log and
  // stats routes read every app of the tenant, so they would slow down with each one.
  const ordered = [...ROUTES].sort((a, b) => Number(a.method !== 'GET') - Number(b.method !== 'GET'));
  it.each(ordered.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: no 5xx, no stack trace', async (_name, route) => {
    await fc.assert(
      fc.asyncProperty(request(route), async (r) => {
        const answer = await send(route, r);
        if (answer.status >= 500) throw new Error(`${route.method} ${r.path} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        expect(answer.text).not.toMatch(STACK_TRACE);
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  it('still answers every route genuinely afterwards', async () => {
    // A new app: the fuzzing may have removed the first one, or changed its policy, as a genuine operator may.
    const appId = `${APP}.after`;
    await registerBuildForTest(cloud, { appId, version: VERSION, bytes: build });
    const fixtures = routeFixtures({ cloud, appId, version: VERSION, build });
    for (const [route, fixture] of Object.entries(fixtures)) {
      const answer = await (await fixture.prepare())();
      expect({ route, status: answer.status }).toEqual({ route, status: fixture.ok });
    }
  }, 60_000);
});
