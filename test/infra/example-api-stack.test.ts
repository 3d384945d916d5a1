/**
 * The worked example: a customer API whose every method is behind AttestationAuthorizer, deployed
 * next to the Attestor stack (KMS key source through a cross-stack reference) or on its own (JWKS).
 */
import { AttestationKeySource } from '../../packages/cdk/src/attestation-authorizer';
import { AttestorStack } from '../../packages/cdk/src/attestor-stack';
import { exampleApiFromContext } from '../../packages/cdk/src/context';
import { ExampleApiStack } from '../../packages/cdk/src/example-api-stack';
import { fastApp, Synth, type Json } from './helpers';

let fixture: { attestor: AttestorStack; example: ExampleApiStack; s: Synth };
beforeAll(() => {
  const app = fastApp();
  const attestor = new AttestorStack(app, 'Attestor');
  const example = new ExampleApiStack(app, 'Example', { keySource: AttestationKeySource.kms({ registryTable: attestor.tables.registry }) });
  fixture = { attestor, example, s: new Synth(example) };
});
const sameApp = () => fixture;

const envOf = (s: Synth, fn: ExampleApiStack['attestation']) => s.resource(fn.service.fn)['Properties']['Environment']['Variables'] as Json;

test('every method is behind an attestation authorizer: GET /hello any valid token, POST /hello single-use tokens', () => {
  const { example, s } = sameApp();
  const methods = s.methods().map((m) => ({ method: m.method, path: m.path, auth: m.props['AuthorizationType'], authorizer: m.props['AuthorizerId'] }));
  expect(methods.sort((a, b) => a.method.localeCompare(b.method))).toEqual([
    { method: 'GET', path: '/hello', auth: 'CUSTOM', authorizer: { Ref: s.id(example.attestation.authorizer) } },
    { method: 'POST', path: '/hello', auth: 'CUSTOM', authorizer: { Ref: s.id(example.singleUseAttestation.authorizer) } },
  ]);
  expect(envOf(s, example.attestation)['LIMITED_USE']).toBe('false');
  expect(envOf(s, example.singleUseAttestation)['LIMITED_USE']).toBe('true');
  expect(envOf(s, example.singleUseAttestation)['TOKEN_LEDGER_TABLE']).toEqual({ Ref: s.id(example.singleUseAttestation.tokenLedger!) });
});

test('next to the Attestor stack: the registry comes through a cross-stack reference, keys from KMS', () => {
  const { example, s } = sameApp();
  const env = envOf(s, example.attestation);
  expect(env['KEY_SOURCE']).toBe('kms');
  expect(JSON.stringify(env['REGISTRY_TABLE'])).toContain('Fn::ImportValue');
});

test('on its own: keys from the admin routes, the role may invoke only those; its own logging role when asked', () => {
  const stageArn = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
  const example = new ExampleApiStack(fastApp(), 'Alone', {
    keySource: AttestationKeySource.remote({ apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/', stageArn }),
    tenantId: 'acme',
    cloudWatchRole: true,
  });
  const s = new Synth(example);
  s.template.resourceCountIs('AWS::ApiGateway::Account', 1);
  for (const authorizer of [example.attestation, example.singleUseAttestation]) {
    expect(envOf(s, authorizer)).toMatchObject({ KEY_SOURCE: 'remote', AUTHORIZER_TENANT: 'acme' });
    const invokes = s.allowing(s.id(authorizer.service.role), 'execute-api:Invoke');
    expect(invokes).toEqual([expect.objectContaining({ Resource: [`${stageArn}/GET/v1/admin/keys/jwks`, `${stageArn}/GET/v1/admin/keys/secrets`] })]);
  }
});

test('stage: throttled and access-logged as JSON with a retention', () => {
  const { example, s } = sameApp();
  const [[, stage]] = s.ofType('AWS::ApiGateway::Stage') as [[string, Json]];
  expect(stage['Properties']['MethodSettings']).toEqual([
    expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 }),
  ]);
  expect(stage['Properties']['AccessLogSetting']['DestinationArn']).toEqual({ 'Fn::GetAtt': [s.id(example.accessLogs), 'Arn'] });
  expect(s.resource(example.accessLogs)['Properties']['RetentionInDays']).toBeGreaterThan(0);
});

