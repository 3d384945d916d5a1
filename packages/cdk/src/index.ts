/**
 * @attestor/cdk: the Attestor service as a CDK stack, and the authorizer that enforces its tokens on
 * your own API Gateway REST API. The Lambda code ships prebuilt in this package (functions/), so
 * synthesizing needs neither esbuild nor Docker.
 */
export {
  AttestationAuthorizer,
  AttestationKeySource,
  type AttestationAuthorizerMode,
  type AttestationAuthorizerProps,
  type KmsKeySourceOptions,
  type RemoteKeySourceOptions,
} from './attestation-authorizer';
export { AttestorStack, DEMO_FUNCTIONS, type AttestorStackProps, type DemoAuthorizerOptions } from './attestor-stack';
export { AttestorDomain, type AttestorDomainOptions } from './attestor-domain';
export {
  ATTESTOR_CONTEXT,
  attestorStackPropsFromContext,
  type AttestorContextName,
  EXAMPLE_CONTEXT,
  exampleApiFromContext,
  type ExampleApiContext,
} from './context';
export { CiRegisterRole, type CiRegisterRoleProps } from './ci-register-role';
export { ExampleApiStack, type ExampleApiStackProps } from './example-api-stack';
export { OperatorAlarms, type OperatorAlarmsProps } from './operator-alarms';
export { OperatorDashboard, type OperatorDashboardProps } from './operator-dashboard';
