/**
 * What every AWS SDK client of the service is built from. Each client has its own factory module
 * (./dynamodb, ./kms, ./s3) so that a Lambda bundles and loads only the SDK packages it calls.
 */
import { translateAwsError, type AwsDependency } from '../../adapters/aws-errors';

/**
 * How hard a client tries before the service answers 503 (handlers/http.ts). The defaults keep a
 * hung dependency from holding a function until its own timeout (5 s for challenge, 10 s for attest,
 * src/routes.ts): a Lambda that times out answers a bare 502/504 and tells the client nothing.
 */
export interface AwsClientTuning {
  /** Attempts per call, the first included; the SDK backs off between them. @default 3 (the SDK's) */
  readonly maxAttempts?: number;
  /**
   * Milliseconds without a byte from the service before an attempt fails (an idle timeout, so a
   * large build streams for as long as bytes keep coming). @default DEFAULT_SOCKET_TIMEOUT_MS of the service
   */
  readonly socketTimeoutMs?: number;
  /** Milliseconds to open a connection. @default 1000 */
  readonly connectionTimeoutMs?: number;
}

/**
 * DynamoDB and KMS answer in milliseconds (single-digit for DynamoDB, tens for KMS Sign and Decrypt):
 * a second of silence is a fault, not a slow answer. S3 may pause longer mid-stream on a large object.
 */
export const DEFAULT_SOCKET_TIMEOUT_MS: Readonly<Record<AwsDependency, number>> = {
  dynamodb: 2000,
  kms: 3000,
  s3: 10_000,
  sqs: 3000,
  lambda: 3000,
  // GetMetricData of a day's minutes for a tenant's apps may take a few seconds.
  cloudwatch: 5000,
};
export const DEFAULT_CONNECTION_TIMEOUT_MS = 1000;

export interface ClientSettings {
  readonly region: string;
  /** Local cloud only: endpoints of the stand-ins; a client without one talks to AWS. */
  readonly endpoints?: { readonly dynamodb?: string; readonly s3?: string; readonly kms?: string };
  /** Local cloud only: static credentials; absent, the SDK's default chain (the Lambda's role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Retries and timeouts; tests lower them so that an injected fault costs milliseconds. */
  readonly awsClients?: AwsClientTuning;
}

/** Options every client shares: region, credentials, retries and timeouts, and (locally) the service's endpoint. */
export function clientOptions(settings: ClientSettings, service: AwsDependency) {
  const endpoint = service === 'sqs' || service === 'lambda' || service === 'cloudwatch' ? undefined : settings.endpoints?.[service];
  const tuning = settings.awsClients ?? {};
  return {
    region: settings.region,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(tuning.maxAttempts !== undefined ? { maxAttempts: tuning.maxAttempts } : {}),
    requestHandler: {
      connectionTimeout: tuning.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      socketTimeout: tuning.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS[service],
    },
  };
}

/** The part of an SDK v3 client this needs; typed loosely so that this module loads no SDK package. */
type Middleware = (next: (args: never) => Promise<unknown>) => (args: never) => Promise<unknown>;
interface MiddlewareClient {
  readonly middlewareStack: { add(middleware: never, options: { step: 'initialize'; name: string; priority: 'high' }): void };
}

/**
 * Adds the one translation of transient failures (adapters/aws-errors.ts) to a client, outside the
 * SDK's retries: every adapter over it then throws DependencyUnavailableError for throttling, 5xx,
 * timeouts and broken connections, whichever call it made, and keeps handling the rest by name.
 */
export function withDependencyErrors<C extends MiddlewareClient>(client: C, dependency: AwsDependency): C {
  const middleware: Middleware = (next) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      throw translateAwsError(error, dependency);
    }
  };
  client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'attestorDependencyErrors', priority: 'high' });
  return client;
}
