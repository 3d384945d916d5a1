/**
 * CDK app entry (cdk.json runs `npx tsx bin/attestor.ts`). Environment-agnostic: account and Region
 * come from the deploying credentials, so one template deploys anywhere. Synthesis is offline.
 *
 * Stacks:
 * - Attestor: the service (tables, builds bucket, decoy key, functions, API, WAF).
 * - AttestorExampleApi: a customer API protected by AttestationAuthorizer, as a worked example.
 *
 * Optional context (`cdk synth -c name=value`):
 * - issuer: `iss` of minted tokens (default 'attestor')
 * - operatorPrincipals: comma-separated IAM ARNs that operate the default tenant
 * - registerReservedConcurrency, adminReservedConcurrency: a number, or 'none' for accounts whose
 *   concurrency quota is still 10
 * - webAcl: 'false' to deploy without the WAF web ACL
 * - rateLimitPer5Minutes: WAF's per-IP limit on /v1/challenge and /v1/attest (default 600)
 * - exampleApi: 'false' to leave out the example stack
 * - attestorJwksUrl and attestorJwksExecuteApiArn: the example's authorizers fetch the JWKS from
 *   there (an Attestor deployed elsewhere) instead of reading the Attestor stack's KMS keys
 *
 * cdk-nag's AwsSolutions and Serverless packs run at synthesis: an unacknowledged finding fails
 * `cdk synth`. Acknowledgements, each with its reason, are all in lib/nag-acknowledgements.ts.
 */
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { AttestationKeySource } from '../src/attestation-authorizer';
import { AttestorStack, type AttestorStackProps } from '../src/attestor-stack';
import { ExampleApiStack } from '../src/example-api-stack';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));

const context = (name: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(name);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const concurrency = (name: string): number | null | undefined => {
  const value = context(name);
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer or 'none', got ${value}`);
  return n;
};

const props: { -readonly [K in keyof AttestorStackProps]: AttestorStackProps[K] } = {
  description: 'Attestor: mobile app attestation service',
};
const issuer = context('issuer');
if (issuer) props.issuer = issuer;
const operators = context('operatorPrincipals');
if (operators) props.operatorPrincipals = operators.split(',').map((s) => s.trim()).filter(Boolean);
const registerConcurrency = concurrency('registerReservedConcurrency');
if (registerConcurrency !== undefined) props.registerReservedConcurrency = registerConcurrency;
const adminConcurrency = concurrency('adminReservedConcurrency');
if (adminConcurrency !== undefined) props.adminReservedConcurrency = adminConcurrency;
if (context('webAcl') === 'false') props.webAcl = false;
const tokenTtl = context('tokenTtlSeconds');
if (tokenTtl !== undefined) props.tokenTtl = Duration.seconds(Number(tokenTtl));
const rate = context('rateLimitPer5Minutes');
if (rate !== undefined) props.rateLimitPer5Minutes = Number(rate);
const peak = context('peakAttestationsPerSecond');
if (peak !== undefined) props.peakAttestationsPerSecond = Number(peak);

const attestor = new AttestorStack(app, 'Attestor', props);

if (context('exampleApi') !== 'false') {
  const apiUrl = context('attestorApiUrl');
  const stageArn = context('attestorStageArn');
  if ((apiUrl === undefined) !== (stageArn === undefined)) throw new Error('attestorApiUrl and attestorStageArn go together: set both or neither');
  new ExampleApiStack(app, 'AttestorExampleApi', {
    description: 'Example customer API protected by Attestor tokens',
    keySource:
      apiUrl && stageArn
        ? AttestationKeySource.remote({ apiUrl, stageArn })
        : AttestationKeySource.kms({ registryTable: attestor.tables.registry }),
    ...(issuer ? { issuer } : {}),
  });
}
