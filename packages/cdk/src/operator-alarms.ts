/**
 * Where the stack tells its operators that something needs them: one SNS topic, and the alarms that
 * publish to it. Small on purpose, so that later alarms (a dashboard's) reuse the topic:
 * `alarms.notify(alarm)` or `alarms.queueNotEmpty(...)`. Subscribe an address with
 * `aws sns subscribe --topic-arn <OperatorAlarmsTopicArn> --protocol email --notification-endpoint ...`
 * (docs/DEPLOY.md), or pass `topic` to send to one that already exists.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface OperatorAlarmsProps {
  /**
   * The topic alarms publish to.
   * @default a new topic, SSL-only
   */
  readonly topic?: sns.ITopic;
}

export class OperatorAlarms extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperatorAlarmsProps = {}) {
    super(scope, id);
    this.topic =
      props.topic ??
      new sns.Topic(this, 'Topic', {
        displayName: 'Attestor operator alarms',
        enforceSSL: true,
      });
  }

  /** Publishes the alarm's changes (into ALARM and back to OK) to the topic; returns the alarm. */
  notify(alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    const action = new cloudwatchActions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** Alarms when the metric is above `threshold` in `datapoints` of the last `evaluationPeriods` periods; no data is no breach. */
  above(id: string, metric: cloudwatch.IMetric, threshold: number, description: string, datapoints = 3, evaluationPeriods = 5): cloudwatch.Alarm {
    return this.notify(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm: datapoints,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /**
   * Alarms when the metric rises above the band CloudWatch's anomaly detection learns from its own
   * history (`stdDevs` wide): a spike against the deployment's baseline, whatever that baseline is.
   * The model needs about two weeks of data before the band is tight; until then it is wide.
   */
  spikeAboveBaseline(id: string, metric: cloudwatch.IMetric, description: string, stdDevs = 3): cloudwatch.Alarm {
    return this.notify(
      new cloudwatch.AnomalyDetectionAlarm(this, id, {
        alarmDescription: description,
        metric,
        stdDevs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /**
   * Alarms while the queue holds a message: for a queue that should stay empty (an on-failure
   * destination), one message is already an operator's business. Missing data (no messages sent
   * yet) is not a breach.
   */
  queueNotEmpty(id: string, queue: sqs.IQueue, description: string): cloudwatch.Alarm {
    return this.notify(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
