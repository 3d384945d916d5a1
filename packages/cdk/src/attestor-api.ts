import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AUTHORIZER_UNAVAILABLE_RESPONSE, ROUTES, type Route } from '@attestor/contracts/routes';

/** Stage of the Attestor API; part of every URL and of execute-api ARNs. */
export const STAGE_NAME = 'prod';
/** The route verifiers fetch the tenant's public keys from (IAM-authorized). */
export const JWKS_PATH = '/v1/admin/keys/jwks';
/** The admin routes a verifier with a remote key source reads: es256 public keys and wrapped hs256 secrets. */
export const VERIFIER_KEY_PATHS = [JWKS_PATH, '/v1/admin/keys/secrets'] as const;
/** What a verifier that accepts test tokens also reads: the tenant's wrapped test secrets. */
export const VERIFIER_TEST_KEY_PATHS = ['/v1/admin/tokens/test/secrets'] as const;
/** The stage throttle when none is given: requests per second, and burst (requests). */
export const DEFAULT_THROTTLING_RATE_LIMIT = 50;
export const DEFAULT_THROTTLING_BURST_LIMIT = 100;

/**
 * Refuses a stage throttle API Gateway would not apply as meant: the rate is requests per second (a
 * fraction is allowed), the burst a whole number of requests. Neither can exceed the account's own
 * throttle (10,000 requests per second and a 5,000 burst by default), which API Gateway applies
 * silently instead, so that is left to Service Quotas (docs/SCALING.md).
 */
export function checkThrottling(owner: string, rate: number, burst: number): void {
  if (!Number.isFinite(rate) || rate <= 0) {
    throw new Error(`${owner}: throttlingRateLimit must be a positive number of requests per second, got ${rate}`);
  }
  if (!Number.isInteger(burst) || burst < 1) {
    throw new Error(`${owner}: throttlingBurstLimit must be a whole number of requests, at least 1, got ${burst}`);
  }
}

/** The function behind the demo routes (ROUTES entries marked `demo`), and behind no other route. */
export type DemoRouteLambda = 'demoHello';

/** What the demo routes need: without it they are left out (AttestorStack's `demoRoute`). */
export interface AttestorApiDemo {
  /** The function behind the demo routes. */
  readonly handler: lambda.IFunction;
  /** The authorizer in front of them (`auth: 'attestation'`). */
  readonly authorizer: apigw.IAuthorizer;
}

export interface AttestorApiProps {
  /** The function behind each route's `lambda` (a map of every Lambda is fine). */
  readonly handlers: Readonly<Record<Exclude<Route['lambda'], DemoRouteLambda>, lambda.IFunction>>;
  /**
   * The demo routes' function and authorizer.
   * @default none: the demo routes are not part of the API
   */
  readonly demo?: AttestorApiDemo;
  /**
   * Stage-wide steady-state request rate (requests per second) before API Gateway answers 429.
   * @default 50
   */
  readonly throttlingRateLimit?: number;
  /**
   * Stage-wide burst (requests) before API Gateway answers 429.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Retention of the access log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * X-Ray tracing of the stage.
   * @default false
   */
  readonly tracingEnabled?: boolean;
}

/**
 * The REST API, built by iterating ROUTES: the table is the only place a route is written down.
 * auth 'none' is public, 'attestation' goes through the token authorizer, 'iam' requires SigV4.
 */
export class AttestorApi extends Construct {
  readonly restApi: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, private readonly props: AttestorApiProps) {
    super(scope, id);
    const rate = props.throttlingRateLimit ?? DEFAULT_THROTTLING_RATE_LIMIT;
    const burst = props.throttlingBurstLimit ?? DEFAULT_THROTTLING_BURST_LIMIT;
    checkThrottling('AttestorApi', rate, burst);

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    this.restApi = new apigw.RestApi(this, 'RestApi', {
      restApiName: 'attestor',
      description: 'Attestor: mobile app attestation service',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      // Access logging needs the account-level API Gateway CloudWatch role.
      cloudWatchRole: true,
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: rate,
        throttlingBurstLimit: burst,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        // Standard fields only: request id, caller IP, method, path, status, size. No headers, so
        // no tokens or SigV4 signatures in the logs.
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: props.tracingEnabled ?? false,
        // Execution logs would record request data; access logs are enough.
        loggingLevel: apigw.MethodLoggingLevel.OFF,
        metricsEnabled: true,
      },
    });

    for (const route of ROUTES) if (!route.demo || props.demo) this.addRoute(route);
    this.answerAuthorizerFailures();
  }

  /**
   * An authorizer that throws could not reach its keys or ledger (handlers/authorizer.ts): answered
   * 503 with Retry-After and a JSON body, not API Gateway's bare 500, so a client retries with the
   * same token. The local gateway answers the same (AUTHORIZER_UNAVAILABLE_RESPONSE).
   */
  private answerAuthorizerFailures(): void {
    const { status, retryAfterSeconds, body } = AUTHORIZER_UNAVAILABLE_RESPONSE;
    for (const [id, type] of [
      ['AuthorizerFailure', apigw.ResponseType.AUTHORIZER_FAILURE],
      ['AuthorizerConfigurationError', apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR],
    ] as const) {
      this.restApi.addGatewayResponse(id, {
        type,
        statusCode: String(status),
        responseHeaders: { 'Retry-After': `'${retryAfterSeconds}'`, 'Cache-Control': "'no-store'" },
        templates: { 'application/json': JSON.stringify(body) },
      });
    }
  }

  /** The URL of the JWKS route, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/admin/keys/jwks`. */
  get jwksUrl(): string {
    return this.restApi.urlForPath(JWKS_PATH);
  }

  /** The execute-api ARN a verifier's role needs `execute-api:Invoke` on to fetch the JWKS. */
  get jwksExecuteApiArn(): string {
    return this.restApi.arnForExecuteApi('GET', JWKS_PATH, STAGE_NAME);
  }

  /** The execute-api ARN of the deployed stage (`arn:aws:execute-api:<region>:<account>:<api>/<stage>`): what a remote key source is given. */
  get stageArn(): string {
    return Stack.of(this).formatArn({
      service: 'execute-api',
      resource: this.restApi.restApiId,
      resourceName: STAGE_NAME,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  private methodOptions(route: Route): apigw.MethodOptions {
    const { auth, method, path } = route;
    switch (auth) {
      case 'none':
        return { authorizationType: apigw.AuthorizationType.NONE };
      case 'attestation': {
        // Only demo routes stand behind the service's own authorizer; a customer's API has its own.
        const authorizer = this.props.demo?.authorizer;
        if (!authorizer) throw new Error(`route ${route.method} ${route.path}: an attestation route needs the demo authorizer`);
        return { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer };
      }
      case 'iam':
        return { authorizationType: apigw.AuthorizationType.IAM };
      default: {
        const unknown: never = auth;
        throw new Error(`route ${method} ${path}: unknown auth ${String(unknown)}`);
      }
    }
  }

  private addRoute(route: Route): void {
    const resource = this.restApi.root.resourceForPath(route.path);
    const demoLambda: DemoRouteLambda = 'demoHello';
    const handler = route.lambda === demoLambda ? this.props.demo?.handler : this.props.handlers[route.lambda];
    if (!handler) throw new Error(`route ${route.method} ${route.path}: no function for ${route.lambda}`);
    const integration = new apigw.LambdaIntegration(handler, { allowTestInvoke: false });
    resource.addMethod(route.method, integration, this.methodOptions(route));
  }
}
