/**
 * What a deployment sets without editing the app: the demo route (off unless asked for), the stage
 * throttle, token lifetime and WAF limit (checked at synth), the custom domain, and the CDK context
 * that sets them all. Offline: hosted zones are named by id and name, never looked up.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { AttestorStack, DEMO_FUNCTIONS } from '../../packages/cdk/src/attestor-stack';
import { ATTESTOR_CONTEXT, attestorStackPropsFromContext, EXAMPLE_CONTEXT } from '../../packages/cdk/src/context';
import { ADMIN_KEYS_CONFIG, ADMIN_UPLOADS_CONFIG, ATTEST_CONFIG } from '../../packages/contracts/src/config';
import { MAX_TOKEN_TTL_SECONDS, MIN_TOKEN_TTL_SECONDS } from '../../packages/contracts/src/protocol';
import { LAMBDAS, ROUTES, type LambdaName } from '../../packages/contracts/src/routes';
import { fastApp, refers, Synth, type Json } from './helpers';

const ROOT = path.resolve(__dirname, '../..');
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const ZONE = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' };

const routeKeys = (routes: readonly { method: string; path: string }[]) => routes.map((r) => `${r.method} ${r.path}`).sort();
const stageSettings = (synth: Synth) => (synth.ofType('AWS::ApiGateway::Stage')[0]![1]['Properties']['MethodSettings'] as Json[])[0];
const outputsOf = (synth: Synth) => synth.template.toJSON()['Outputs'] as Record<string, Json>;
/** A function's variables as the stack wrote them, with references left as they are. */
const variablesOf = (synth: Synth, stack: AttestorStack, name: LambdaName): Json =>
  synth.resource(stack.functions[name]!.fn)['Properties']['Environment']['Variables'] as Json;

// ---------- the demo route ----------

describe('demo route', () => {
  let stack: AttestorStack;
  let s: Synth;
  beforeAll(() => {
    stack = new AttestorStack(fastApp(), 'Attestor');
    s = new Synth(stack);
  });

  test('off by default: no /demo/hello, no authorizer, neither of its functions; every other route is there', () => {
    expect(routeKeys(s.methods())).toEqual(routeKeys(ROUTES.filter((r) => !r.demo)));
    expect(s.ofType('AWS::ApiGateway::Authorizer')).toEqual([]);
    expect(stack.authorizer).toBeUndefined();
    for (const name of DEMO_FUNCTIONS) expect(stack.functions[name]).toBeUndefined();
    const descriptions = s.ofType('AWS::Lambda::Function').map(([, fn]) => fn['Properties']['Description'] as string);
    for (const name of DEMO_FUNCTIONS) expect(descriptions).not.toContain(LAMBDAS[name].description);
    for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
      if (!(DEMO_FUNCTIONS as readonly string[]).includes(name)) expect(descriptions).toContain(LAMBDAS[name].description);
    }
  });

  test('without it, tenant keys name no verifier role: the key-creating functions still start', () => {
    for (const [name, record] of [
      ['adminKeys', ADMIN_KEYS_CONFIG],
      ['adminUploads', ADMIN_UPLOADS_CONFIG],
    ] as const) {
      const variables = variablesOf(s, stack, name);
      expect(variables['TENANT_KEY_VERIFIER_ROLE_ARNS']).toBeUndefined();
      expect(refers(variables['TENANT_KEY_SIGNER_ROLE_ARN'], s.id(stack.functions.attest.role))).toBe(true);
      // The record reads these settings back: placeholders stand in for the ARNs CloudFormation fills in.
      const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : `arn:aws:iam::123456789012:role/${k}`]));
      expect(record.fromEnv(env).tenantKeyPolicyRoles?.verifierRoleArns).toEqual([]);
    }
  });

  test('demoRoute: true adds GET /demo/hello behind the attestation authorizer, served by demoHello', () => {
    const withDemo = new AttestorStack(fastApp(), 'WithDemo', { demoRoute: true });
    const synth = new Synth(withDemo);
    expect(routeKeys(synth.methods())).toEqual(routeKeys(ROUTES));
    const [hello] = synth.methods().filter((m) => m.path === '/demo/hello');
    expect(hello!.props['AuthorizationType']).toBe('CUSTOM');
    expect(hello!.props['AuthorizerId']).toEqual({ Ref: synth.id(withDemo.authorizer!.authorizer) });
    expect(refers(hello!.props['Integration']['Uri'], synth.id(withDemo.functions.demoHello!.fn))).toBe(true);
    expect(variablesOf(synth, withDemo, 'adminKeys')['TENANT_KEY_VERIFIER_ROLE_ARNS']).toEqual({
      'Fn::GetAtt': [synth.id(withDemo.functions.authorizer!.role), 'Arn'],
    });
  });

  test('the demo routes are exactly the attestation-authorized ones, and only they use the demo function', () => {
    for (const route of ROUTES) {
      expect(route.demo === true).toBe(route.auth === 'attestation');
      expect(route.demo === true).toBe(route.lambda === 'demoHello');
    }
  });

  test('demoAuthorizer without demoRoute is refused: it would configure nothing', () => {
    expect(() => new AttestorStack(fastApp(), 'Stray', { demoAuthorizer: { mode: 'monitor' } })).toThrow(
      'AttestorStack: demoAuthorizer is set but demoRoute is not: the demo authorizer guards the demo route only; set demoRoute: true',
    );
  });
});