test('leaves the account-level API Gateway logging role to the Attestor stack unless asked (cloudWatchRole, above)', () => {
  sameApp().s.template.resourceCountIs('AWS::ApiGateway::Account', 0);
});

test('the backend role may write its logs and nothing else', () => {
  const { example, s } = sameApp();
  expect(s.allowedActions(s.id(example.backend.role)).every((a) => a.startsWith('logs:'))).toBe(true);
});

test('outputs: the API URL and the authorizer roles (to map for JWKS access)', () => {
  const { s } = sameApp();
  const outputs = s.template.toJSON()['Outputs'] as Json;
  expect(outputs).toHaveProperty('ExampleApiUrl');
  expect(outputs).toHaveProperty('AuthorizerRoleArns');
});

describe('test tokens', () => {
  const kmsSource = () => {
    const app = fastApp();
    return { app, keySource: AttestationKeySource.kms({ registryTable: new AttestorStack(app, 'Attestor').tables.registry }) };
  };

  test('are refused at synth on the production stage, the default', () => {
    const { app, keySource } = kmsSource();
    expect(() => new ExampleApiStack(app, 'Prod', { keySource, acceptTestTokens: true })).toThrow(
      "ExampleApiStack: acceptTestTokens is refused on the prod stage: test tokens are for a CI copy of the API (set stageName, e.g. 'ci')",
    );
    expect(() => new ExampleApiStack(app, 'ProdNamed', { keySource, acceptTestTokens: true, stageName: 'prod' })).toThrow(/refused on the prod stage/);
  });

  test('a CI copy lets them in at both authorizers; without the prop no authorizer names them', () => {
    const { app, keySource } = kmsSource();
    const ci = new ExampleApiStack(app, 'Ci', { keySource, acceptTestTokens: true, stageName: 'ci' });
    const s = new Synth(ci);
    for (const authorizer of [ci.attestation, ci.singleUseAttestation]) expect(envOf(s, authorizer)['ACCEPT_TEST_TOKENS']).toBe('true');
    const { example, s: prod } = sameApp();
    for (const authorizer of [example.attestation, example.singleUseAttestation]) expect(envOf(prod, authorizer)).not.toHaveProperty('ACCEPT_TEST_TOKENS');
  });

  test('the CDK context of packages/cdk/bin/attestor.ts sets them, strictly', () => {
    expect(exampleApiFromContext(fastApp())).toEqual({ include: true, stackId: 'AttestorExampleApi' });
    // A CI copy is a stack of its own: deploying it leaves the production example as it is.
    expect(exampleApiFromContext(fastApp({ exampleStageName: 'ci', exampleAcceptTestTokens: 'true' }))).toEqual({
      include: true,
      stackId: 'AttestorExampleApi-ci',
      stageName: 'ci',
      acceptTestTokens: true,
    });
    expect(exampleApiFromContext(fastApp({ exampleStageName: 'prod' }))).toMatchObject({ stackId: 'AttestorExampleApi' });
    expect(exampleApiFromContext(fastApp({ exampleApi: 'false' }))).toEqual({ include: false, stackId: 'AttestorExampleApi' });
    expect(() => exampleApiFromContext(fastApp({ exampleStageName: 'ci_1' }))).toThrow("-c exampleStageName: must be letters, digits and hyphens");
    expect(() => exampleApiFromContext(fastApp({ exampleAcceptTestTokens: 'yes' }))).toThrow("-c exampleAcceptTestTokens: must be true or false, got 'yes'");
    const halfRemote = fastApp({ attestorApiUrl: 'https://x.example/prod/' });
    expect(() => exampleApiFromContext(halfRemote)).toThrow('-c attestorApiUrl and -c attestorStageArn go together');
  });
});
