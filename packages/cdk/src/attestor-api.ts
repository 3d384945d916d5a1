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

export interface AttestorApiProps {
  /** The function behind each route's `lambda` (a map of every Lambda is fine). */
  readonly handlers: Readonly<Record<Route['lambda'], lambda.IFunction>>;
  /** The authorizer in front of `auth: 'attestation'` routes. */
  readonly authorizer: apigw.IAuthorizer;
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
    const rate = props.throttlingRateLimit ?? 50;
    const burst = props.throttlingBurstLimit ?? 100;
    if (!(rate > 0) || !(burst >= 1)) throw new Error(`AttestorApi: throttlingRateLimit (${rate}) and throttlingBurstLimit (${burst}) must be positive`);

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

    for (const route of ROUTES) this.addRoute(route);
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
      case 'attestation':
        return { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer: this.props.authorizer };
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
    const integration = new apigw.LambdaIntegration(this.props.handlers[route.lambda], { allowTestInvoke: false });
    resource.addMethod(route.method, integration, this.methodOptions(route));
  }
}
