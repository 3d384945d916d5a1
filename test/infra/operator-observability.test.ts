/**
 * The operators' dashboard and alarms of the Attestor stack: each alarm exists, watches the metric
 * the functions actually publish (names from @attestor/contracts/metrics), and notifies the
 * operators' topic; the dashboard graphs every metric family; the KMS pending-deletion alarm counts
 * the functions' own uses, and with a CloudTrail log group every caller's through the documented
 * metric filter; the attest function may
 * add to counter items and nothing else of the log table beyond its entries.
 */
import { Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AttestorStack, KMS_PENDING_DELETION_METRIC } from '../../packages/cdk/src/attestor-stack';
import { COUNTS_PARTITION_PREFIX, DIMENSION, KEY_PENDING_DELETION, METRIC, METRICS_NAMESPACE } from '../../packages/contracts/src/metrics';
import { asList, fastApp, refers, Synth, type Json, type Statement } from './helpers';

let stack: AttestorStack;
let s: Synth;
let withTrail: AttestorStack;
let t: Synth;

beforeAll(() => {
  stack = new AttestorStack(fastApp(), 'Attestor');
  s = new Synth(stack);
  const app = fastApp();
  const trail = new Stack(app, 'Trail');
  const group = new logs.LogGroup(trail, 'CloudTrailLogs');
  withTrail = new AttestorStack(app, 'WithTrail', { cloudTrailLogGroup: group, dashboardName: 'attestor-prod' });
  t = new Synth(withTrail);
});

