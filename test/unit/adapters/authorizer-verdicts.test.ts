/**
 * The authorizer's verdicts per minute: the CloudWatch adapter's mapping of the TokenVerdicts metric
 * (queries that name only the caller's tenant, results summed per minute and app), and the core's
 * scope (the caller's apps and the unregistered bucket, within a day).
 */
import type { GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { AUTHORIZER_VERDICTS, METRIC, METRICS_NAMESPACE, UNREGISTERED_APP } from '../../../packages/contracts/src/metrics';
import { CloudWatchAuthorizerVerdicts, type GetMetricData } from '../../../packages/service/src/adapters/cloudwatch-authorizer-verdicts';
import { authorizerSeries } from '../../../packages/service/src/core/admin/log';
import { NotFoundError } from '../../../packages/service/src/core/errors';
import type { AuthorizerVerdictCounts } from '../../../packages/service/src/core/ports';
import type { AdminCaller } from '../../../packages/service/src/core/tenancy';
import { ManualClock, MemoryRegistry, registryPorts } from '../../support/memory';

const T0 = 1_800_000_000 - (1_800_000_000 % 60);
const ACME: AdminCaller = { principal: 'arn:aws:iam::123456789012:role/Acme', tenantId: 'acme', operator: false, role: 'read' };

/** GetMetricData answering from `data` (query id → [timestamp seconds, value] pairs), recording each request. */
function fakeGetMetricData(answer: (input: GetMetricDataCommandInput) => Record<string, Array<[number, number]>>, pages = 1) {
  const calls: GetMetricDataCommandInput[] = [];
  const getMetricData: GetMetricData = async (input) => {
    calls.push(input);
    const page = input.NextToken === undefined ? 1 : Number(input.NextToken);
    const data = page === 1 ? answer(input) : {};
    return {
      MetricDataResults: Object.entries(data).map(([Id, pairs]) => ({
        Id,
        Timestamps: pairs.map(([t]) => new Date(t * 1000)),
        Values: pairs.map(([, v]) => v),
      })),
      ...(page < pages ? { NextToken: String(page + 1) } : {}),
    };
  };
  return { calls, getMetricData };
}

describe('CloudWatchAuthorizerVerdicts', () => {
  test('asks for the Sum per minute of TokenVerdicts under Tenant (the caller only), each app and each verdict, over whole minutes', async () => {
    // Prepare
    const { calls, getMetricData } = fakeGetMetricData(() => ({}));
    // Act
    const adapter = new CloudWatchAuthorizerVerdicts(getMetricData);
    await adapter.verdictsByMinute({ tenantId: 'acme', appIds: ['com.a', UNREGISTERED_APP], since: T0 + 7, until: T0 + 130 });
    // Assess
    expect(calls).toHaveLength(1);
    const input = calls[0]!;
    expect(input.StartTime).toEqual(new Date(T0 * 1000));
    expect(input.EndTime).toEqual(new Date((T0 + 180) * 1000));
    const queries = input.MetricDataQueries ?? [];
    expect(queries).toHaveLength(2 * AUTHORIZER_VERDICTS.length);
    for (const q of queries) {
      expect(q.Id).toMatch(/^q\d+$/);
      expect(q.MetricStat).toMatchObject({ Period: 60, Stat: 'Sum', Metric: { Namespace: METRICS_NAMESPACE, MetricName: METRIC.tokenVerdicts } });
      expect(q.MetricStat?.Metric?.Dimensions?.[0]).toEqual({ Name: 'Tenant', Value: 'acme' });
    }
    const asked = queries.map((q) => q.MetricStat!.Metric!.Dimensions!.slice(1).map((d) => d.Value).join(' '));
    expect(asked).toEqual(['com.a', UNREGISTERED_APP].flatMap((app) => AUTHORIZER_VERDICTS.map((v) => `${app} ${v}`)));
  });

  test('maps the results to points per minute and app, zeros left out, oldest first', async () => {
    // Prepare: q0 = com.a allowed, q2 = com.a would_deny, q6 = ~unregistered would_deny.
    const { getMetricData } = fakeGetMetricData(() => ({
      q0: [[T0 + 60, 5], [T0, 3]],
      q2: [[T0, 0]],
      q6: [[T0, 2]],
    }));
    // Act
    const points = await new CloudWatchAuthorizerVerdicts(getMetricData).verdictsByMinute({
      tenantId: 'acme',
      appIds: ['com.a', UNREGISTERED_APP],
      since: T0,
      until: T0 + 90,
    });
    // Assess: per minute, then by app as the attestation series orders them (localeCompare: `~` first).
    expect(points).toEqual([
      { time: T0, appId: UNREGISTERED_APP, counts: { would_deny: 2 } },
      { time: T0, appId: 'com.a', counts: { allowed: 3 } },
      { time: T0 + 60, appId: 'com.a', counts: { allowed: 5 } },
    ]);
  });

  test('splits more than 500 queries over several calls and follows NextToken', async () => {
    // Prepare: 130 apps × 4 verdicts = 520 queries; each batch answers on its second page too.
    const apps = Array.from({ length: 130 }, (_, i) => `com.app${i}`);
    const { calls, getMetricData } = fakeGetMetricData(() => ({ q0: [[T0, 1]] }), 2);
    // Act
    const points = await new CloudWatchAuthorizerVerdicts(getMetricData).verdictsByMinute({ tenantId: 'acme', appIds: apps, since: T0, until: T0 });
    // Assess: q0 of the first batch is com.app0 allowed; q0 of the second (query 500) is com.app125 allowed.
    expect(calls.map((c) => [c.MetricDataQueries?.length, c.NextToken])).toEqual([
      [500, undefined],
      [500, '2'],
      [20, undefined],
      [20, '2'],
    ]);
    expect(points).toEqual([
      { time: T0, appId: 'com.app0', counts: { allowed: 1 } },
      { time: T0, appId: 'com.app125', counts: { allowed: 1 } },
    ]);
  });
});

describe('authorizerSeries', () => {
  function world(withCounts = true) {
    const registry = new MemoryRegistry();
    registry.apps.set('com.a', { appId: 'com.a', tenantId: 'acme', createdAt: 1 });
    registry.apps.set('com.other', { appId: 'com.other', tenantId: 'globex', createdAt: 1 });
    const clock = new ManualClock(T0 + 30);
    const queries: Array<Parameters<AuthorizerVerdictCounts['verdictsByMinute']>[0]> = [];
    const counts: AuthorizerVerdictCounts = {
      verdictsByMinute: async (query) => {
        queries.push(query);
        return [{ time: T0, appId: 'com.a', counts: { would_deny: 1 } }];
      },
    };
    const deps = { ...registryPorts(registry), clock, defaultTenantId: 'default', ...(withCounts ? { authorizerVerdicts: counts } : {}) };
    return { deps, queries };
  }

  test("reads the caller's tenant, its apps and the unregistered bucket, at most a day back", async () => {
    const { deps, queries } = world();
    const answer = await authorizerSeries(deps, ACME, 7 * 86400, undefined);
    expect(answer).toEqual({ bucketSeconds: 60, points: [{ time: T0, appId: 'com.a', counts: { would_deny: 1 } }] });
    expect(queries).toEqual([{ tenantId: 'acme', appIds: ['com.a', UNREGISTERED_APP], since: T0 + 30 - 86400, until: T0 + 30 }]);
  });

  test("one app: that app and the unregistered bucket; another tenant's app is not found", async () => {
    const { deps, queries } = world();
    await authorizerSeries(deps, ACME, 600, 'com.a');
    expect(queries[0]?.appIds).toEqual(['com.a', UNREGISTERED_APP]);
    await expect(authorizerSeries(deps, ACME, 600, 'com.other')).rejects.toBeInstanceOf(NotFoundError);
    expect(queries).toHaveLength(1);
  });

  test('a deployment that counts no verdicts answers not found', async () => {
    const { deps } = world(false);
    await expect(authorizerSeries(deps, ACME, 600, undefined)).rejects.toThrow('this deployment counts no authorizer verdicts');
  });
});
