/**
 * The functions' metrics as CloudWatch sees them, for the dashboard and the alarms: every name and
 * dimension set comes from @attestor/contracts/metrics, which the functions publish under, so a
 * widget or alarm cannot name a metric nobody writes.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  AUTHORIZER_VERDICTS,
  DIMENSION,
  KEY_PENDING_DELETION,
  METRIC,
  METRICS_NAMESPACE,
  REGISTER_OUTCOMES,
  VERDICT_CATEGORIES,
  type AuthorizerVerdictName,
  type RegisterOutcome,
  type TokenKind,
  type VerdictCategory,
} from '@attestor/contracts/metrics';
import type { LambdaName } from '@attestor/contracts/routes';

/** The functions that answer 503 when a dependency refuses (the HTTP functions and register). */
export const DEPENDENT_FUNCTIONS: readonly LambdaName[] = ['challenge', 'attest', 'register', 'adminCatalog', 'adminKeys', 'adminUploads'];

const count = (metricName: string, dimensionsMap: Record<string, string>, label: string, period = Duration.minutes(5)) =>
  new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap, statistic: cloudwatch.Stats.SUM, period, label });

export const serviceMetrics = {
  /** Attestations of the whole deployment under one Outcome (a category: pass, debug, allowlisted, fail_<family>). */
  attestations: (outcome: VerdictCategory, period?: Duration) => count(METRIC.attestations, { [DIMENSION.outcome]: outcome }, outcome, period),
  /** Attestations by the token they got. */
  tokens: (token: TokenKind, period?: Duration) => count(METRIC.attestations, { [DIMENSION.token]: token }, token, period),
  /** The share of attestations that got a decoy token (0..1). */
  decoyShare: (period = Duration.minutes(5)) =>
    new cloudwatch.MathExpression({
      expression: 'IF(decoy + genuine > 0, decoy / (decoy + genuine), 0)',
      usingMetrics: { decoy: serviceMetrics.tokens('decoy', period), genuine: serviceMetrics.tokens('genuine', period) },
      label: 'decoy share',
      period,
    }),
  nonceInvalid: (period?: Duration) => count(METRIC.nonceInvalid, { [DIMENSION.function]: 'attest' }, 'nonce_invalid (replays, stale challenges)', period),
  tokenVerdicts: (verdict: AuthorizerVerdictName, period?: Duration) => count(METRIC.tokenVerdicts, { [DIMENSION.verdict]: verdict }, verdict, period),
  registrations: (outcome: RegisterOutcome, period?: Duration) => count(METRIC.registrations, { [DIMENSION.outcome]: outcome }, outcome, period),
  dependencyUnavailable: (fn: LambdaName, period?: Duration) => count(METRIC.dependencyUnavailable, { [DIMENSION.function]: fn }, fn, period),
  /** Every function's dependency refusals together (an alarm takes math over at most 10 metrics; these are 6). */
  allDependencyUnavailable: (period = Duration.minutes(5)) => {
    const usingMetrics = Object.fromEntries(DEPENDENT_FUNCTIONS.map((fn, i) => [`d${i}`, serviceMetrics.dependencyUnavailable(fn, period)]));
    return new cloudwatch.MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, label: 'dependency refusals', period });
  },
  /**
   * Calls the functions made with a KMS key pending deletion (their DependencyUnavailable under
   * Dependency KEY_PENDING_DELETION), and `others`' count where given (the CloudTrail metric filter,
   * which sees every caller): math over at most 10 metrics, these are 6 and the filter's.
   */
  keyPendingDeletionUse: (others: Readonly<Record<string, cloudwatch.IMetric>> = {}, period = Duration.minutes(5)) => {
    const ours = Object.fromEntries(
      DEPENDENT_FUNCTIONS.map((fn, i) => [
        `k${i}`,
        count(METRIC.dependencyUnavailable, { [DIMENSION.function]: fn, [DIMENSION.dependency]: KEY_PENDING_DELETION }, fn, period),
      ]),
    );
    const usingMetrics = { ...ours, ...others };
    return new cloudwatch.MathExpression({ expression: Object.keys(usingMetrics).join(' + '), usingMetrics, label: 'uses of a key pending deletion', period });
  },
  /** A dashboard-only search: the metric per tenant and app (alarms cannot use SEARCH). */
  perApp: (metricName: string, dimensions: readonly string[], label: string) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{${METRICS_NAMESPACE},${dimensions.join(',')}} MetricName="${metricName}"', 'Sum', 300)`,
      label,
      period: Duration.minutes(5),
    }),
};

export const ALL_CATEGORIES = VERDICT_CATEGORIES.map((c) => c.key);
export { AUTHORIZER_VERDICTS, REGISTER_OUTCOMES };
