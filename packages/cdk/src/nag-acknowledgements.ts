/**
 * Every cdk-nag finding (AwsSolutions and Serverless packs) that is a decision rather than an
 * oversight, with its reason: all of them, in this one file, so that they can be reviewed together.
 * Each names one rule (findings of IAM4/IAM5 one resource at a time) and is attached to the
 * narrowest construct it concerns. test/infra/nag.test.ts runs both packs over both stacks and
 * checks that nothing else is acknowledged anywhere.
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { ADMIN_LAMBDAS, KEY_CREATING_LAMBDAS, ROUTES } from '@attestor/contracts/routes';
import type { AttestationAuthorizer } from './attestation-authorizer';
import type { AttestorStack } from './attestor-stack';
import type { ExampleApiStack } from './example-api-stack';
import type { ServiceFunction } from './service-function';

/** One acknowledgement: a rule id (with its finding, for IAM4/IAM5) and why it is acceptable. */
function ack(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The IAM5 finding id of a wildcard KMS key ARN in this stack's account and Region. */
const ANY_KMS_KEY = 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]';

function acknowledgeSynchronousFunction(fn: ServiceFunction, invokedBy: string): void {
  ack(
    fn.fn,
    'Serverless-LambdaDLQ',
    `Invoked synchronously by ${invokedBy}, which receives any error itself; Lambda never queues its events, so a dead-letter queue would never receive one.`,
  );
  ack(
    fn.fn,
    'Serverless-LambdaTracing',
    'X-Ray is off to keep per-request cost at attestation volume down; every invocation logs JSON with its outcome and API Gateway records latency ' +
      'metrics. Tracing also needs xray:Put* on Resource "*".',
  );
}

function acknowledgeRestApi(api: apigw.RestApi, stageTracing: boolean): void {
  ack(
    api,
    'AwsSolutions-APIG2',
    'Every handler validates its body with a valibot schema and answers 400 naming the offending field (PROTOCOL.md §2.1); a gateway model would duplicate ' +
      'those schemas, drift, and answer in a different error shape.',
  );
  ack(
    api,
    'AwsSolutions-APIG6',
    'Access logs (JSON, standard fields, no headers) record every request; execution logs are off because they would record request data, attestation ' +
      'tokens and SigV4 headers included.',
  );
  if (!stageTracing) {
    ack(
      api,
      'Serverless-APIGWXrayEnabled',
      'X-Ray tracing of the stage is opt-in (tracingEnabled): it is charged per trace, and access logs plus API Gateway metrics already give status ' +
        'and latency per request.',
    );
  }
  const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole) {
    ack(
      cloudWatchRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      'The account-level role API Gateway assumes to write access logs; AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it and ' +
        'API Gateway alone can assume the role.',
    );
  }
}

/** Methods are authorized by attestation tokens or SigV4; two are public by design. */
function acknowledgeMethods(api: apigw.RestApi): void {
  for (const method of api.methods) {
    ack(
      method,
      'AwsSolutions-COG4',
      'Callers are app installations proving themselves with attestation tokens (REQUEST authorizer) or operators signing with SigV4 (AWS_IAM); there ' +
        'are no Cognito users to authorize.',
    );
    const route = ROUTES.find((r) => r.method === method.httpMethod && r.path === method.resource.path);
    if (route?.auth === 'none') {
      ack(
        method,
        'AwsSolutions-APIG4',
        `${route.method} ${route.path} is public in the route table (auth: 'none') by design: it is how an app without credentials obtains a nonce or ` +
          `a token; WAF rate-limits it per IP and caps its body.`,
      );
    }
  }
}

