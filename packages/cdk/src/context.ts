/**
 * AttestorStack's props from CDK context (`cdk deploy -c name=value`, or `context` in cdk.json), so
 * that a deployment is configured without editing the app's source. Each value is parsed strictly: a
 * malformed one fails synthesis with a message naming it; the stack then checks the values themselves
 * (ranges, combinations), in the prop's own words.
 */
import { Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AttestorDomainOptions } from './attestor-domain';
import type { AttestorStackProps } from './attestor-stack';
import { EXAMPLE_PRODUCTION_STAGE } from './example-api-stack';

/** Every context name attestorStackPropsFromContext reads, each with the prop it sets (docs/DEPLOY.md). */
export const ATTESTOR_CONTEXT = {
  issuer: 'issuer',
  operatorPrincipals: 'operatorPrincipals (comma-separated)',
  registerReservedConcurrency: "registerReservedConcurrency (a number, or 'none')",
  adminReservedConcurrency: "adminReservedConcurrency (a number, or 'none')",
  tokenTtlSeconds: 'tokenTtl, in seconds',
  peakAttestationsPerSecond: 'peakAttestationsPerSecond',
  throttlingRateLimit: 'throttlingRateLimit',
  throttlingBurstLimit: 'throttlingBurstLimit',
  tracingEnabled: 'tracingEnabled (true or false)',
  webAcl: 'webAcl (true or false)',
  rateLimitPer5Minutes: 'rateLimitPer5Minutes',
  demoRoute: 'demoRoute (true or false)',
  domainName: 'domain.domainName',
  certificateArn: 'domain.certificate',
  hostedZoneId: 'domain.hostedZone (with hostedZoneName)',
  hostedZoneName: 'domain.hostedZone (with hostedZoneId)',
} as const;
export type AttestorContextName = keyof typeof ATTESTOR_CONTEXT;

type MutableProps = { -readonly [K in keyof AttestorStackProps]: AttestorStackProps[K] };

/** A context value as text, absent when unset or empty. */
function contextText(scope: Construct, name: string): string | undefined {
  const value: unknown = scope.node.tryGetContext(name);
  return value === undefined || value === null || value === '' ? undefined : String(value).trim();
}

/** The props the context sets; props it does not mention are left out, so the stack's defaults apply. */
export function attestorStackPropsFromContext(scope: Construct): AttestorStackProps {
  const text = (name: AttestorContextName): string | undefined => contextText(scope, name);
  const fail = (name: AttestorContextName, what: string, value: string): never => {
    throw new Error(`-c ${name}: must be ${what}, got '${value}'`);
  };
  const number = (name: AttestorContextName): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : fail(name, 'a number', value);
  };
  const flag = (name: AttestorContextName): boolean | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    return value === 'true' ? true : value === 'false' ? false : fail(name, 'true or false', value);
  };
  const concurrency = (name: AttestorContextName): number | null | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (value === 'none') return null;
    const n = Number(value);
    return Number.isInteger(n) && n >= 1 ? n : fail(name, "a positive whole number or 'none'", value);
  };

  const props: MutableProps = {};
  const issuer = text('issuer');
  if (issuer !== undefined) props.issuer = issuer;
  const operators = text('operatorPrincipals');
  if (operators !== undefined) props.operatorPrincipals = operators.split(',').map((p) => p.trim()).filter(Boolean);
  const registerConcurrency = concurrency('registerReservedConcurrency');
  if (registerConcurrency !== undefined) props.registerReservedConcurrency = registerConcurrency;
  const adminConcurrency = concurrency('adminReservedConcurrency');
  if (adminConcurrency !== undefined) props.adminReservedConcurrency = adminConcurrency;
  const ttl = number('tokenTtlSeconds');
  if (ttl !== undefined) props.tokenTtl = Number.isInteger(ttl) && ttl > 0 ? Duration.seconds(ttl) : fail('tokenTtlSeconds', 'whole seconds', String(ttl));
  const peak = number('peakAttestationsPerSecond');
  if (peak !== undefined) props.peakAttestationsPerSecond = peak;
  const rate = number('throttlingRateLimit');
  if (rate !== undefined) props.throttlingRateLimit = rate;
  const burst = number('throttlingBurstLimit');
  if (burst !== undefined) props.throttlingBurstLimit = burst;
  const tracing = flag('tracingEnabled');
  if (tracing !== undefined) props.tracingEnabled = tracing;
  const webAcl = flag('webAcl');
  if (webAcl !== undefined) props.webAcl = webAcl;
  const rateLimit = number('rateLimitPer5Minutes');
  if (rateLimit !== undefined) props.rateLimitPer5Minutes = rateLimit;
  const demoRoute = flag('demoRoute');
  if (demoRoute !== undefined) props.demoRoute = demoRoute;
  const domain = domainFromContext(text);
  if (domain) props.domain = domain;
  return props;
}

