// A customer's CDK app (bin/app.ts): README "Deploy to AWS" (AttestorStack) and "Add the
// authorizer to an existing API", with the constructs imported from the installed @attestor/cdk.
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import { AttestationAuthorizer, AttestationKeySource, AttestorStack } from '@attestor/cdk';

// The Attestor stack's ApiUrl and ApiStageArn outputs, from a deployment elsewhere.
const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/';
const API_STAGE_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';

class OrdersStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const api = new apigateway.RestApi(this, 'Orders');
    const integration = new apigateway.MockIntegration({
      requestTemplates: { 'application/json': '{"statusCode": 200}' },
      integrationResponses: [{ statusCode: '200' }],
    });
    const attestation = new AttestationAuthorizer(this, 'Attestation', {
      keySource: AttestationKeySource.remote({ apiUrl: API_URL, stageArn: API_STAGE_ARN }),
      tenantId: 'acme',
      mode: 'monitor', // first count what enforcing would block; then 'enforce' (the default)
    });
    api.root.addResource('orders').addMethod('GET', integration, { ...attestation.methodOptions(), methodResponses: [{ statusCode: '200' }] });
  }
}

const app = new App();
new AttestorStack(app, 'Attestor', { operatorPrincipals: ['arn:aws:iam::123456789012:role/Admin'] });
new OrdersStack(app, 'Orders');
app.synth();
