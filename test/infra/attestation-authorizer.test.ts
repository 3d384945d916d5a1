/**
 * AttestationAuthorizer on a customer's own RestApi: the environment contract it writes, the
 * identity sources it chooses, what its role may do for each key source, its token ledger, and the
 * prop combinations it refuses at synth.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AttestationAuthorizer, AttestationKeySource, type AttestationAuthorizerProps } from '../../packages/cdk/src/attestation-authorizer';
import { TOKEN_LEDGER_TABLE } from '../../packages/contracts/src/tables';
import { AUTHORIZER_CONFIG, ConfigurationError, type Environment } from '../../packages/contracts/src/config';
import { asList, fastApp, Synth, type Json } from './helpers';

const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/';
const STAGE_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
const remote = () => AttestationKeySource.remote({ apiUrl: API_URL, stageArn: STAGE_ARN });

interface Fixture {
  stack: Stack;
  authorizer: AttestationAuthorizer;
  registry: dynamodb.Table;
  s: Synth;
}

/** A customer stack: a RestApi with one method behind the authorizer (API Gateway needs one to attach it). */
function customerApi(props: Partial<AttestationAuthorizerProps> & { keySource?: AttestationAuthorizerProps['keySource'] } = {}, kms = false): Fixture {
  const stack = new Stack(fastApp(), 'Customer');
  const registry = new dynamodb.Table(stack, 'Registry', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
  const authorizer = new AttestationAuthorizer(stack, 'Attestation', {
    keySource: kms ? AttestationKeySource.kms({ registryTable: registry }) : remote(),
    ...props,
  });
  const api = new apigw.RestApi(stack, 'Api');
  api.root.addResource('orders').addMethod('GET', new apigw.MockIntegration(), authorizer.methodOptions());
  return { stack, authorizer, registry, s: new Synth(stack) };
}

const envOf = (f: Fixture) => f.s.resource(f.authorizer.service.fn)['Properties']['Environment']['Variables'] as Json;
const authorizerProps = (f: Fixture) => f.s.resource(f.authorizer.authorizer)['Properties'] as Json;
const roleId = (f: Fixture) => f.s.id(f.authorizer.service.role);
const nonLogActions = (f: Fixture) => [...new Set(f.s.allowedActions(roleId(f)).filter((a) => !a.startsWith('logs:')))].sort();

describe('environment contract (docs/ENFORCEMENT.md)', () => {
  test('defaults: enforce, Attestor-Token, tenant default, issuer attestor, nothing extra required', () => {
    const f = customerApi();
    expect(envOf(f)).toEqual({
      ATTESTOR_ISSUER: 'attestor',
      AUTHORIZER_TENANT: 'default',
      AUTHORIZER_MODE: 'enforce',
      TOKEN_HEADER: 'Attestor-Token',
      REQUIRE_BINDING: 'false',
      LIMITED_USE: 'false',
      REQUIRE_PROOF: 'false',
      REQUIRE_HARDWARE: 'false',
      KEY_SOURCE: 'remote',
      ATTESTOR_API_URL: API_URL,
      AUTHORIZER_CACHE_TTL_SECONDS: '0',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  test.each<[string, Partial<AttestationAuthorizerProps>, boolean]>([
    ['the defaults, remote keys', {}, false],
    ['the defaults, kms keys', {}, true],
    [
      'every option set',
      {
        requireBinding: true,
        bindingHeader: 'X-Session',
        limitedUse: true,
        requireProof: true,
        requireHardware: true,
        publicBaseUrl: 'https://api.example.com/v1',
        tenantId: 'acme',
        issuer: 'https://attest.example.com',
        mode: 'monitor',
        headerName: 'X-Attestation',
      },
      true,
    ],
    ['caching with binding', { resultsCacheTtl: Duration.seconds(30), requireBinding: true, requireHardware: ['android-key'] }, false],
  ])('%s: the function is given exactly what its record writes, and reads back the settings the construct checked', (_what, props, kms) => {
    const f = customerApi(props, kms);
    // The template: the record's variables and Node's own, nothing else.
    expect(Object.keys(envOf(f)).sort()).toEqual([...Object.keys(f.authorizer.environment), 'NODE_OPTIONS'].sort());
    for (const name of Object.keys(f.authorizer.environment)) expect(AUTHORIZER_CONFIG.variables).toContain(name);
    // What the function reads at cold start (names of tables are tokens here) is what the construct checked.
    expect(AUTHORIZER_CONFIG.fromEnv(f.authorizer.environment)).toEqual(f.authorizer.config);
    expect(AUTHORIZER_CONFIG.toEnv(AUTHORIZER_CONFIG.fromEnv(f.authorizer.environment))).toEqual(f.authorizer.environment);
  });

  test('each option reaches its variable', () => {
    const f = customerApi({
      headerName: 'X-Attestation',
      requireBinding: true,
      bindingHeader: 'X-Session',
      limitedUse: true,
      requireProof: true,
      publicBaseUrl: 'https://api.example.com/v1',
      tenantId: 'acme',
      issuer: 'iss-1',
    });
    expect(envOf(f)).toMatchObject({
      ATTESTOR_ISSUER: 'iss-1',
      AUTHORIZER_TENANT: 'acme',
      TOKEN_HEADER: 'X-Attestation',
      REQUIRE_BINDING: 'true',
      BINDING_HEADER: 'X-Session',
      LIMITED_USE: 'true',
      REQUIRE_PROOF: 'true',
      PUBLIC_BASE_URL: 'https://api.example.com/v1',
      TOKEN_LEDGER_TABLE: { Ref: f.s.id(f.authorizer.tokenLedger!) },
    });
  });

  test.each<[string, AttestationAuthorizerProps['requireHardware'], string]>([
    ['true: either kind', true, 'app-attest,android-key'],
    ['one kind', ['app-attest'], 'app-attest'],
    ['both, in the order given', ['android-key', 'app-attest'], 'android-key,app-attest'],
    ['false', false, 'false'],
  ])('requireHardware %s reaches REQUIRE_HARDWARE as the function parses it', (_what, requireHardware, text) => {
    const env = envOf(customerApi({ requireHardware }));
    expect(env['REQUIRE_HARDWARE']).toBe(text);
    // What the function reads back at cold start is what was asked for.
    const parsed = AUTHORIZER_CONFIG.fromEnv({ REGISTRY_TABLE: 't', REQUIRE_HARDWARE: text }).requireHardware;
    expect(parsed).toEqual(requireHardware === false ? undefined : requireHardware === true ? ['app-attest', 'android-key'] : requireHardware);
  });

  test('requireHardware changes nothing else: no identity source, permission or table', () => {
    const plain = customerApi();
    const hw = customerApi({ requireHardware: true });
    expect(authorizerProps(hw)).toEqual(authorizerProps(plain));
    expect(nonLogActions(hw)).toEqual(nonLogActions(plain));
    hw.s.template.resourceCountIs('AWS::DynamoDB::Table', 1);
  });

  test('the authorizer function is the service function: current runtime, arm64, memory and timeout chosen', () => {
    const fn = customerApi().s.resource(customerApi().authorizer.service.fn)['Properties'];
    expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], MemorySize: 256, Timeout: 5 });
  });
});

describe('identity sources and caching', () => {
  test('enforce: the token header (API Gateway answers 401 without a Lambda call when it is missing), no caching', () => {
    const f = customerApi();
    expect(authorizerProps(f)).toMatchObject({ Type: 'REQUEST', IdentitySource: 'method.request.header.Attestor-Token', AuthorizerResultTtlInSeconds: 0 });
    expect(f.authorizer.identitySources).toEqual(['method.request.header.Attestor-Token']);
  });

  test('a custom header name is the identity source', () => {
    expect(authorizerProps(customerApi({ headerName: 'X-Attestation' }))['IdentitySource']).toBe('method.request.header.X-Attestation');
  });

  test('monitor: no identity source at all, so requests without a token still reach the authorizer', () => {
    const f = customerApi({ mode: 'monitor' });
    expect(authorizerProps(f)).not.toHaveProperty('IdentitySource');
    expect(authorizerProps(f)['AuthorizerResultTtlInSeconds']).toBe(0);
    expect(envOf(f)['AUTHORIZER_MODE']).toBe('monitor');
    expect(f.authorizer.identitySources).toEqual([]);
  });

  test('caching with binding: the binding header joins the cache key', () => {
    const f = customerApi({ resultsCacheTtl: Duration.seconds(60), requireBinding: true });
    expect(authorizerProps(f)).toMatchObject({
      AuthorizerResultTtlInSeconds: 60,
      IdentitySource: 'method.request.header.Attestor-Token,method.request.header.Authorization',
    });
  });

  test('caching without binding: the token alone is the cache key', () => {
    const f = customerApi({ resultsCacheTtl: Duration.seconds(60) });
    expect(authorizerProps(f)).toMatchObject({ AuthorizerResultTtlInSeconds: 60, IdentitySource: 'method.request.header.Attestor-Token' });
  });

  test('the function is told the cache TTL API Gateway uses, so that its Allow covers the whole stage', () => {
    const f = customerApi({ resultsCacheTtl: Duration.seconds(60) });
    expect(envOf(f)['AUTHORIZER_CACHE_TTL_SECONDS']).toBe(String(authorizerProps(f)['AuthorizerResultTtlInSeconds']));
    expect(envOf(f)['AUTHORIZER_CACHE_TTL_SECONDS']).toBe('60');
    expect(envOf(customerApi())['AUTHORIZER_CACHE_TTL_SECONDS']).toBe('0');
  });

  test('methodOptions() puts the authorizer in front of a method (CUSTOM)', () => {
    const f = customerApi();
    const [[, method]] = f.s.ofType('AWS::ApiGateway::Method') as [[string, Json]];
    expect(method['Properties']).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: f.s.id(f.authorizer.authorizer) } });
  });
});

