/**
 * A customer's API protected by Attestor, as a worked example of AttestationAuthorizer: a REST API
 * whose backend (the demo-hello function stands in for yours) is reachable only with a valid
 * attestation token, and one operation that accepts each token only once.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LAMBDAS } from '@attestor/contracts/routes';
import { DEMO_HELLO_CONFIG } from '@attestor/contracts/config';
import { AttestationAuthorizer, type AttestationKeySource } from './attestation-authorizer';
import { acknowledgeExampleApiStack } from './nag-acknowledgements';
import { ServiceFunction } from './service-function';

export interface ExampleApiStackProps extends StackProps {
  /** Where the authorizers get the tenant's public keys (the Attestor's KMS keys or its JWKS). */
  readonly keySource: AttestationKeySource;
  /**
   * `iss` of the Attestor deployment whose tokens are accepted.
   * @default 'attestor'
   */
  readonly issuer?: string;
  /**
   * The Attestor tenant whose tokens are accepted.
   * @default 'default'
   */
  readonly tenantId?: string;
  /**
   * Retention of the API's access logs and of the functions' logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Create the account-level role API Gateway needs to write access logs. The Attestor stack
   * creates it; set this when the example is deployed into an account without it.
   * @default false
   */
  readonly cloudWatchRole?: boolean;
  /**
   * The API's stage. `prod` is the production setting: test tokens are refused there.
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * Let test tokens (`attestor token mint`) through both authorizers, for a copy of this API that a
   * backend's CI calls. Refused at synth on the `prod` stage.
   * @default false
   */
  readonly acceptTestTokens?: boolean;
}

/** The stage on which test tokens are refused whatever the props say. */
export const EXAMPLE_PRODUCTION_STAGE = 'prod';

export class ExampleApiStack extends Stack {
  readonly restApi: apigw.RestApi;
  readonly accessLogs: logs.LogGroup;
  readonly backend: ServiceFunction;
  /** GET /hello: any valid token. */
  readonly attestation: AttestationAuthorizer;
  /** POST /hello: single-use tokens, each let in once. */
  readonly singleUseAttestation: AttestationAuthorizer;

  constructor(scope: Construct, id: string, props: ExampleApiStackProps) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const stageName = props.stageName ?? EXAMPLE_PRODUCTION_STAGE;
    if (props.acceptTestTokens === true && stageName === EXAMPLE_PRODUCTION_STAGE) {
      throw new Error(
        `ExampleApiStack: acceptTestTokens is refused on the ${EXAMPLE_PRODUCTION_STAGE} stage: ` +
          "test tokens are for a CI copy of the API (set stageName, e.g. 'ci')",
      );
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention });
    this.restApi = new apigw.RestApi(this, 'RestApi', {
      restApiName: 'attestor-example-api',
      description: 'Example customer API protected by Attestor',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: props.cloudWatchRole ?? false,
      deployOptions: {
        stageName,
        throttlingRateLimit: 20,
        throttlingBurstLimit: 40,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.OFF,
        metricsEnabled: true,
      },
    });

    // Your backend; the authorizer hands it the token's appId and did in requestContext.authorizer.
    this.backend = new ServiceFunction(this, 'Backend', { name: 'demoHello', environment: DEMO_HELLO_CONFIG.toEnv({}), logRetention });
    const backend = new apigw.LambdaIntegration(this.backend.fn, { allowTestInvoke: false });

    // The few lines a customer adds: one authorizer, then methodOptions() on each protected method.
    const common = {
      keySource: props.keySource,
      issuer: props.issuer ?? 'attestor',
      tenantId: props.tenantId ?? 'default',
      logRetention,
      ...(props.acceptTestTokens === true ? { acceptTestTokens: true } : {}),
    };
    this.attestation = new AttestationAuthorizer(this, 'Attestation', common);
    this.singleUseAttestation = new AttestationAuthorizer(this, 'SingleUseAttestation', {
      ...common,
      limitedUse: true,
      authorizerName: 'attestation-single-use',
    });

    const hello = this.restApi.root.addResource('hello');
    hello.addMethod('GET', backend, this.attestation.methodOptions());
    hello.addMethod('POST', backend, this.singleUseAttestation.methodOptions());

    acknowledgeExampleApiStack(this);

    new CfnOutput(this, 'ExampleApiUrl', { value: this.restApi.url, description: 'Call GET <url>hello with an Attestor-Token header' });
    new CfnOutput(this, 'AuthorizerRoleArns', {
      value: [this.attestation.service.role.roleArn, this.singleUseAttestation.service.role.roleArn].join(','),
      description: 'With a JWKS key source: map these roles to the tenant so that they may fetch its JWKS',
    });
  }
}
