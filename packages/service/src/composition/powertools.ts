/**
 * The functions' logs and metrics in AWS, through Powertools for AWS Lambda (TypeScript): the
 * handlers' Logger and metrics ports (handlers/log.ts, handlers/metrics.ts) over Powertools'
 * Logger and Metrics, so the core and the handlers stay free of AWS and the tests keep their fakes.
 *
 * Logs: one JSON object per line, as before, now with the request id, cold start, function name,
 * the correlation id (API Gateway's request id, or S3's for an upload) and Powertools' debug
 * sampling (a share of invocations logs at DEBUG: POWERTOOLS_LOGGER_SAMPLE_RATE, else LOG_SAMPLE_RATE).
 * The event itself is never logged: it carries tokens, proofs and nonces.
 *
 * Metrics: Embedded Metric Format lines on stdout, which CloudWatch Logs turns into metrics with no
 * API call (and no IAM permission) on the request path. Every count is published when it happens,
 * so a crash later in the invocation loses nothing. Names: @attestor/contracts/metrics.
 *
 * No Tracer (X-Ray): it would bundle aws-xray-sdk-core (about 128 KB and 20 ms of cold start per
 * function, TOOLCHAIN measurements) for a path that is two DynamoDB round trips and a KMS call the
 * SDK's own metrics and the Lambda duration already show; API Gateway's X-Ray tracing
 * (tracingEnabled on the stack) traces the requests without code in the functions.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { DIMENSION, METRIC, METRICS_NAMESPACE, UNREGISTERED_APP, categoryOf } from '@attestor/contracts/metrics';
import type { LambdaName } from '@attestor/contracts/routes';
import type { LogFields, Logger } from '../handlers/log';
import { verdictName, type MetricsSink, type ServiceMetrics } from '../handlers/metrics';

/** The share of invocations that log at DEBUG when POWERTOOLS_LOGGER_SAMPLE_RATE does not say. */
export const LOG_SAMPLE_RATE = 0.01;
/**
 * Powertools' `service` key in every log line. No ColdStart metric: Powertools would publish it under a
 * `service` dimension of its own choosing, and cold starts are in each log line and Lambda's REPORT lines.
 */
export const SERVICE_NAME = 'attestor';

export interface Observability {
  readonly log: Logger;
  readonly metrics: ServiceMetrics & MetricsSink;
  /** The Lambda handler: the invocation's context and correlation id on every log line it writes. */
  instrument<E, R>(handler: (event: E) => Promise<R>): (event: E, context: Context) => Promise<R>;
}