describe('key sources and least privilege', () => {
  test('remote: execute-api:Invoke on exactly the JWKS and secrets routes, and Decrypt of its own tenant\'s secrets only', () => {
    const f = customerApi({ tenantId: 'acme' });
    expect(nonLogActions(f)).toEqual(['execute-api:Invoke', 'kms:Decrypt']);
    expect(f.s.allowing(roleId(f), 'execute-api:Invoke')).toEqual([
      expect.objectContaining({ Resource: [`${STAGE_ARN}/GET/v1/admin/keys/jwks`, `${STAGE_ARN}/GET/v1/admin/keys/secrets`] }),
    ]);
    const [decrypt] = f.s.allowing(roleId(f), 'kms:Decrypt');
    expect(decrypt!.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:attestor:tenant': 'acme' } });
    // The Attestor's account and Region, taken from the stage ARN.
    expect(JSON.stringify(decrypt!.Resource)).toContain('key/*');
  });

  test('kms: Query on its own tenant\'s KEYS# partition, GetPublicKey on tenant-aliased keys, Decrypt of its tenant\'s secrets; nothing else', () => {
    const f = customerApi({ tenantId: 'acme' }, true);
    expect(nonLogActions(f)).toEqual(['dynamodb:Query', 'kms:Decrypt', 'kms:GetPublicKey']);
    const [query] = f.s.allowing(roleId(f), 'dynamodb:Query');
    expect(query!.Resource).toEqual({ 'Fn::GetAtt': [f.s.id(f.registry), 'Arn'] });
    expect(query!.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['KEYS#acme'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
    const [getKey] = f.s.allowing(roleId(f), 'kms:GetPublicKey');
    expect(getKey!.Condition).toEqual({ 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/attestor/tenant/*' } });
    const [decrypt] = f.s.allowing(roleId(f), 'kms:Decrypt');
    expect(decrypt!.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:attestor:tenant': 'acme' },
      'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/attestor/tenant/acme/secrets' },
    });
    expect(envOf(f)).toMatchObject({ KEY_SOURCE: 'kms', REGISTRY_TABLE: { Ref: f.s.id(f.registry) } });
    expect(envOf(f)).not.toHaveProperty('ATTESTOR_API_URL');
  });

  test.each([
    ['remote', false],
    ['kms', true],
  ])("%s: Decrypt under any other tenant's encryption context (or none) is explicitly denied, which no key policy's allow can lift", (_source, kms) => {
    const f = customerApi({ tenantId: 'acme' }, kms);
    expect(f.s.denying(roleId(f), 'kms:Decrypt')).toEqual([
      {
        Sid: 'UnwrapNoOtherTenantsSecrets',
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringNotEquals: { 'kms:EncryptionContext:attestor:tenant': 'acme' } },
      },
      // By default (acceptTestTokens off) not even its own tenant's test secrets.
      {
        Sid: 'NeverUnwrapTestSecrets',
        Effect: 'Deny',
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:attestor:purpose': 'test-token' } },
      },
    ]);
    expect(f.s.denying(roleId(f), 'kms:GetPublicKey')).toEqual([]);
  });

  test('acceptTestTokens: off by default; on, ACCEPT_TEST_TOKENS is written and the test-secret deny is gone, with either key source', () => {
    for (const kms of [true, false]) {
      const off = customerApi({ tenantId: 'acme' }, kms);
      expect(envOf(off)).not.toHaveProperty('ACCEPT_TEST_TOKENS');
      expect(off.s.denying(roleId(off), 'kms:Decrypt').map((st) => st.Sid)).toEqual(['UnwrapNoOtherTenantsSecrets', 'NeverUnwrapTestSecrets']);
      const on = customerApi({ tenantId: 'acme', acceptTestTokens: true }, kms);
      expect(envOf(on)).toMatchObject({ ACCEPT_TEST_TOKENS: 'true' });
      expect(on.s.denying(roleId(on), 'kms:Decrypt').map((st) => st.Sid)).toEqual(['UnwrapNoOtherTenantsSecrets']);
    }
  });

  test('remote with acceptTestTokens: the role may also read the test secrets route, and only then', () => {
    const routes = (f: Fixture) => f.s.allowing(roleId(f), 'execute-api:Invoke').flatMap((st) => asList(st.Resource as string | string[]));
    expect(routes(customerApi({ tenantId: 'acme' }))).toEqual([`${STAGE_ARN}/GET/v1/admin/keys/jwks`, `${STAGE_ARN}/GET/v1/admin/keys/secrets`]);
    expect(routes(customerApi({ tenantId: 'acme', acceptTestTokens: true }))).toEqual([
      `${STAGE_ARN}/GET/v1/admin/keys/jwks`,
      `${STAGE_ARN}/GET/v1/admin/keys/secrets`,
      `${STAGE_ARN}/GET/v1/admin/tokens/test/secrets`,
    ]);
  });

  test('kms with another alias prefix: the condition and TENANT_KEY_ALIAS_PREFIX follow it', () => {
    const stack = new Stack(fastApp(), 'Prefix');
    const registry = new dynamodb.Table(stack, 'Registry', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const authorizer = new AttestationAuthorizer(stack, 'A', {
      keySource: AttestationKeySource.kms({ registryTable: registry, tenantKeyAliasPrefix: 'alias/acme/' }),
    });
    new apigw.RestApi(stack, 'Api').root.addMethod('GET', new apigw.MockIntegration(), authorizer.methodOptions());
    const s = new Synth(stack);
    expect(s.resource(authorizer.service.fn)['Properties']['Environment']['Variables']['TENANT_KEY_ALIAS_PREFIX']).toBe('alias/acme/');
    const [getKey] = s.allowing(s.id(authorizer.service.role), 'kms:GetPublicKey');
    expect(getKey!.Condition).toEqual({ 'ForAnyValue:StringLike': { 'kms:ResourceAliases': 'alias/acme/*' } });
  });

  test('remoteOf(api): the Attestor API URL and the execute-api ARNs of its key routes', () => {
    const stack = new Stack(fastApp(), 'SameApp');
    const attestorApi = new apigw.RestApi(stack, 'AttestorApi');
    attestorApi.root.addMethod('ANY');
    const authorizer = new AttestationAuthorizer(stack, 'A', { keySource: AttestationKeySource.remoteOf(attestorApi) });
    new apigw.RestApi(stack, 'Api').root.addMethod('GET', new apigw.MockIntegration(), authorizer.methodOptions());
    const s = new Synth(stack);
    const url = JSON.stringify(s.resource(authorizer.service.fn)['Properties']['Environment']['Variables']['ATTESTOR_API_URL']);
    expect(url).toContain('https://');
    const [invoke] = s.allowing(s.id(authorizer.service.role), 'execute-api:Invoke');
    const arn = JSON.stringify(invoke!.Resource);
    expect(arn).toContain('/GET/v1/admin/keys/jwks');
    expect(arn).toContain('/GET/v1/admin/keys/secrets');
    expect(arn).toContain(':execute-api:');
  });

  test('remote: the URL must be https and the stage ARN an execute-api stage', () => {
    expect(() => AttestationKeySource.remote({ apiUrl: 'http://example.com/prod', stageArn: STAGE_ARN })).toThrow(/https/);
    expect(() => AttestationKeySource.remote({ apiUrl: API_URL, stageArn: `${STAGE_ARN}/GET/v1/admin/keys/jwks` })).toThrow(/stageArn/);
  });
});

describe('token ledger', () => {
  test.each([{ limitedUse: true }, { requireProof: true }])('%o: a ledger table with TTL, on-demand, destroyed with the stack; PutItem only', (props) => {
    const f = customerApi(props);
    const ledger = f.s.resource(f.authorizer.tokenLedger!);
    expect(ledger['Properties']).toMatchObject({
      KeySchema: [{ AttributeName: TOKEN_LEDGER_TABLE.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: TOKEN_LEDGER_TABLE.ttlAttribute, Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
    });
    expect(ledger['DeletionPolicy']).toBe('Delete');
    expect(nonLogActions(f)).toEqual(['dynamodb:PutItem', 'execute-api:Invoke', 'kms:Decrypt']);
    const [put] = f.s.allowing(roleId(f), 'dynamodb:PutItem');
    expect(asList(put!.Resource)).toEqual([{ 'Fn::GetAtt': [f.s.id(f.authorizer.tokenLedger!), 'Arn'] }]);
    expect(envOf(f)['TOKEN_LEDGER_TABLE']).toEqual({ Ref: f.s.id(f.authorizer.tokenLedger!) });
  });

  test('no single use, no proof: no ledger, no TOKEN_LEDGER_TABLE, no DynamoDB permission', () => {
    const f = customerApi();
    expect(f.authorizer.tokenLedger).toBeUndefined();
    f.s.template.resourceCountIs('AWS::DynamoDB::Table', 1); // the fixture's registry only
    expect(envOf(f)).not.toHaveProperty('TOKEN_LEDGER_TABLE');
  });

  test('a given ledger is used instead of a new one', () => {
    const stack = new Stack(fastApp(), 'Given');
    const ledger = new dynamodb.Table(stack, 'Ledger', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    const authorizer = new AttestationAuthorizer(stack, 'A', { keySource: remote(), limitedUse: true, tokenLedger: ledger });
    new apigw.RestApi(stack, 'Api').root.addMethod('GET', new apigw.MockIntegration(), authorizer.methodOptions());
    const s = new Synth(stack);
    s.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    expect(s.resource(authorizer.service.fn)['Properties']['Environment']['Variables']['TOKEN_LEDGER_TABLE']).toEqual({ Ref: s.id(ledger) });
  });
});

describe('conflicting props fail at synth, naming them', () => {
  const build = (props: Partial<AttestationAuthorizerProps>) => () =>
    new AttestationAuthorizer(new Stack(fastApp(), 'X'), 'A', { keySource: remote(), ...props });

  test.each<[string, Partial<AttestationAuthorizerProps>, RegExp]>([
    ['limitedUse + caching', { limitedUse: true, resultsCacheTtl: Duration.seconds(60) }, /resultsCacheTtl\) must be 0 with LIMITED_USE \(limitedUse\)/],
    [
      'requireProof + caching',
      { requireProof: true, resultsCacheTtl: Duration.seconds(60) },
      /resultsCacheTtl\) must be 0 with REQUIRE_PROOF \(requireProof\)/,
    ],
    ['monitor + caching', { mode: 'monitor', resultsCacheTtl: Duration.seconds(60) }, /resultsCacheTtl\) must be 0 with AUTHORIZER_MODE \(mode\) monitor/],
    [
      'caching longer than the shortest token lifetime',
      { resultsCacheTtl: Duration.seconds(61) },
      /resultsCacheTtl\) must be a whole number of seconds from 0 to 60/,
    ],
    ['bindingHeader without requireBinding', { bindingHeader: 'X-Session' }, /\(bindingHeader\) is set but REQUIRE_BINDING \(requireBinding\) is not/],
    [
      'binding to the token header',
      { requireBinding: true, bindingHeader: 'attestor-token' },
      /\(headerName\) and BINDING_HEADER \(bindingHeader\) name the same header/,
    ],
    ['token header = proof header', { requireProof: true, headerName: 'Attestor-Proof' }, /\(headerName\) and REQUIRE_PROOF \(requireProof\) conflict/],
    ['publicBaseUrl without requireProof', { publicBaseUrl: 'https://api.example.com' }, /\(publicBaseUrl\) is set but REQUIRE_PROOF \(requireProof\) is not/],
    ['publicBaseUrl not https', { requireProof: true, publicBaseUrl: 'http://api.example.com' }, /\(publicBaseUrl\) must be an https URL/],
    ['not a header name', { headerName: 'Attestor Token' }, /\(headerName\) must be an HTTP header name/],
    ['bad tenant id', { tenantId: 'acme/1' }, /\(tenantId\) must match/],
    ['bad mode', { mode: 'audit' as never }, /\(mode\) must be enforce or monitor, got "audit"/],
    ['an empty issuer', { issuer: '' }, /\(issuer\) must not be empty/],
    ['requireHardware as an empty list', { requireHardware: [] }, /REQUIRE_HARDWARE \(requireHardware\) must not be an empty list: it would deny every token/],
    [
      'requireHardware with an unknown kind',
      { requireHardware: ['play-integrity' as never] },
      /REQUIRE_HARDWARE \(requireHardware\) names "play-integrity", which is not a kind of hardware evidence: use app-attest or android-key/,
    ],
    ['requireHardware naming a kind twice', { requireHardware: ['app-attest', 'app-attest'] }, /REQUIRE_HARDWARE \(requireHardware\) names app-attest twice/],
  ])('%s', (_, props, message) => {
    expect(build(props)).toThrow(message);
    expect(build(props)).toThrow(/^AttestationAuthorizer: /);
  });

  test('tokenLedger without limitedUse or requireProof', () => {
    const stack = new Stack(fastApp(), 'Unused');
    const ledger = new dynamodb.Table(stack, 'Ledger', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    expect(() => new AttestationAuthorizer(stack, 'A', { keySource: remote(), tokenLedger: ledger })).toThrow(
      /\(tokenLedger\) is set but neither LIMITED_USE \(limitedUse\) nor REQUIRE_PROOF \(requireProof\) is/,
    );
  });
});

describe('one check at synth and at cold start: the construct refuses what the function would, in the same words', () => {
  /** The message the construct throws for `props`, after its name; and the function's for `env` (its record's fromEnv). */
  const atSynth = (props: Partial<AttestationAuthorizerProps>, kms = false): string => {
    try {
      customerApi(props, kms);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('the construct accepted the props');
  };
  const atColdStart = (env: Environment): string => {
    try {
      AUTHORIZER_CONFIG.fromEnv(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as Error).message;
    }
    throw new Error('the function accepted the environment');
  };
  // The environment each construct would write, were its props accepted.
  const REMOTE = { KEY_SOURCE: 'remote', ATTESTOR_API_URL: API_URL };
  const LEDGER = { TOKEN_LEDGER_TABLE: 'ledger' };

  test.each<[string, Partial<AttestationAuthorizerProps>, Environment]>([
    [
      'single use and caching',
      { limitedUse: true, resultsCacheTtl: Duration.seconds(60) },
      { ...REMOTE, ...LEDGER, LIMITED_USE: 'true', AUTHORIZER_CACHE_TTL_SECONDS: '60' },
    ],
    [
      'proofs and caching',
      { requireProof: true, resultsCacheTtl: Duration.seconds(30) },
      { ...REMOTE, ...LEDGER, REQUIRE_PROOF: 'true', AUTHORIZER_CACHE_TTL_SECONDS: '30' },
    ],
    [
      'monitor mode and caching',
      { mode: 'monitor', resultsCacheTtl: Duration.seconds(60) },
      { ...REMOTE, AUTHORIZER_MODE: 'monitor', AUTHORIZER_CACHE_TTL_SECONDS: '60' },
    ],
    ['a cache past the shortest token', { resultsCacheTtl: Duration.seconds(61) }, { ...REMOTE, AUTHORIZER_CACHE_TTL_SECONDS: '61' }],
    ['a binding header without binding', { bindingHeader: 'X-Session' }, { ...REMOTE, BINDING_HEADER: 'X-Session' }],
    [
      'binding to the token header',
      { requireBinding: true, bindingHeader: 'attestor-token' },
      { ...REMOTE, REQUIRE_BINDING: 'true', BINDING_HEADER: 'attestor-token' },
    ],
    [
      'the token in the proof header',
      { requireProof: true, headerName: 'Attestor-Proof' },
      { ...REMOTE, ...LEDGER, REQUIRE_PROOF: 'true', TOKEN_HEADER: 'Attestor-Proof' },
    ],
    ['a base URL without proofs', { publicBaseUrl: 'https://api.example.com' }, { ...REMOTE, PUBLIC_BASE_URL: 'https://api.example.com' }],
    [
      'a base URL over plain http',
      { requireProof: true, publicBaseUrl: 'http://api.example.com' },
      { ...REMOTE, ...LEDGER, REQUIRE_PROOF: 'true', PUBLIC_BASE_URL: 'http://api.example.com' },
    ],
    ['a header name with a space', { headerName: 'Attestor Token' }, { ...REMOTE, TOKEN_HEADER: 'Attestor Token' }],
    ['a tenant id with a slash', { tenantId: 'acme/1' }, { ...REMOTE, AUTHORIZER_TENANT: 'acme/1' }],
    ['an unknown mode', { mode: 'audit' as never }, { ...REMOTE, AUTHORIZER_MODE: 'audit' }],
    ['an unknown kind of hardware', { requireHardware: ['play-integrity' as never] }, { ...REMOTE, REQUIRE_HARDWARE: 'play-integrity' }],
    ['a kind of hardware twice', { requireHardware: ['app-attest', 'app-attest'] }, { ...REMOTE, REQUIRE_HARDWARE: 'app-attest,app-attest' }],
  ])('%s', (_what, props, env) => {
    const coldStart = atColdStart(env);
    expect(atSynth(props)).toBe(`AttestationAuthorizer: ${coldStart}`);
  });

  test('a ledger given to an authorizer that writes nothing', () => {
    const stack = new Stack(fastApp(), 'Unused');
    const ledger = new dynamodb.Table(stack, 'Ledger', { partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING } });
    const synth = (() => {
      try {
        new AttestationAuthorizer(stack, 'A', { keySource: remote(), tokenLedger: ledger });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    })();
    expect(synth).toBe(`AttestationAuthorizer: ${atColdStart({ ...REMOTE, ...LEDGER })}`);
  });

  test('a kms key source with another alias prefix: the function reads the prefix the construct grants on', () => {
    const stack = new Stack(fastApp(), 'Prefixed');
    const registry = new dynamodb.Table(stack, 'Registry', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const keySource = AttestationKeySource.kms({ registryTable: registry, tenantKeyAliasPrefix: 'acme/' });
    expect(() => new AttestationAuthorizer(stack, 'A', { keySource })).toThrow(
      `AttestationAuthorizer: ${atColdStart({ REGISTRY_TABLE: 'r', TENANT_KEY_ALIAS_PREFIX: 'acme/' })}`,
    );
  });
});