// ---------- limits checked at synth ----------

describe('stage throttle, token lifetime, WAF limit', () => {
  test('throttlingRateLimit and throttlingBurstLimit set the stage throttle', () => {
    const synth = new Synth(new AttestorStack(fastApp(), 'Throttled', { throttlingRateLimit: 12.5, throttlingBurstLimit: 30 }));
    expect(stageSettings(synth)).toMatchObject({ ThrottlingRateLimit: 12.5, ThrottlingBurstLimit: 30 });
  });

  test.each([
    [{ throttlingRateLimit: 0 }, 'AttestorStack: throttlingRateLimit must be a positive number of requests per second, got 0'],
    [{ throttlingRateLimit: -5 }, 'AttestorStack: throttlingRateLimit must be a positive number of requests per second, got -5'],
    [{ throttlingRateLimit: Number.NaN }, 'AttestorStack: throttlingRateLimit must be a positive number of requests per second, got NaN'],
    [{ throttlingBurstLimit: 0 }, 'AttestorStack: throttlingBurstLimit must be a whole number of requests, at least 1, got 0'],
    [{ throttlingBurstLimit: 2.5 }, 'AttestorStack: throttlingBurstLimit must be a whole number of requests, at least 1, got 2.5'],
    [
      { peakAttestationsPerSecond: 100, throttlingBurstLimit: -1 },
      'AttestorStack: throttlingBurstLimit must be a whole number of requests, at least 1, got -1',
    ],
  ])('refuses %j', (props, message) => {
    expect(() => new AttestorStack(fastApp(), 'BadThrottle', props)).toThrow(message);
  });

  test(`tokenTtl: from ${MIN_TOKEN_TTL_SECONDS} to ${MAX_TOKEN_TTL_SECONDS} whole seconds (the protocol's bounds), written to attest's settings`, () => {
    const stack = new AttestorStack(fastApp(), 'LongTokens', { tokenTtl: Duration.seconds(MAX_TOKEN_TTL_SECONDS) });
    const variables = variablesOf(new Synth(stack), stack, 'attest');
    expect(variables['ATTESTOR_TOKEN_TTL_SECONDS']).toBe(String(MAX_TOKEN_TTL_SECONDS));
    expect(ATTEST_CONFIG.fromEnv({ ...variables, ATTESTOR_TOKEN_TTL_SECONDS: variables['ATTESTOR_TOKEN_TTL_SECONDS'] }).tokenTtlSeconds).toBe(
      MAX_TOKEN_TTL_SECONDS,
    );
    const bounds = `AttestorStack: tokenTtl must be whole seconds from ${MIN_TOKEN_TTL_SECONDS} to ${MAX_TOKEN_TTL_SECONDS}`;
    expect(() => new AttestorStack(fastApp(), 'Short', { tokenTtl: Duration.seconds(MIN_TOKEN_TTL_SECONDS - 1) })).toThrow(`${bounds}, got 59`);
    expect(() => new AttestorStack(fastApp(), 'Long', { tokenTtl: Duration.hours(2) })).toThrow(`${bounds}, got 7200`);
  });

  test("rateLimitPer5Minutes: WAF's bounds", () => {
    expect(() => new AttestorStack(fastApp(), 'TooLow', { rateLimitPer5Minutes: 5 })).toThrow(
      "AttestorWebAcl: rateLimitPer5Minutes must be a whole number from 10 (WAF's minimum) to 2000000000, got 5",
    );
  });
});