export interface ObservabilityOptions {
  /** The tenant an authorizer serves (its configuration's tenantId): the Tenant dimension of its verdicts. */
  readonly tenantId?: string;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Counts one metric under each of `dimensionSets`. */
export type Publish = (name: string, dimensionSets: ReadonlyArray<Record<string, string>>) => void;

/**
 * What attest passes to count the attestations it judges (attestationCounts). Only attest judges
 * attestations, and counting one maps its reasons to failure families (@attestor/contracts/metrics):
 * passed in by attest's entry, so no other function bundles that map. The overloads of powertools()
 * make attest pass it.
 */
export interface AttestationCounting {
  readonly attestations: (publish: Publish) => ServiceMetrics['attestation'];
}

/** Attestations by outcome (pass, each failure family, debug, allow-listed), by token kind, and by tenant and app. */
export const attestationCounts =
  (publish: Publish): ServiceMetrics['attestation'] =>
  (count) => {
    const outcome = categoryOf(count);
    const app = count.appKnown ? count.appId : UNREGISTERED_APP;
    publish(METRIC.attestations, [
      { [DIMENSION.outcome]: outcome },
      { [DIMENSION.token]: count.outcome === 'fail' ? 'decoy' : 'genuine' },
      { [DIMENSION.tenant]: count.tenantId, [DIMENSION.app]: app, [DIMENSION.outcome]: outcome },
    ]);
  };

/** API Gateway's request id, or the S3 request id of an upload's event: what an operator quotes to find one request. */
export function correlationIdOf(event: unknown): string | undefined {
  const e = event as {
    requestContext?: { requestId?: unknown };
    Records?: ReadonlyArray<{ responseElements?: { 'x-amz-request-id'?: unknown } }>;
  } | null;
  const requestId = e?.requestContext?.requestId;
  if (typeof requestId === 'string') return requestId;
  const s3RequestId = e?.Records?.[0]?.responseElements?.['x-amz-request-id'];
  return typeof s3RequestId === 'string' ? s3RequestId : undefined;
}

export function powertools(functionName: 'attest', options: ObservabilityOptions & AttestationCounting): Observability;
export function powertools(functionName: Exclude<LambdaName, 'attest'>, options?: ObservabilityOptions): Observability;
export function powertools(functionName: LambdaName, options: ObservabilityOptions & Partial<AttestationCounting> = {}): Observability {
  const env = options.env ?? process.env;
  const logger = new PowertoolsLogger({
    serviceName: SERVICE_NAME,
    // The environment's rate wins; Powertools would let a constructor value override it.
    ...(env['POWERTOOLS_LOGGER_SAMPLE_RATE'] === undefined ? { sampleRateValue: LOG_SAMPLE_RATE } : {}),
    persistentKeys: { function: functionName },
  });
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    // Powertools warns whenever two dimension sets share a key ("EMF key ... defined as both a dimension
    // set and dimension set"), which every count here does by design (Outcome alone, and with Tenant and
    // App): valid EMF, and one warning line per request would double the log volume. Others pass through.
    logger: {
      trace: (...args: unknown[]) => logger.trace(String(args[0])),
      debug: (...args: unknown[]) => logger.debug(String(args[0])),
      info: (...args: unknown[]) => logger.info(String(args[0])),
      warn: (...args: unknown[]) => (String(args[0]).startsWith('EMF key ') ? undefined : logger.warn(String(args[0]))),
      error: (...args: unknown[]) => logger.error(String(args[0])),
    },
  });
  // Powertools adds `service` to every dimension set; the dashboard and alarms name exact sets
  // (DIMENSION_SETS), so the counts carry only those.
  metrics.clearDefaultDimensions();

  const log: Logger = {
    // `event` stays a member of its own, so queries written against the earlier lines still match.
    info: (event, fields) => logger.info(event, { event, ...clean(fields) }),
    warn: (event, fields) => logger.warn(event, { event, ...clean(fields) }),
    error: (event, fields) => logger.error(event, { event, ...clean(fields) }),
  };

  const publish: Publish = (name, dimensionSets) => {
    for (const set of dimensionSets) metrics.addDimensions(set);
    metrics.addMetric(name, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  };

  const sink: ServiceMetrics & MetricsSink = {
    // Only attest judges attestations, and it passes its counter (the overloads above).
    attestation: options.attestations?.(publish) ?? (() => undefined),
    nonceInvalid: (count) => {
      const known = count.tenantId !== undefined && count.appId !== undefined;
      publish(METRIC.nonceInvalid, [
        { [DIMENSION.function]: functionName },
        ...(known ? [{ [DIMENSION.tenant]: count.tenantId!, [DIMENSION.app]: count.appId! }] : []),
      ]);
    },
    registration: (count) => {
      publish(METRIC.registrations, [
        { [DIMENSION.outcome]: count.outcome },
        ...(count.owner ? [{ [DIMENSION.tenant]: count.owner.tenantId, [DIMENSION.app]: count.owner.appId, [DIMENSION.outcome]: count.outcome }] : []),
      ]);
    },
    dependencyUnavailable: (count) => {
      publish(METRIC.dependencyUnavailable, [
        { [DIMENSION.function]: count.handler },
        { [DIMENSION.function]: count.handler, [DIMENSION.dependency]: count.dependency },
      ]);
    },
    record: (verdict) => {
      const name = verdictName(verdict);
      publish(METRIC.tokenVerdicts, [
        { [DIMENSION.verdict]: name },
        { [DIMENSION.verdict]: name, [DIMENSION.reason]: verdict.code },
        ...(options.tenantId !== undefined
          ? [{ [DIMENSION.tenant]: options.tenantId, [DIMENSION.app]: verdict.appId ?? UNREGISTERED_APP, [DIMENSION.verdict]: name }]
          : []),
      ]);
    },
  };

  const instrument = <E, R>(handler: (event: E) => Promise<R>) => {
    return async (event: E, context: Context): Promise<R> => {
      logger.refreshSampleRateCalculation();
      logger.addContext(context);
      const correlationId = correlationIdOf(event);
      if (correlationId !== undefined) logger.setCorrelationId(correlationId);
      try {
        return await handler(event);
      } finally {
        // Temporary keys (the correlation id) belong to this invocation only.
        logger.resetKeys();
      }
    };
  };

  return { log, metrics: sink, instrument };
}

/** Powertools drops nothing it is given; undefined members are left out here as JSON.stringify would. */
function clean(fields: LogFields | undefined): Record<string, unknown> {
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}
