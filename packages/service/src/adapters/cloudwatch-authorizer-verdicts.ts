/**
 * The authorizer's verdicts read back from CloudWatch: the TokenVerdicts metric the authorizer
 * publishes (composition/powertools.ts) under the dimension set Tenant, App, Verdict, summed per
 * minute with GetMetricData. Every query names the caller's tenant as an exact dimension value (no
 * SEARCH expression, whose matching is by token): one tenant's stats can never read another's.
 * Types only from the SDK: the composition hands in the call, so the function loads the CloudWatch
 * client on the first series it serves, not at cold start.
 */
import type { GetMetricDataCommandInput, GetMetricDataCommandOutput } from '@aws-sdk/client-cloudwatch';
import { AUTHORIZER_VERDICTS, DIMENSION, METRIC, METRICS_NAMESPACE, type AuthorizerVerdictName } from '@attestor/contracts/metrics';
import type { AuthorizerVerdictCounts, AuthorizerVerdictPoint } from '../core/ports';

export type GetMetricData = (input: GetMetricDataCommandInput) => Promise<Pick<GetMetricDataCommandOutput, 'MetricDataResults' | 'NextToken'>>;

const MINUTE = 60;
/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

export class CloudWatchAuthorizerVerdicts implements AuthorizerVerdictCounts {
  constructor(private readonly getMetricData: GetMetricData) {}

  async verdictsByMinute(query: { tenantId: string; appIds: readonly string[]; since: number; until: number }): Promise<AuthorizerVerdictPoint[]> {
    const wanted = query.appIds.flatMap((appId) => AUTHORIZER_VERDICTS.map((verdict) => ({ appId, verdict })));
    const start = Math.floor(query.since / MINUTE) * MINUTE;
    const end = (Math.floor(query.until / MINUTE) + 1) * MINUTE;
    const points = new Map<string, { time: number; appId: string; counts: Partial<Record<AuthorizerVerdictName, number>> }>();
    for (let first = 0; first < wanted.length; first += MAX_QUERIES_PER_CALL) {
      const batch = wanted.slice(first, first + MAX_QUERIES_PER_CALL);
      let nextToken: string | undefined;
      do {
        const page = await this.getMetricData({
          StartTime: new Date(start * 1000),
          EndTime: new Date(end * 1000),
          ScanBy: 'TimestampAscending',
          MetricDataQueries: batch.map(({ appId, verdict }, i) => ({
            Id: `q${i}`,
            MetricStat: {
              Metric: {
                Namespace: METRICS_NAMESPACE,
                MetricName: METRIC.tokenVerdicts,
                Dimensions: [
                  { Name: DIMENSION.tenant, Value: query.tenantId },
                  { Name: DIMENSION.app, Value: appId },
                  { Name: DIMENSION.verdict, Value: verdict },
                ],
              },
              Period: MINUTE,
              Stat: 'Sum',
            },
            ReturnData: true,
          })),
          ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
        });
        for (const result of page.MetricDataResults ?? []) {
          const asked = batch[Number(result.Id?.slice(1))];
          if (!asked || !result.Id?.startsWith('q')) continue;
          const timestamps = result.Timestamps ?? [];
          const values = result.Values ?? [];
          timestamps.forEach((timestamp, i) => {
            const value = values[i] ?? 0;
            if (!(value > 0)) return;
            const time = Math.floor(timestamp.getTime() / 1000 / MINUTE) * MINUTE;
            const key = `${time}\n${asked.appId}`;
            let point = points.get(key);
            if (!point) points.set(key, (point = { time, appId: asked.appId, counts: {} }));
            point.counts[asked.verdict] = (point.counts[asked.verdict] ?? 0) + value;
          });
        }
        nextToken = page.NextToken;
      } while (nextToken !== undefined);
    }
    return [...points.values()].sort((a, b) => a.time - b.time || a.appId.localeCompare(b.appId));
  }
}