// ---------- custom domain ----------

describe('custom domain', () => {
  const domainResource = (synth: Synth) => {
    const [[id, domain]] = synth.ofType('AWS::ApiGateway::DomainName') as [[string, Json]];
    return { id, props: domain['Properties'] as Json };
  };

  test('with a certificate ARN: a regional TLS 1.2 domain, mapped at its root to the stage; no certificate or records made', () => {
    // Prepare
    const stack = new AttestorStack(fastApp(), 'ArnDomain', { domain: { domainName: 'attest.example.com', certificate: CERTIFICATE_ARN } });
    // Act
    const synth = new Synth(stack);
    // Assess
    const domain = domainResource(synth);
    expect(domain.props).toEqual({
      DomainName: 'attest.example.com',
      EndpointConfiguration: { Types: ['REGIONAL'] },
      RegionalCertificateArn: CERTIFICATE_ARN,
      SecurityPolicy: 'TLS_1_2',
    });
    const [[, mapping]] = synth.ofType('AWS::ApiGateway::BasePathMapping') as [[string, Json]];
    expect(mapping['Properties']['DomainName']).toEqual({ Ref: domain.id });
    expect(mapping['Properties']['RestApiId']).toEqual({ Ref: synth.id(stack.api.restApi) });
    expect(mapping['Properties']['Stage']).toEqual({ Ref: synth.id(stack.api.restApi.deploymentStage) });
    expect(mapping['Properties']['BasePath']).toBeUndefined();
    expect(synth.ofType('AWS::CertificateManager::Certificate')).toEqual([]);
    expect(synth.ofType('AWS::Route53::RecordSet')).toEqual([]);
    expect(outputsOf(synth)['CustomDomainUrl']?.['Value']).toBe('https://attest.example.com/');
    expect(outputsOf(synth)['CustomDomainTarget']?.['Value']).toEqual({ 'Fn::GetAtt': [domain.id, 'RegionalDomainName'] });
  });

  test('with a hosted zone: a DNS-validated certificate and an alias A record in that zone', () => {
    const stack = new AttestorStack(fastApp(), 'ZoneDomain', { domain: { domainName: 'attest.example.com', hostedZone: ZONE } });
    const synth = new Synth(stack);
    const domain = domainResource(synth);
    const [[certificateId, certificate]] = synth.ofType('AWS::CertificateManager::Certificate') as [[string, Json]];
    expect(certificate['Properties']).toMatchObject({
      DomainName: 'attest.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'attest.example.com', HostedZoneId: ZONE.hostedZoneId }],
    });
    expect(domain.props['RegionalCertificateArn']).toEqual({ Ref: certificateId });
    const [[, record]] = synth.ofType('AWS::Route53::RecordSet') as [[string, Json]];
    expect(record['Properties']).toEqual({
      Name: 'attest.example.com.',
      Type: 'A',
      HostedZoneId: ZONE.hostedZoneId,
      AliasTarget: {
        DNSName: { 'Fn::GetAtt': [domain.id, 'RegionalDomainName'] },
        HostedZoneId: { 'Fn::GetAtt': [domain.id, 'RegionalHostedZoneId'] },
      },
    });
  });

  test("a zone and a certificate of the customer's own app: the certificate is used, the record made", () => {
    const app = fastApp();
    const dns = new Stack(app, 'Dns');
    const hostedZone = route53.HostedZone.fromHostedZoneAttributes(dns, 'Zone', ZONE);
    const certificate = acm.Certificate.fromCertificateArn(dns, 'Certificate', CERTIFICATE_ARN);
    const synth = new Synth(new AttestorStack(app, 'OwnDomain', { domain: { domainName: 'example.com', certificate, hostedZone } }));
    expect(domainResource(synth).props['RegionalCertificateArn']).toBe(CERTIFICATE_ARN);
    expect(synth.ofType('AWS::CertificateManager::Certificate')).toEqual([]);
    expect(synth.ofType('AWS::Route53::RecordSet').map(([, r]) => r['Properties']['Name'])).toEqual(['example.com.']);
  });

  test('the WAF web ACL and the throttle stay on the stage the domain maps to', () => {
    const stack = new AttestorStack(fastApp(), 'GuardedDomain', { domain: { domainName: 'attest.example.com', certificate: CERTIFICATE_ARN } });
    const synth = new Synth(stack);
    const [[, association]] = synth.ofType('AWS::WAFv2::WebACLAssociation') as [[string, Json]];
    expect(refers(association['Properties']['ResourceArn'], synth.id(stack.api.restApi.deploymentStage))).toBe(true);
  });

  const hostName = 'must be a lowercase host name such as attest.example.com (no wildcard, no trailing dot), got';
  test.each([
    [
      { domainName: 'attest.example.com' },
      'AttestorStack: domain needs a certificate (an ACM certificate or its ARN) or a hostedZone to create and validate one in',
    ],
    [{ domainName: 'Attest.Example.com', certificate: CERTIFICATE_ARN }, `AttestorStack: domain.domainName ${hostName} 'Attest.Example.com'`],
    [{ domainName: '*.example.com', certificate: CERTIFICATE_ARN }, `${hostName} '*.example.com'`],
    [{ domainName: 'attest.example.com.', certificate: CERTIFICATE_ARN }, `${hostName} 'attest.example.com.'`],
    [{ domainName: 'localhost', certificate: CERTIFICATE_ARN }, `${hostName} 'localhost'`],
    [
      { domainName: 'attest.example.com', certificate: 'my-cert' },
      "AttestorStack: domain.certificate must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), got 'my-cert'",
    ],
    [
      { domainName: 'attest.example.org', hostedZone: ZONE },
      'AttestorStack: domain.domainName attest.example.org is not in the hosted zone example.com: records for it cannot be made there',
    ],
  ])('refuses %j', (domain, message) => {
    expect(() => new AttestorStack(fastApp(), 'BadDomain', { domain })).toThrow(message);
  });

  test("refuses a certificate from another Region than the stack's: a regional API cannot use it", () => {
    const env = { account: '123456789012', region: 'us-east-1' };
    expect(() => new AttestorStack(fastApp(), 'Elsewhere', { env, domain: { domainName: 'attest.example.com', certificate: CERTIFICATE_ARN } })).toThrow(
      'AttestorStack: domain.certificate is in eu-west-1 but the stack deploys to us-east-1: a regional API needs a certificate in its own Region',
    );
  });
});

