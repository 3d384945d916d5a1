/**
 * Authorizer verdicts as CloudWatch metrics, in Embedded Metric Format: one JSON log line per
 * verdict, which CloudWatch Logs turns into a metric without any API call on the request path.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** valid: the token (and request) passed; missing: no token; invalid: anything else, `code` says what. */
export type VerdictResult = 'valid' | 'missing' | 'invalid';

/** One request's verdict, as counted in metrics. */
export interface AuthorizerVerdict {
  readonly result: VerdictResult;
  /** 'valid', 'missing', a VerifyErrorCode, or 'verifier_error' when keys or ledger could not be reached. */
  readonly code: string;
  readonly mode: 'enforce' | 'monitor';
}

/** Where verdicts go: EMF lines in Lambda, anything in tests and the local cloud. */
export interface MetricsSink {
  record(verdict: AuthorizerVerdict): void;
}

/** CloudWatch namespace of Attestor's metrics. */
export const METRICS_NAMESPACE = 'Attestor';
/** Count of authorizer verdicts, by Result and by Result and Code. */
export const VERDICT_METRIC = 'TokenVerdicts';

/** The EMF document for one verdict: count 1 under dimensions Result and (Result, Code). */
export function emfVerdict(verdict: AuthorizerVerdict, timestampMs: number): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['Result'], ['Result', 'Code']],
          Metrics: [{ Name: VERDICT_METRIC, Unit: 'Count' }],
        },
      ],
    },
    Result: verdict.result,
    Code: verdict.code,
    Mode: verdict.mode,
    [VERDICT_METRIC]: 1,
  };
}

/** Writes each verdict as one EMF line (to stdout, which Lambda sends to CloudWatch Logs). */
export function emfMetrics(write: (line: string) => void = (line) => process.stdout.write(line), now: () => number = Date.now): MetricsSink {
  return { record: (verdict) => write(`${JSON.stringify(emfVerdict(verdict, now()))}\n`) };
}
