/**
 * CDK app entry (cdk.json runs `npx tsx bin/attestor.ts`). Environment-agnostic: account and Region
 * come from the deploying credentials, so one template deploys anywhere.
 *
 * Optional context (`cdk synth -c name=value`):
 * - issuer: `iss` of minted tokens (default 'attestor')
 * - registerReservedConcurrency: a number, or 'none' for accounts whose concurrency quota is still 10
 *
 * cdk-nag's AwsSolutions pack runs at synthesis: an unacknowledged finding fails `cdk synth`.
 * Acknowledgments (each with its reason) sit next to the resources in lib/.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AttestorStack, type AttestorStackProps } from '../lib/attestor-stack';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

const props: { -readonly [K in keyof AttestorStackProps]: AttestorStackProps[K] } = {
  description: 'Attestor: mobile app attestation service',
};
const issuer: unknown = app.node.tryGetContext('issuer');
if (typeof issuer === 'string' && issuer !== '') props.issuer = issuer;
const concurrency: unknown = app.node.tryGetContext('registerReservedConcurrency');
if (concurrency === 'none') props.registerReservedConcurrency = null;
else if (concurrency !== undefined) {
  const n = Number(concurrency);
  if (!Number.isInteger(n) || n < 1) throw new Error(`registerReservedConcurrency must be a positive integer or 'none', got ${String(concurrency)}`);
  props.registerReservedConcurrency = n;
}

new AttestorStack(app, 'Attestor', props);
