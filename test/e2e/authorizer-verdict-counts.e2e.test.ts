/**
 * The authorizer's verdicts read back through the admin stats (series=minute&include=authorizer):
 * the local authorizer counts what the Lambda publishes as the TokenVerdicts metric, per minute,
 * app and verdict, and the admin route reads the caller's tenant's counts.
 */
import { signedAdminFetch } from '../support/local-admin';
import { APP, attestToken, hello, startEnforcingCloud, type EnforcingCloud } from './enforcement-support';

const UNREGISTERED = '~unregistered';
const STATS = '/v1/admin/stats?series=minute&windowSeconds=600&include=authorizer';

interface VerdictPoint {
  time: number;
  appId: string;
  counts: Record<string, number>;
}

async function authorizerPoints(world: EnforcingCloud): Promise<VerdictPoint[]> {
  const res = await signedAdminFetch(world.cloud, 'GET', STATS);
  const body = (await res.json()) as { authorizer?: { bucketSeconds: number; points: VerdictPoint[] } };
  if (res.status !== 200 || !body.authorizer) throw new Error(`stats answered ${res.status}: ${JSON.stringify(body)}`);
  return body.authorizer.points;
}

/** Sums per app and verdict; the counter writes follow the response, so this waits (up to 5 s) for `expected` many verdicts. */
async function countsWhen(world: EnforcingCloud, expected: number): Promise<Record<string, Record<string, number>>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const sums: Record<string, Record<string, number>> = {};
    let total = 0;
    for (const point of await authorizerPoints(world)) {
      for (const [verdict, n] of Object.entries(point.counts)) {
        (sums[point.appId] ??= {})[verdict] = (sums[point.appId]?.[verdict] ?? 0) + n;
        total += n;
      }
    }
    if (total >= expected || Date.now() > deadline) return sums;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('monitor mode', () => {
  let world: EnforcingCloud;
  beforeAll(async () => {
    world = await startEnforcingCloud({ mode: 'monitor' });
  });
  afterAll(() => world?.stop());

  test('a request without a token and one with a decoy are counted as would_deny, a genuine token as allowed', async () => {
    // Prepare
    const { token } = await attestToken(world);
    const tampered = Buffer.from(world.build);
    tampered[0] = tampered[0]! ^ 1;
    const { token: decoy } = await attestToken(world, { packageBytes: tampered });
    // Act
    const statuses = [
      (await hello(world, { 'Attestor-Token': token })).status,
      (await hello(world, {})).status,
      (await hello(world, { 'Attestor-Token': decoy })).status,
    ];
    const counts = await countsWhen(world, 3);
    // Assess: all three through, and the two enforcing would have denied counted as such, under no app.
    expect(statuses).toEqual([200, 200, 200]);
    expect(counts).toEqual({ [APP]: { allowed: 1 }, [UNREGISTERED]: { would_deny: 2 } });
  });

  test('the verdicts are in the minute they happened, in 60-second buckets', async () => {
    const res = await signedAdminFetch(world.cloud, 'GET', STATS);
    const body = (await res.json()) as { authorizer: { bucketSeconds: number; points: VerdictPoint[] }; series: unknown };
    expect(body.authorizer.bucketSeconds).toBe(60);
    const minute = Math.floor(world.clock.nowSeconds() / 60) * 60;
    expect(new Set(body.authorizer.points.map((p) => p.time))).toEqual(new Set([minute]));
    expect(body.series).toBeDefined();
  });

  test('include names an unknown part or comes without series=minute: 400 naming the parameter', async () => {
    const unknown = await signedAdminFetch(world.cloud, 'GET', '/v1/admin/stats?series=minute&include=everything');
    const withoutSeries = await signedAdminFetch(world.cloud, 'GET', '/v1/admin/stats?include=authorizer');
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain('include');
    expect(withoutSeries.status).toBe(400);
    expect(JSON.stringify(await withoutSeries.json())).toContain('series=minute');
  });
});

describe('enforce mode', () => {
  let world: EnforcingCloud;
  beforeAll(async () => {
    world = await startEnforcingCloud({});
  });
  afterAll(() => world?.stop());

  test('a decoy token is counted as denied, a genuine one as allowed', async () => {
    // Prepare
    const { token } = await attestToken(world);
    const tampered = Buffer.from(world.build);
    tampered[5] = tampered[5]! ^ 1;
    const { token: decoy } = await attestToken(world, { packageBytes: tampered });
    // Act
    const statuses = [(await hello(world, { 'Attestor-Token': decoy })).status, (await hello(world, { 'Attestor-Token': token })).status];
    const counts = await countsWhen(world, 2);
    // Assess
    expect(statuses).toEqual([403, 200]);
    expect(counts).toEqual({ [APP]: { allowed: 1 }, [UNREGISTERED]: { denied: 1 } });
  });
});
