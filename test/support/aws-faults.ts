/**
 * The local cloud with a fault proxy (./fault-proxy.ts) in front of each AWS stand-in: dynalite
 * (DynamoDB), the S3 front and the local KMS. The service runs unchanged over the real AWS SDK
 * clients; only their endpoints are the proxies' (LocalCloudOptions.interpose). The faults answer
 * what each service really answers: the error codes and bodies below are AWS's, so the SDK parses,
 * classifies and retries them as it would in AWS.
 */
import { startLocalCloud, type LocalCloud, type LocalCloudOptions } from '../../packages/local/src/cloud';
import { startFaultProxy, type FaultAction, type FaultProxy, type FaultRule, type ProxiedRequest } from './fault-proxy';

export type Dependency = 'dynamodb' | 's3' | 'kms';

/** The retries and timeouts the fault tests run with: one retry, and a hung call fails in 300 ms. */
export const FAST_AWS_CLIENTS = { maxAttempts: 2, socketTimeoutMs: 300, connectionTimeoutMs: 300 } as const;

export interface FaultyCloud {
  readonly cloud: LocalCloud;
  readonly proxies: Readonly<Record<Dependency, FaultProxy>>;
  /** Removes every fault of every proxy. */
  clear(): void;
  stop(): Promise<void>;
}

export async function startFaultyCloud(options: LocalCloudOptions): Promise<FaultyCloud> {
  const proxies: Partial<Record<Dependency, FaultProxy>> = {};
  const cloud = await startLocalCloud({
    awsClients: FAST_AWS_CLIENTS,
    ...options,
    interpose: async (dependency, endpoint) => {
      // The S3 front and the local KMS check SigV4, which covers the Host header: it must pass unchanged.
      const proxy = await startFaultProxy({ target: endpoint, preserveHost: true });
      proxies[dependency] = proxy;
      return proxy.endpoint;
    },
  });
  const all = proxies as Record<Dependency, FaultProxy>;
  return {
    cloud,
    proxies: all,
    clear: () => Object.values(all).forEach((p) => p.clear()),
    stop: async () => {
      await cloud.stop();
      await Promise.all(Object.values(all).map((p) => p.close()));
    },
  };
}

/** DynamoDB and KMS name the operation in X-Amz-Target (`DynamoDB_20120810.DeleteItem`, `TrentService.Sign`). */
export function operation(...names: string[]): (request: ProxiedRequest) => boolean {
  return (request) => {
    const target = request.headers['x-amz-target'];
    return typeof target === 'string' && names.some((name) => target.endsWith(`.${name}`));
  };
}

const JSON_10 = { 'content-type': 'application/x-amz-json-1.0' };
const JSON_11 = { 'content-type': 'application/x-amz-json-1.1' };
const XML = { 'content-type': 'application/xml' };

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
  '<RequestId>4442587FB7D0A2F9</RequestId><HostId>ZmF1bHQtaW5qZWN0ZWQ=</HostId></Error>';

/** The faults every route is tried with, per dependency: what the service sends back, as AWS sends it. */
export const AWS_FAULTS: Readonly<Record<Dependency, Readonly<Record<string, FaultAction>>>> = {
  dynamodb: {
    throttled: {
      kind: 'status',
      status: 400,
      headers: { ...JSON_10, 'x-amzn-errortype': 'ProvisionedThroughputExceededException' },
      body: JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message:
          'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      }),
    },
    throttledOnDemand: {
      kind: 'status',
      status: 400,
      headers: { ...JSON_10, 'x-amzn-errortype': 'ThrottlingException' },
      body: JSON.stringify({ __type: 'com.amazon.coral.availability#ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' }),
    },
    serverError: {
      kind: 'status',
      status: 500,
      headers: { ...JSON_10, 'x-amzn-errortype': 'InternalServerError' },
      body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'Internal server error' }),
    },
    timeout: { kind: 'hang' },
    reset: { kind: 'reset' },
  },
  s3: {
    throttled: { kind: 'status', status: 503, headers: XML, body: s3Error('SlowDown', 'Please reduce your request rate.') },
    serverError: { kind: 'status', status: 500, headers: XML, body: s3Error('InternalError', 'We encountered an internal error. Please try again.') },
    timeout: { kind: 'hang' },
    reset: { kind: 'reset' },
  },
  kms: {
    throttled: {
      kind: 'status',
      status: 400,
      headers: { ...JSON_11, 'x-amzn-errortype': 'ThrottlingException' },
      body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }),
    },
    serverError: {
      kind: 'status',
      status: 500,
      headers: { ...JSON_11, 'x-amzn-errortype': 'KMSInternalException' },
      body: JSON.stringify({ __type: 'KMSInternalException', message: 'An internal error occurred.' }),
    },
    timeout: { kind: 'hang' },
    reset: { kind: 'reset' },
  },
};

/** A rule for `dependency`'s proxy: every request, or only the named operations (DynamoDB, KMS) or matching ones. */
export function faultRule(action: FaultAction, match?: (request: ProxiedRequest) => boolean, times?: number): FaultRule {
  return { action, ...(match ? { match } : {}), ...(times !== undefined ? { times } : {}) };
}