// ---------- CDK context ----------

describe('CDK context', () => {
  test('empty context sets nothing: the stack defaults apply', () => {
    expect(attestorStackPropsFromContext(fastApp())).toEqual({});
  });

  test('every value, as -c strings', () => {
    // Prepare
    const app = fastApp({
      issuer: 'https://attest.example.com',
      operatorPrincipals: 'arn:aws:iam::123456789012:role/Ops, arn:aws:iam::123456789012:user/alice',
      registerReservedConcurrency: 'none',
      adminReservedConcurrency: '3',
      tokenTtlSeconds: '900',
      peakAttestationsPerSecond: '200',
      throttlingRateLimit: '300.5',
      throttlingBurstLimit: '600',
      tracingEnabled: 'true',
      webAcl: 'true',
      rateLimitPer5Minutes: '2000',
      demoRoute: 'true',
      domainName: 'attest.example.com',
      certificateArn: CERTIFICATE_ARN,
      hostedZoneId: ZONE.hostedZoneId,
      hostedZoneName: ZONE.zoneName,
    });
    // Act
    const { tokenTtl, ...props } = attestorStackPropsFromContext(app);
    // Assess
    expect(tokenTtl?.toSeconds()).toBe(900);
    expect(props).toEqual({
      issuer: 'https://attest.example.com',
      operatorPrincipals: ['arn:aws:iam::123456789012:role/Ops', 'arn:aws:iam::123456789012:user/alice'],
      registerReservedConcurrency: null,
      adminReservedConcurrency: 3,
      peakAttestationsPerSecond: 200,
      throttlingRateLimit: 300.5,
      throttlingBurstLimit: 600,
      tracingEnabled: true,
      webAcl: true,
      rateLimitPer5Minutes: 2000,
      demoRoute: true,
      domain: { domainName: 'attest.example.com', certificate: CERTIFICATE_ARN, hostedZone: ZONE },
    });
    // ...and the stack takes them.
    const stack = new AttestorStack(app, 'FromContext', { tokenTtl: tokenTtl!, ...props });
    const synth = new Synth(stack);
    expect(stageSettings(synth)).toMatchObject({ ThrottlingRateLimit: 300.5, ThrottlingBurstLimit: 600 });
    expect(synth.methods().some((m) => m.path === '/demo/hello')).toBe(true);
    expect(synth.ofType('AWS::Route53::RecordSet')).toHaveLength(1);
  });

  test("cdk.json's typed values (numbers, booleans) are read as their -c spelling would be", () => {
    const props = attestorStackPropsFromContext(fastApp({ demoRoute: false, webAcl: false, throttlingRateLimit: 80, throttlingBurstLimit: 160 }));
    expect(props).toEqual({ demoRoute: false, webAcl: false, throttlingRateLimit: 80, throttlingBurstLimit: 160 });
  });

  test.each([
    [{ throttlingRateLimit: 'fast' }, "-c throttlingRateLimit: must be a number, got 'fast'"],
    [{ demoRoute: 'yes' }, "-c demoRoute: must be true or false, got 'yes'"],
    [{ tokenTtlSeconds: '90.5' }, "-c tokenTtlSeconds: must be whole seconds, got '90.5'"],
    [{ registerReservedConcurrency: '0' }, "-c registerReservedConcurrency: must be a positive whole number or 'none', got '0'"],
    [{ domainName: 'attest.example.com', hostedZoneId: ZONE.hostedZoneId }, '-c hostedZoneId and -c hostedZoneName go together'],
    [{ certificateArn: CERTIFICATE_ARN }, '-c certificateArn and -c hostedZoneId/hostedZoneName need -c domainName'],
  ])('refuses %j', (context, message) => {
    expect(() => attestorStackPropsFromContext(fastApp(context))).toThrow(message);
  });

  test('docs/DEPLOY.md lists every context value the app reads', () => {
    const deploy = fs.readFileSync(path.join(ROOT, 'docs', 'DEPLOY.md'), 'utf8');
    expect(Object.keys(ATTESTOR_CONTEXT).filter((name) => !deploy.includes(`-c ${name}=`))).toEqual([]);
    expect(Object.keys(EXAMPLE_CONTEXT).filter((name) => !deploy.includes(`-c ${name}=`))).toEqual([]);
  });
});