export function acknowledgeAttestationAuthorizer(authorizer: AttestationAuthorizer): void {
  const { service } = authorizer;
  acknowledgeSynchronousFunction(service, 'API Gateway as a REQUEST authorizer');
  if (authorizer.keySourceKind === 'kms') {
    ack(
      service.role,
      ANY_KMS_KEY,
      'Tenant keys are created at run time, so no key ARN can be written down: kms:GetPublicKey on key/* is narrowed to keys with an alias under the ' +
        'tenant prefix (kms:ResourceAliases), and public keys are not secret; kms:Decrypt on key/* only under an encryption context naming its own ' +
        'tenant, with the tenant secrets alias.',
    );
  }
  const remoteKeys = (authorizer.keySource as { kmsKeys?: unknown }).kmsKeys;
  if (authorizer.keySourceKind === 'remote' && typeof remoteKeys === 'string' && !Token.isUnresolved(remoteKeys)) {
    ack(
      service.role,
      `AwsSolutions-IAM5[Resource::${remoteKeys}]`,
      "Tenant secrets keys are created at run time in the Attestor's account, so no key ARN can be written down: kms:Decrypt on its key/* is allowed " +
        "only under an encryption context naming this authorizer's tenant.",
    );
  } else if (authorizer.keySourceKind === 'remote') {
    ack(
      service.role,
      ANY_KMS_KEY,
      "Tenant secrets keys are created at run time in the Attestor's account, so no key ARN can be written down: kms:Decrypt on its key/* is allowed " +
        "only under an encryption context naming this authorizer's tenant.",
    );
  }
  if (authorizer.tokenLedger) {
    ack(
      authorizer.tokenLedger,
      'AwsSolutions-DDB3',
      'The token ledger holds random ids of consumed tokens, each deleted by TTL when its token expires (minutes); there is nothing to recover.',
    );
  }
}

