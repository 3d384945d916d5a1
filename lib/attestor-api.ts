import { Duration, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES, TOKEN_HEADER_NAME, type Route } from '../src/routes';

export interface AttestorApiProps {
  /** The function behind each route's `lambda` (a map of every Lambda is fine). */
  readonly handlers: Readonly<Record<Route['lambda'], lambda.IFunction>>;
  /** The REQUEST authorizer in front of `auth: 'attestation'` routes. */
  readonly authorizerFunction: lambda.IFunction;
  readonly throttlingRateLimit?: number;
  readonly throttlingBurstLimit?: number;
  readonly logRetention?: logs.RetentionDays;
  readonly tracingEnabled?: boolean;
}

/**
 * The REST API, built by iterating ROUTES: the table is the only place a route is written down.
 * auth 'none' is public, 'attestation' goes through the token authorizer, 'iam' requires SigV4.
 */
export class AttestorApi extends Construct {
  readonly restApi: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;
  private tokenAuthorizerInstance?: apigw.RequestAuthorizer;

  constructor(scope: Construct, id: string, private readonly props: AttestorApiProps) {
    super(scope, id);

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
        stageName: 'prod',
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: props.tracingEnabled ?? false,
        // Execution logs would record request data; access logs are enough.
        loggingLevel: apigw.MethodLoggingLevel.OFF,
        metricsEnabled: true,
      },
    });

    for (const route of ROUTES) this.addRoute(route);

    // cdk-nag (AwsSolutions) findings that are decisions, not oversights.
    Validations.of(this.restApi).acknowledge(
      { id: 'AwsSolutions-APIG2', reason: 'Handlers validate every request with their zod schemas and name the offending field; a gateway model would duplicate them and drift.' },
      { id: 'AwsSolutions-APIG3', reason: 'Stage throttling bounds load; a WAF web ACL is left to the deployer (it costs per ACL and per request).' },
      { id: 'AwsSolutions-APIG6', reason: 'Access logs record every request; execution logs are off because they would record request data, tokens included.' },
    );
    const cloudWatchRole = this.restApi.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level role API Gateway needs to write access logs; the AWS managed policy is the documented one.',
      });
    }
  }

  /** Created on first use: API Gateway rejects an authorizer no method uses. */
  private tokenAuthorizer(): apigw.RequestAuthorizer {
    this.tokenAuthorizerInstance ??= new apigw.RequestAuthorizer(this, 'TokenAuthorizer', {
      authorizerName: 'attestation-token',
      handler: this.props.authorizerFunction,
      identitySources: [apigw.IdentitySource.header(TOKEN_HEADER_NAME)],
      // No caching yet: every request's token is verified (cached policies would outlive revocation).
      resultsCacheTtl: Duration.seconds(0),
    });
    return this.tokenAuthorizerInstance;
  }

  private methodOptions(route: Route): apigw.MethodOptions {
    switch (route.auth) {
      case 'none':
        return { authorizationType: apigw.AuthorizationType.NONE };
      case 'attestation':
        return { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer: this.tokenAuthorizer() };
      case 'iam':
        return { authorizationType: apigw.AuthorizationType.IAM };
      default: {
        const unknown: never = route.auth;
        throw new Error(`route ${route.method} ${route.path}: unknown auth ${String(unknown)}`);
      }
    }
  }

  private addRoute(route: Route): void {
    const resource = this.restApi.root.resourceForPath(route.path);
    const integration = new apigw.LambdaIntegration(this.props.handlers[route.lambda], { allowTestInvoke: false });
    const method = resource.addMethod(route.method, integration, this.methodOptions(route));
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Callers are apps proving themselves with attestation tokens (REQUEST authorizer) or operators with SigV4 (AWS_IAM); there are no Cognito users.',
    });
    if (route.auth === 'none') {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: `${route.method} ${route.path} is public by design in the route table (auth: 'none'): it is how an app obtains a nonce or a token in the first place.`,
      });
    }
  }
}