const alarms = (synth: Synth) => Object.fromEntries(synth.ofType('AWS::CloudWatch::Alarm').map(([id, r]) => [id, r['Properties'] as Json]));
const alarmNamed = (synth: Synth, prefix: string): Json => {
  const found = Object.entries(alarms(synth)).filter(([id]) => id.includes(prefix));
  if (found.length !== 1) throw new Error(`expected one alarm ${prefix}, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  return found[0]![1];
};
/** The MetricStat metrics of an alarm's Metrics array (math alarms), or its single metric. */
const metricsOf = (alarm: Json): Json[] =>
  alarm['Metrics']
    ? (alarm['Metrics'] as Json[]).filter((m) => m['MetricStat']).map((m) => m['MetricStat']['Metric'] as Json)
    : [{ Namespace: alarm['Namespace'], MetricName: alarm['MetricName'], Dimensions: alarm['Dimensions'] }];
const dims = (metric: Json) => Object.fromEntries(((metric['Dimensions'] ?? []) as Json[]).map((d) => [d['Name'], d['Value']]));
const topic = () => s.id(stack.operatorAlarms.topic);

describe('operator alarms', () => {
  it('every alarm notifies the operators topic, into ALARM and back to OK', () => {
    const all = Object.values(alarms(s));
    expect(all.length).toBe(6);
    expect(Object.values(alarms(t)).length).toBe(6);
    for (const alarm of all) {
      expect(refers(alarm['AlarmActions'], topic())).toBe(true);
      expect(refers(alarm['OKActions'], topic())).toBe(true);
    }
  });

  it("attest 5xx rate: the average of API Gateway's 5XXError of POST /v1/attest above 5 %", () => {
    const alarm = alarmNamed(s, 'Attest5xxRateAlarm');
    expect(alarm['Threshold']).toBe(0.05);
    const [metric] = metricsOf(alarm);
    expect(metric).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5XXError' });
    expect(dims(metric!)).toMatchObject({ Method: 'POST', Resource: '/v1/attest', Stage: 'prod' });
    expect((alarm['Metrics'] as Json[])[0]!['MetricStat']['Stat']).toBe('Average');
  });

  it('decoy rate spike: anomaly detection over decoy / (decoy + genuine) of the Attestations metric', () => {
    const alarm = alarmNamed(s, 'DecoyRateSpikeAlarm');
    expect(alarm['ComparisonOperator']).toBe('GreaterThanUpperThreshold');
    const band = (alarm['Metrics'] as Json[]).find((m) => String(m['Expression'] ?? '').startsWith('ANOMALY_DETECTION_BAND'));
    expect(band).toBeDefined();
    expect(alarm['ThresholdMetricId']).toBe(band!['Id']);
    const used = metricsOf(alarm);
    expect(used.map((m) => [m['Namespace'], m['MetricName'], dims(m)])).toEqual([
      [METRICS_NAMESPACE, METRIC.attestations, { [DIMENSION.token]: 'decoy' }],
      [METRICS_NAMESPACE, METRIC.attestations, { [DIMENSION.token]: 'genuine' }],
    ]);
  });

  it("authorizer deny spike: anomaly detection over the TokenVerdicts metric's denied verdicts", () => {
    const alarm = alarmNamed(s, 'AuthorizerDenySpikeAlarm');
    expect(alarm['ComparisonOperator']).toBe('GreaterThanUpperThreshold');
    expect(metricsOf(alarm).map((m) => [m['MetricName'], dims(m)])).toEqual([[METRIC.tokenVerdicts, { [DIMENSION.verdict]: 'denied' }]]);
  });

  it('dependency throttling: the sum of every dependent function’s DependencyUnavailable', () => {
    const alarm = alarmNamed(s, 'DependencyThrottlingAlarm');
    const used = metricsOf(alarm);
    expect(used.every((m) => m['Namespace'] === METRICS_NAMESPACE && m['MetricName'] === METRIC.dependencyUnavailable)).toBe(true);
    expect(used.map((m) => dims(m)[DIMENSION.function]).sort()).toEqual(['adminCatalog', 'adminKeys', 'adminUploads', 'attest', 'challenge', 'register']);
    expect(alarm['Threshold']).toBe(10);
  });

  it('register dead letters: the failures queue not empty', () => {
    const alarm = alarmNamed(s, 'RegisterFailuresAlarm');
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
  });

  it("KMS key pending deletion in use: the functions' own uses always, and every caller's through CloudTrail where a trail is given", () => {
    const ownUses = (synth: Synth) =>
      metricsOf(alarmNamed(synth, 'KmsKeyPendingDeletionInUseAlarm')).filter((m) => m['MetricName'] === METRIC.dependencyUnavailable);
    // Without a trail: the DependencyUnavailable the functions count under Dependency kms_key_pending_deletion.
    for (const synth of [s, t]) {
      const used = ownUses(synth);
      expect(used.every((m) => m['Namespace'] === METRICS_NAMESPACE && dims(m)[DIMENSION.dependency] === KEY_PENDING_DELETION)).toBe(true);
      expect(used.map((m) => dims(m)[DIMENSION.function]).sort()).toEqual(['adminCatalog', 'adminKeys', 'adminUploads', 'attest', 'challenge', 'register']);
      expect(alarmNamed(synth, 'KmsKeyPendingDeletionInUseAlarm')).toMatchObject({ Threshold: 0, EvaluationPeriods: 1, DatapointsToAlarm: 1 });
    }
    expect(s.ofType('AWS::Logs::MetricFilter')).toHaveLength(0);
    expect(metricsOf(alarmNamed(s, 'KmsKeyPendingDeletionInUseAlarm'))).toHaveLength(6);
    // With a trail: the metric filter AWS documents, added to the sum.
    const [[, filter]] = t.ofType('AWS::Logs::MetricFilter') as [[string, Json]];
    expect(filter['Properties']['FilterPattern']).toBe('{ ($.eventSource = kms*) && ($.errorMessage = "* is pending deletion.") }');
    expect(filter['Properties']['MetricTransformations']).toEqual([
      { MetricNamespace: METRICS_NAMESPACE, MetricName: KMS_PENDING_DELETION_METRIC, MetricValue: '1', DefaultValue: 0 },
    ]);
    const withTrail = metricsOf(alarmNamed(t, 'KmsKeyPendingDeletionInUseAlarm'));
    expect(withTrail).toHaveLength(7);
    expect(withTrail.filter((m) => m['MetricName'] === KMS_PENDING_DELETION_METRIC)).toHaveLength(1);
  });
});

describe('operator dashboard', () => {
  it('one dashboard per deployment, graphing every metric family and the alarms', () => {
    // Prepare
    const dashboards = s.ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]![1]['Properties']['DashboardBody']);
    // Assess: each metric the functions publish, and the alarm widget
    for (const name of Object.values(METRIC)) expect(body).toContain(name);
    for (const outcome of ['fail_build', 'fail_hardware', 'debug', 'allowlisted']) expect(body).toContain(outcome);
    for (const verdict of ['allowed', 'denied', 'would_deny']) expect(body).toContain(verdict);
    expect(body).toContain('5XXError');
    expect(body).toContain('Operator alarms');
    for (const id of ['Attest5xxRateAlarm', 'DecoyRateSpikeAlarm', 'AuthorizerDenySpikeAlarm', 'DependencyThrottlingAlarm']) expect(body).toContain(id);
    expect(t.ofType('AWS::CloudWatch::Dashboard')[0]![1]['Properties']['DashboardName']).toBe('attestor-prod');
  });
});

describe('counter items', () => {
  it('attest may add to counter items only (UpdateItem on COUNTS# partitions of the log table)', () => {
    const policy = Object.values(s.resources).find(
      (r) => r['Type'] === 'AWS::IAM::Policy' && refers(r['Properties']['Roles'], s.id(stack.functions.attest.role)),
    )!;
    const statements = asList(policy['Properties']['PolicyDocument']['Statement']) as Statement[];
    const counting = statements.find((st) => st.Sid === 'CountAttestations')!;
    expect(asList(counting.Action)).toEqual(['dynamodb:UpdateItem']);
    expect(refers(counting.Resource, s.id(stack.tables.attestationLog))).toBe(true);
    expect(counting.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${COUNTS_PARTITION_PREFIX}*`] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    // No other role may write counters.
    for (const r of Object.values(s.resources).filter((x) => x['Type'] === 'AWS::IAM::Policy')) {
      if (r === policy) continue;
      expect(JSON.stringify(r['Properties']['PolicyDocument'])).not.toContain(COUNTS_PARTITION_PREFIX);
    }
  });
});