export function acknowledgeAttestorStack(stack: AttestorStack): void {
  const { challenge, attest, register, adminCatalog, adminUploads, demoHello, revocationList } = stack.functions;
  const buildsBucketId = stack.getLogicalId(stack.buildsBucket.node.defaultChild as s3.CfnBucket);
  const buildObjects = `AwsSolutions-IAM5[Resource::<${buildsBucketId}.Arn>/builds/*]`;

  ack(
    stack.tables.nonces,
    'AwsSolutions-DDB3',
    'Nonces live for 60 seconds and expire by TTL; losing them costs only the challenges in flight, so there is nothing to recover.',
  );
  ack(
    stack.tables.attestationLog,
    'AwsSolutions-DDB3',
    'The attestation log is operator telemetry kept 30 days by TTL and retained on stack deletion; verdicts never depend on it, and point-in-time ' +
      'recovery would roughly double its storage cost at attestation volume.',
  );
  ack(
    stack.buildsBucket,
    'AwsSolutions-S1',
    'Objects arrive only through presigned URLs the admin API issues per upload and logs; the register function logs every object it reads. ' +
      'Object-level audit, if wanted, is CloudTrail S3 data events.',
  );
  ack(
    stack.registerFailures,
    'AwsSolutions-SQS3',
    "This queue is itself the register function's on-failure destination (a dead-letter queue for S3 events); nothing consumes it automatically, so it " +
      "needs no dead-letter queue of its own.",
  );
  ack(
    stack.registerFailures,
    'Serverless-SQSRedrivePolicy',
    "This queue is itself the register function's on-failure destination; messages are inspected by an operator and kept 14 days, so there is no " +
      "consumer whose failures would need redriving.",
  );

  for (const fn of [challenge, attest, ...(demoHello ? [demoHello] : [])]) acknowledgeSynchronousFunction(fn, 'API Gateway (Lambda proxy integration)');
  for (const name of ADMIN_LAMBDAS) acknowledgeSynchronousFunction(stack.functions[name], 'API Gateway (Lambda proxy integration, AWS_IAM routes)');
  ack(
    register.fn,
    'Serverless-LambdaDLQ',
    'S3 invokes it asynchronously and Lambda sends events it gave up on to an on-failure destination (the RegisterFailures queue, with the error), ' +
      'which records more than a dead-letter queue would.',
  );
  ack(
    register.fn,
    'Serverless-LambdaTracing',
    'Hashing a build is one S3 GetObject stream and a few DynamoDB writes, each logged; X-Ray would add cost without showing more, and would need ' +
      'xray:Put* on Resource "*".',
  );

  // The revocation function runs on a daily schedule tick that carries no data: a lost or failed run is
  // redone by the next day's, attest keeps the copy it has meanwhile, and every failure is logged and
  // counted in the function's Errors metric.
  ack(
    revocationList.fn,
    'Serverless-LambdaDLQ',
    'Invoked by a daily EventBridge schedule whose events carry no data: a dead-letter queue would keep empty ticks, ' +
      "while a failed run is logged (revocation_list_refresh_failed), counted in Errors, and redone by the next day's run; " +
      'the stored list stays as it was meanwhile.',
  );
  ack(
    revocationList.fn,
    'Serverless-LambdaTracing',
    'One HTTPS GET and one S3 PutObject a day, both logged with their outcome; X-Ray would show nothing more and would need xray:Put* on Resource "*".',
  );
  ack(
    stack.revocationSchedule,
    'Serverless-EventBusDLQ',
    "The rule's events are schedule ticks with no payload; one EventBridge fails to deliver (after its two retries) " +
      "is made up by the next day's tick, and attest keeps its copy of the list meanwhile.",
  );

  ack(
    attest.role,
    ANY_KMS_KEY,
    'Tenant keys are created at run time, so no key ARN can be written down: kms:Sign on key/* is narrowed to keys with an alias under the tenant ' +
      'prefix (kms:ResourceAliases) and to ECDSA_SHA_256; new keys also name this role in their key policy.',
  );
  for (const name of KEY_CREATING_LAMBDAS) {
    const { role } = stack.functions[name];
    ack(
      role,
      ANY_KMS_KEY,
      'Tenant keys are created at run time: TagResource must cover every key (CreateKey tags are authorized on the new key) and is narrowed to the ' +
        'attestor tag keys; CreateAlias, GetPublicKey and DescribeKey are narrowed to P-256 signing keys and tenant alias names; the decoy key is ' +
        'denied.',
    );
    ack(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'kms:CreateKey has no resource to name; it is narrowed by the required attestor:tenant request tag, the allowed tag keys, and the key spec and ' +
        'usage (P-256 signing keys only).',
    );
    ack(
      role,
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:alias/attestor/tenant/*]',
      'Aliases name tenant keys created at run time (alias/attestor/tenant/<tenant>/...); only names under that prefix may be created.',
    );
  }
  ack(
    adminCatalog.role,
    'AwsSolutions-IAM5[Resource::*]',
    "cloudwatch:GetMetricData (the authorizer's verdicts for the admin stats) has no resource type and no condition key to narrow it; it reads " +
      'metrics only, and the function names the caller\'s Tenant dimension in every query.',
  );
  ack(
    adminUploads.role,
    buildObjects,
    'Presigned upload URLs for builds/<appId>/<version>/<uploadId>, one per upload, so the object key is known only at run time.',
  );
  ack(
    register.role,
    buildObjects,
    'Reads whichever build was just uploaded under builds/<appId>/<version>/<uploadId>, as named by the S3 event; the key is known only at run time.',
  );

  acknowledgeRestApi(stack.api.restApi, hasTracing(stack.api.restApi));
  acknowledgeMethods(stack.api.restApi);
  if (!stack.webAcl) {
    ack(
      stack.api.restApi.deploymentStage,
      'AwsSolutions-APIG3',
      'The deployer turned the WAF web ACL off (webAcl: false); stage throttling still bounds the request rate and the handlers still refuse bodies ' +
        'over 16384 bytes.',
    );
  }

  // CDK's singleton that configures bucket notifications (a custom resource); its role carries the
  // basic execution policy and only s3:PutBucketNotification on this bucket.
  const notificationsHandler = stack.node.children.find((c) => c.node.id.startsWith('BucketNotificationsHandler'));
  if (notificationsHandler) {
    ack(
      notificationsHandler,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'CDK-provided handler that configures the bucket notification at deploy time; besides writing its logs it may only s3:PutBucketNotification on ' +
        'the builds bucket.',
    );
  }
}

export function acknowledgeExampleApiStack(stack: ExampleApiStack): void {
  acknowledgeSynchronousFunction(stack.backend, 'API Gateway (Lambda proxy integration)');
  acknowledgeRestApi(stack.restApi, hasTracing(stack.restApi));
  acknowledgeMethods(stack.restApi);
  ack(
    stack.restApi.deploymentStage,
    'AwsSolutions-APIG3',
    'The example has no public routes: every method is behind the attestation authorizer, and requests without a token are refused by API Gateway ' +
      'before any Lambda runs. A WAF web ACL (about $5 a month plus per request) is left to the customer.',
  );
}

/** Whether the stage has X-Ray tracing on (then its APIGWXrayEnabled finding does not arise). */
function hasTracing(api: apigw.RestApi): boolean {
  const stage = api.deploymentStage.node.defaultChild as apigw.CfnStage | undefined;
  return Stack.of(api).resolve(stage?.tracingEnabled) === true;
}