function domainFromContext(text: (name: AttestorContextName) => string | undefined): AttestorDomainOptions | undefined {
  const domainName = text('domainName');
  const certificateArn = text('certificateArn');
  const hostedZoneId = text('hostedZoneId');
  const hostedZoneName = text('hostedZoneName');
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    throw new Error('-c hostedZoneId and -c hostedZoneName go together: set both (the zone is named, not looked up) or neither');
  }
  if (domainName === undefined) {
    if (certificateArn !== undefined || hostedZoneId !== undefined) throw new Error('-c certificateArn and -c hostedZoneId/hostedZoneName need -c domainName');
    return undefined;
  }
  // Named by its id and zone name, not looked up: synthesis stays offline.
  const hostedZone = hostedZoneId !== undefined && hostedZoneName !== undefined ? { hostedZoneId, zoneName: hostedZoneName } : undefined;
  return { domainName, ...(certificateArn !== undefined ? { certificate: certificateArn } : {}), ...(hostedZone ? { hostedZone } : {}) };
}

/** The example stack's id in the app of packages/cdk/bin/attestor.ts. */
export const EXAMPLE_STACK_ID = 'AttestorExampleApi';

/** The example stack's context values (packages/cdk/bin/attestor.ts, docs/DEPLOY.md), each with what it does. */
export const EXAMPLE_CONTEXT = {
  exampleApi: "exampleApi ('false' leaves the example stack out)",
  attestorApiUrl: 'attestorApiUrl (with attestorStageArn: the remote key source)',
  attestorStageArn: 'attestorStageArn (with attestorApiUrl)',
  exampleStageName: 'exampleStageName (the API stage, prod unless set)',
  exampleAcceptTestTokens: 'exampleAcceptTestTokens (true or false; refused on prod)',
} as const;

/** What the context asks of the example stack; `include` false leaves it out. */
export interface ExampleApiContext {
  readonly include: boolean;
  /**
   * `AttestorExampleApi`, or `AttestorExampleApi-<stage>` for another stage than prod: a CI copy is a
   * stack of its own beside the production example, never a change of it.
   */
  readonly stackId: string;
  readonly remote?: { readonly apiUrl: string; readonly stageArn: string };
  readonly stageName?: string;
  readonly acceptTestTokens?: boolean;
}

/** Reads EXAMPLE_CONTEXT strictly; ExampleApiStack checks the combination (test tokens on prod). */
export function exampleApiFromContext(scope: Construct): ExampleApiContext {
  const text = (name: keyof typeof EXAMPLE_CONTEXT) => contextText(scope, name);
  const apiUrl = text('attestorApiUrl');
  const stageArn = text('attestorStageArn');
  if ((apiUrl === undefined) !== (stageArn === undefined)) throw new Error('-c attestorApiUrl and -c attestorStageArn go together: set both or neither');
  const accept = text('exampleAcceptTestTokens');
  if (accept !== undefined && accept !== 'true' && accept !== 'false') throw new Error(`-c exampleAcceptTestTokens: must be true or false, got '${accept}'`);
  const stageName = text('exampleStageName');
  // The stage names the stack too, whose name CloudFormation restricts to letters, digits and hyphens.
  if (stageName !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(stageName)) {
    throw new Error(`-c exampleStageName: must be letters, digits and hyphens (it names the stack too), got '${stageName}'`);
  }
  const copy = stageName !== undefined && stageName !== EXAMPLE_PRODUCTION_STAGE;
  return {
    include: text('exampleApi') !== 'false',
    stackId: copy ? `${EXAMPLE_STACK_ID}-${stageName}` : EXAMPLE_STACK_ID,
    ...(apiUrl !== undefined && stageArn !== undefined ? { remote: { apiUrl, stageArn } } : {}),
    ...(stageName !== undefined ? { stageName } : {}),
    ...(accept !== undefined ? { acceptTestTokens: accept === 'true' } : {}),
  };
}
