/**
 * Every route against the local cloud while DynamoDB, S3 or KMS misbehave behind a fault proxy
 * (test/support/aws-faults.ts): throttled with the error each service really sends, a 5xx, no answer
 * (a timeout), a connection reset, a slow answer. The service's own retries and timeouts are set low
 * through its configuration (FAST_AWS_CLIENTS, one attempt here), not mocked.
 *
 * For each route and fault: if the faulty dependency was called, the answer is 503 with Retry-After
 * and exactly the documented body (PROTOCOL.md §2.1, docs/ADMIN_API.md §1.3), never a 500 or a stack
 * trace; if it was not called, the route answers as it does without the fault. Then the fault stops
 * and the same request succeeds, with no operator action: nothing was left half-done.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../../packages/service/src/handlers/log';
import { KEY_PUBLICATION_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { AWS_FAULTS, faultRule, startFaultyCloud, type Dependency, type FaultyCloud } from '../support/aws-faults';
import type { FaultAction } from '../support/fault-proxy';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { routeFixtures, type Answer, type RouteFixture } from '../support/route-fixtures';

const APP = 'com.example.faults';
const VERSION = '1.0.0';
const DEPENDENCIES: readonly Dependency[] = ['dynamodb', 's3', 'kms'];
const KINDS = ['throttled', 'serverError', 'timeout', 'reset', 'slow'] as const;
type Kind = (typeof KINDS)[number];
const SLOW: FaultAction = { kind: 'delay', ms: 20 };

/** What the service sends for a refused dependency: no detail, a hint to wait (handlers/http.ts). */
const UNAVAILABLE_BODY = { error: 'service_unavailable' };
/** What the gateway sends when the authorizer could not check a token (AUTHORIZER_UNAVAILABLE_RESPONSE). */
const AUTHORIZER_UNAVAILABLE_BODY = { error: 'attestation_unavailable', message: 'attestation cannot be checked right now; retry shortly' };
const STACK_TRACE = /\bat [^\s]+ \(|\.ts:\d+|\.js:\d+|Error:/;

/** Test clock: real time plus an offset the test moves (a rotated key activates KEY_PUBLICATION_SECONDS later). */
let offset = 0;
const clock = { nowSeconds: () => Math.floor(Date.now() / 1000) + offset };

let dataDir: string;
let faulty: FaultyCloud;
let fixtures: Readonly<Record<string, RouteFixture>>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-faults-'));
  // One attempt: each fault is seen by the service at once (the retry test below uses two). A hung
  // call fails after 1 s: long enough that a genuine call to the local stand-ins never does, even on
  // a machine whose two cores are busy with other suites (at 200 ms the recovery request sometimes did).
  faulty = await startFaultyCloud({
    dataDir,
    port: 0,
    clock,
    logger: silentLogger,
    awsClients: { maxAttempts: 1, socketTimeoutMs: 1000, connectionTimeoutMs: 1000 },
  });
  const { cloud } = faulty;
  const build = randomBytes(4096);
  await registerBuildForTest(cloud, { appId: APP, version: VERSION, bytes: build });
  // es256: every attestation is a KMS Sign, so KMS faults reach attest on every request.
  expect((await signedAdminFetch(cloud, 'POST', '/v1/admin/keys/rotate', { format: 'es256' })).status).toBe(201);
  offset += KEY_PUBLICATION_SECONDS + 1;
  fixtures = routeFixtures({ cloud, appId: APP, version: VERSION, build });
});

afterAll(async () => {
  await faulty?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => faulty.clear());

function actionOf(dependency: Dependency, kind: Kind): FaultAction {
  if (kind === 'slow') return SLOW;
  return AWS_FAULTS[dependency][kind]!;
}

interface Cell {
  readonly route: string;
  readonly dependency: Dependency;
  readonly kind: Kind;
  readonly touched: boolean;
  readonly status: number;
}

/** Sends the route's request with the fault on, then again without; returns what it saw. */
async function runCell(route: string, dependency: Dependency, kind: Kind): Promise<{ first: Answer; retry: Answer; touched: boolean }> {
  const fixture = fixtures[route]!;
  const send = await fixture.prepare();
  const proxy = faulty.proxies[dependency];
  const before = proxy.log.length;
  const remove = proxy.inject(faultRule(actionOf(dependency, kind)));
  let first: Answer;
  try {
    first = await send();
  } finally {
    remove();
    faulty.clear();
  }
  const touched = proxy.log.slice(before).some((entry) => entry.faults.length > 0);
  // Recovery: the same request once the fault is gone, after the wait the answer asked for (the
  // service's clock moves instead of the test sleeping). Deliveries of S3 events may still be draining.
  await faulty.cloud.settled();
  if (first.status === 503) offset += Number(first.headers.get('retry-after') ?? 0);
  const retry = first.status === 503 ? await send() : first;
  return { first, retry, touched };
}

function expectUnavailable(route: string, answer: Answer): void {
  expect({ route, status: answer.status }).toEqual({ route, status: 503 });
  expect(answer.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  expect(JSON.parse(answer.text)).toEqual(route === 'GET /demo/hello' ? AUTHORIZER_UNAVAILABLE_BODY : UNAVAILABLE_BODY);
}

describe('every route under dependency faults', () => {
  const cells: Cell[] = [];

  it.each(DEPENDENCIES)('%s: throttling, 5xx, timeouts and resets answer 503, slowness is absorbed, the next request succeeds', async (dependency) => {
    for (const route of Object.keys(fixtures)) {
      for (const kind of KINDS) {
        const fixture = fixtures[route]!;
        const { first, retry, touched } = await runCell(route, dependency, kind);
        cells.push({ route, dependency, kind, touched, status: first.status });
        expect({ route, kind, status: first.status }).not.toEqual({ route, kind, status: 500 });
        expect(first.text).not.toMatch(STACK_TRACE);
        if (touched && kind !== 'slow') {
          expectUnavailable(route, first);
          expect({ route, kind, recovered: retry.status }).toEqual({ route, kind, recovered: fixture.ok });
        } else {
          expect({ route, kind, dependency, status: first.status, body: first.text.slice(0, 300) }).toMatchObject({ status: fixture.ok });
        }
        // A route that never calls this dependency needs one try, not five.
        if (!touched && kind === 'throttled') break;
      }
    }
  }, 120_000);

  it('reached every route through DynamoDB, and attest through KMS, so the matrix above tested something', () => {
    const touched = (dependency: Dependency) => new Set(cells.filter((c) => c.dependency === dependency && c.touched).map((c) => c.route));
    // Every route; /demo/hello only when the authorizer's cached keys were due for a refresh.
    expect([...touched('dynamodb')].sort()).toEqual(Object.keys(fixtures).filter((r) => touched('dynamodb').has(r) || r !== 'GET /demo/hello').sort());
    expect([...touched('kms')]).toEqual(expect.arrayContaining(['POST /v1/attest', 'POST /v1/admin/tenants', 'POST /v1/admin/keys/rotate']));
    // No route reads S3 as it answers: upload URLs are presigned locally, and attest compares against
    // the registered digest, not the bytes. S3 faults meet the register function instead, which
    // nonce-register.faults.test.ts cuts off mid-read; the S3 column above shows that they do not
    // reach a route's answer.
    expect(cells.filter((c) => c.touched && c.kind !== 'slow').every((c) => c.status === 503)).toBe(true);
    expect(cells.some((c) => c.status >= 500 && c.status !== 503)).toBe(false);
  });
});
