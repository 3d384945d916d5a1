/**
 * CDK app entry (cdk.json runs `npx tsx bin/attestor.ts`). Environment-agnostic: account and Region
 * come from the deploying credentials, so one template deploys anywhere. Synthesis is offline.
 *
 * Stacks:
 * - Attestor: the service (tables, builds bucket, decoy key, functions, API, WAF).
 * - AttestorExampleApi: a customer API protected by AttestationAuthorizer, as a worked example.
 *
 * Optional context (`cdk synth -c name=value`): the Attestor stack's props, read by
 * attestorStackPropsFromContext (src/context.ts; the list, with what each sets, is ATTESTOR_CONTEXT
 * there and in docs/DEPLOY.md): issuer, operatorPrincipals, register/adminReservedConcurrency,
 * tokenTtlSeconds, peakAttestationsPerSecond, throttlingRateLimit/BurstLimit, tracingEnabled, webAcl,
 * rateLimitPer5Minutes, demoRoute, domainName, certificateArn, hostedZoneId with hostedZoneName.
 * And for the example stack (exampleApiFromContext, EXAMPLE_CONTEXT there):
 * - exampleApi: 'false' to leave out the example stack
 * - attestorApiUrl and attestorStageArn: the example's authorizers fetch the tenant's keys from
 *   there (an Attestor deployed elsewhere) instead of reading the Attestor stack's KMS keys
 * - exampleStageName and exampleAcceptTestTokens ('true'): a CI copy of the example (a stack of its
 *   own, AttestorExampleApi-<stage>) whose authorizers let test tokens in (refused on prod, the default)
 *
 * cdk-nag's AwsSolutions and Serverless packs run at synthesis: an unacknowledged finding fails
 * `cdk synth`. Acknowledgements, each with its reason, are all in lib/nag-acknowledgements.ts.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { AttestationKeySource } from '../src/attestation-authorizer';
import { AttestorStack } from '../src/attestor-stack';
import { attestorStackPropsFromContext, exampleApiFromContext } from '../src/context';
import { ExampleApiStack } from '../src/example-api-stack';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

const props = { description: 'Attestor: mobile app attestation service', ...attestorStackPropsFromContext(app) };
const { issuer } = props;

const attestor = new AttestorStack(app, 'Attestor', props);

const example = exampleApiFromContext(app);
if (example.include) {
  new ExampleApiStack(app, example.stackId, {
    description: 'Example customer API protected by Attestor tokens',
    keySource: example.remote ? AttestationKeySource.remote(example.remote) : AttestationKeySource.kms({ registryTable: attestor.tables.registry }),
    ...(issuer ? { issuer } : {}),
    ...(example.stageName !== undefined ? { stageName: example.stageName } : {}),
    ...(example.acceptTestTokens !== undefined ? { acceptTestTokens: example.acceptTestTokens } : {}),
  });
}
