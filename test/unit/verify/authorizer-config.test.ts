/** The authorizer Lambda's environment contract (docs/ENFORCEMENT.md): defaults, and a clear error for every bad value or combination. */
import { authorizerConfigFromEnv, createAuthorizer } from '../../../packages/service/src/composition/authorizer-config';
import { ConfigurationError } from '../../../packages/service/src/composition/environment';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateTestKey } from '../../support/memory';
import { ISSUER, TENANT, claimsAt, es256, forge } from '../core/helpers';
import { publicJwk } from './jwks-server';

const KMS = { REGISTRY_TABLE: 'attestor-registry' };

describe('authorizerConfigFromEnv', () => {
  it('defaults to enforcing tokens only, with keys from KMS, for the environment the Attestor stack sets today', () => {
    const config = authorizerConfigFromEnv({
      NONCES_TABLE: 'n',
      REGISTRY_TABLE: 'attestor-registry',
      BUILDS_BUCKET: 'b',
      ATTESTOR_ISSUER: 'attestor',
      DECOY_KEY_ID: 'arn:aws:kms:eu-west-1:1:key/d',
      TENANT_KEY_ALIAS_PREFIX: 'alias/attestor/tenant/',
      AWS_REGION: 'eu-west-1',
    });
    expect(config).toEqual({
      region: 'eu-west-1',
      issuer: 'attestor',
      tenantId: 'default',
      mode: 'enforce',
      tokenHeader: 'Attestor-Token',
      requireBinding: false,
      bindingHeader: 'Authorization',
      limitedUse: false,
      requireProof: false,
      proofHeader: 'Attestor-Proof',
      keySource: { kind: 'kms', registryTable: 'attestor-registry', tenantKeyAliasPrefix: 'alias/attestor/tenant/', decoyKeyId: 'arn:aws:kms:eu-west-1:1:key/d' },
      cacheSeconds: 0,
    });
  });

  it('reads every variable of the contract', () => {
    const config = authorizerConfigFromEnv({
      AWS_REGION: 'us-west-2',
      ATTESTOR_ISSUER: 'https://attest.example.com',
      AUTHORIZER_TENANT: 'acme',
      TOKEN_HEADER: 'X-Attestation',
      AUTHORIZER_MODE: 'monitor',
      REQUIRE_BINDING: 'true',
      BINDING_HEADER: 'X-Session',
      LIMITED_USE: 'true',
      REQUIRE_PROOF: 'true',
      TOKEN_LEDGER_TABLE: 'ledger',
      KEY_SOURCE: 'remote',
      ATTESTOR_API_URL: 'https://abc.execute-api.us-west-2.amazonaws.com/prod/',
      PUBLIC_BASE_URL: 'https://api.example.com/v1/',
    });
    expect(config).toEqual({
      region: 'us-west-2',
      issuer: 'https://attest.example.com',
      tenantId: 'acme',
      mode: 'monitor',
      tokenHeader: 'X-Attestation',
      requireBinding: true,
      bindingHeader: 'X-Session',
      limitedUse: true,
      requireProof: true,
      proofHeader: 'Attestor-Proof',
      tokenLedgerTable: 'ledger',
      keySource: { kind: 'remote', apiUrl: 'https://abc.execute-api.us-west-2.amazonaws.com/prod/' },
      publicBaseUrl: 'https://api.example.com/v1',
      cacheSeconds: 0,
    });
  });

  it('reads the results cache TTL the construct sets', () => {
    expect(authorizerConfigFromEnv({ ...KMS, AUTHORIZER_CACHE_TTL_SECONDS: '60' }).cacheSeconds).toBe(60);
    expect(authorizerConfigFromEnv({ ...KMS, AUTHORIZER_CACHE_TTL_SECONDS: '0' }).cacheSeconds).toBe(0);
  });

  it.each<[string, NodeJS.ProcessEnv, string]>([
    ['an unknown mode', { ...KMS, AUTHORIZER_MODE: 'audit' }, 'AUTHORIZER_MODE must be enforce or monitor, got "audit"'],
    ['a cache TTL that is not whole seconds', { ...KMS, AUTHORIZER_CACHE_TTL_SECONDS: '1.5' }, 'AUTHORIZER_CACHE_TTL_SECONDS must be a whole number of seconds from 0 to 60, got "1.5"'],
    ['a cache TTL longer than the shortest token lifetime', { ...KMS, AUTHORIZER_CACHE_TTL_SECONDS: '61' }, 'AUTHORIZER_CACHE_TTL_SECONDS must be a whole number of seconds from 0 to 60, got "61"'],
    ['caching in monitor mode', { ...KMS, AUTHORIZER_MODE: 'monitor', AUTHORIZER_CACHE_TTL_SECONDS: '60' }, 'AUTHORIZER_CACHE_TTL_SECONDS must be 0 with AUTHORIZER_MODE monitor: a cached verdict would skip what it enforces'],
    ['caching single-use tokens', { ...KMS, LIMITED_USE: 'true', TOKEN_LEDGER_TABLE: 'l', AUTHORIZER_CACHE_TTL_SECONDS: '60' }, 'AUTHORIZER_CACHE_TTL_SECONDS must be 0 with LIMITED_USE: a cached verdict would skip what it enforces'],
    ['caching per-request proofs', { ...KMS, REQUIRE_PROOF: 'true', TOKEN_LEDGER_TABLE: 'l', AUTHORIZER_CACHE_TTL_SECONDS: '60' }, 'AUTHORIZER_CACHE_TTL_SECONDS must be 0 with REQUIRE_PROOF: a cached verdict would skip what it enforces'],
    ['a flag that is not true or false', { ...KMS, REQUIRE_BINDING: 'yes' }, 'REQUIRE_BINDING must be true or false, got "yes"'],
    ['LIMITED_USE without a ledger', { ...KMS, LIMITED_USE: 'true' }, 'environment variable TOKEN_LEDGER_TABLE is required when LIMITED_USE is true'],
    ['REQUIRE_PROOF without a ledger', { ...KMS, REQUIRE_PROOF: 'true' }, 'environment variable TOKEN_LEDGER_TABLE is required when REQUIRE_PROOF is true'],
    ['both without a ledger', { ...KMS, LIMITED_USE: 'true', REQUIRE_PROOF: 'true' }, 'environment variable TOKEN_LEDGER_TABLE is required when LIMITED_USE and REQUIRE_PROOF is true'],
    ['an unknown key source', { ...KMS, KEY_SOURCE: 'file' }, 'KEY_SOURCE must be kms or remote, got "file"'],
    ['kms without the registry table', {}, 'environment variable REGISTRY_TABLE is required when KEY_SOURCE is kms'],
    ['remote without a URL', { KEY_SOURCE: 'remote' }, 'environment variable ATTESTOR_API_URL is required when KEY_SOURCE is remote'],
    ['an API URL over plain http', { KEY_SOURCE: 'remote', ATTESTOR_API_URL: 'http://keys.example.com/prod' }, 'ATTESTOR_API_URL must be an https URL, got "http://keys.example.com/prod"'],
    ['an API URL that is not a URL', { KEY_SOURCE: 'remote', ATTESTOR_API_URL: 'keys' }, 'ATTESTOR_API_URL must be an absolute URL, got "keys"'],
    ['an API URL with a query', { KEY_SOURCE: 'remote', ATTESTOR_API_URL: 'https://a.example/prod?x=1' }, 'ATTESTOR_API_URL must not contain credentials, a query or a fragment'],
    ['a public base URL with a query', { ...KMS, PUBLIC_BASE_URL: 'https://api.example.com/?a=1' }, 'PUBLIC_BASE_URL must not contain credentials, a query or a fragment, got "https://api.example.com/?a=1"'],
    ['a token header that is not a header name', { ...KMS, TOKEN_HEADER: 'Attestor Token' }, 'TOKEN_HEADER must be an HTTP header name, got "Attestor Token"'],
    ['an invalid tenant id', { ...KMS, AUTHORIZER_TENANT: 'a/b' }, 'AUTHORIZER_TENANT must match ^[A-Za-z0-9_-]{1,64}$, got "a/b"'],
    ['binding to the token header', { ...KMS, REQUIRE_BINDING: 'true', BINDING_HEADER: 'attestor-token' }, 'TOKEN_HEADER and BINDING_HEADER name the same header (attestor-token); each needs its own'],
    ['the token in the proof header', { ...KMS, REQUIRE_PROOF: 'true', TOKEN_LEDGER_TABLE: 't', TOKEN_HEADER: 'Attestor-Proof' }, 'TOKEN_HEADER and the proof header name the same header (Attestor-Proof); each needs its own'],
  ])('refuses %s at cold start', (_what, env, message) => {
    expect(() => authorizerConfigFromEnv(env)).toThrow(ConfigurationError);
    expect(() => authorizerConfigFromEnv(env)).toThrow(message);
  });

  it.each<[string, string | undefined, readonly string[] | undefined]>([
    ['absent', undefined, undefined],
    ['false', 'false', undefined],
    ['true: either kind', 'true', ['app-attest', 'android-key']],
    ['one kind', 'app-attest', ['app-attest']],
    ['both kinds, spaced', 'android-key, app-attest', ['android-key', 'app-attest']],
  ])('reads REQUIRE_HARDWARE %s', (_what, text, kinds) => {
    const config = authorizerConfigFromEnv({ ...KMS, ...(text === undefined ? {} : { REQUIRE_HARDWARE: text }) });
    if (kinds === undefined) expect(config).not.toHaveProperty('requireHardware');
    else expect(config.requireHardware).toEqual(kinds);
  });

  it.each<[string, string, string]>([
    [
      'a kind the protocol does not have',
      'play-integrity',
      'REQUIRE_HARDWARE names "play-integrity", which is not a kind of hardware evidence: use app-attest or android-key',
    ],
    ['true mixed with a kind', 'true,app-attest', 'REQUIRE_HARDWARE names "true", which is not a kind of hardware evidence'],
    ['a yes for a true', 'yes', 'REQUIRE_HARDWARE names "yes", which is not a kind of hardware evidence'],
    ['only commas', ',', 'REQUIRE_HARDWARE names "", which is not a kind of hardware evidence'],
    [
      'a kind twice',
      'app-attest,app-attest',
      'REQUIRE_HARDWARE names app-attest twice (it is false, true, or kinds separated by commas), got "app-attest,app-attest"',
    ],
  ])('refuses REQUIRE_HARDWARE with %s at cold start, naming the variable', (_what, text, message) => {
    expect(() => authorizerConfigFromEnv({ ...KMS, REQUIRE_HARDWARE: text })).toThrow(ConfigurationError);
    expect(() => authorizerConfigFromEnv({ ...KMS, REQUIRE_HARDWARE: text })).toThrow(message);
  });

  it('accepts plain http only for the local machine', () => {
    expect(authorizerConfigFromEnv({ KEY_SOURCE: 'remote', ATTESTOR_API_URL: 'http://127.0.0.1:3000' }).keySource).toEqual({ kind: 'remote', apiUrl: 'http://127.0.0.1:3000/' });
  });

  it('ignores BINDING_HEADER equal to the token header when binding is off', () => {
    expect(authorizerConfigFromEnv({ ...KMS, BINDING_HEADER: 'Attestor-Token' }).requireBinding).toBe(false);
  });
});

describe('createAuthorizer', () => {
  it('hands REQUIRE_HARDWARE to the verifier: without an accepted hw a token is denied, with it allowed and hw passed on', async () => {
    // Prepare: an Attestor API stand-in that publishes one es256 key and no hs256 secrets (so no KMS is needed).
    const key = generateTestKey();
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: req.url?.endsWith('/jwks') ? [publicJwk(key)] : [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
    const codes: string[] = [];
    const authorizer = createAuthorizer(
      authorizerConfigFromEnv({
        KEY_SOURCE: 'remote',
        ATTESTOR_API_URL: apiUrl,
        ATTESTOR_ISSUER: ISSUER,
        AUTHORIZER_TENANT: TENANT,
        REQUIRE_HARDWARE: 'app-attest',
      }),
      {
        metrics: { record: (verdict) => void codes.push(verdict.code) },
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
        remoteCredentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      },
    );
    const now = Math.floor(Date.now() / 1000);
    const token = (claims: Record<string, unknown>) =>
      forge({ alg: 'ES256', typ: 'JWT', kid: key.kid }, claimsAt(now, { aud: TENANT, ...claims }), es256(key.privateKey));
    const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/x';
    const request = (t: string) => ({ type: 'REQUEST', methodArn, headers: { 'Attestor-Token': t }, path: '/x', httpMethod: 'GET' }) as never;
    try {
      // Act
      const without = await authorizer.handler(request(token({})));
      const otherKind = await authorizer.handler(request(token({ hw: 'android-key' })));
      const withHw = await authorizer.handler(request(token({ hw: 'app-attest' })));
      // Assess
      expect([without, otherKind].map((r) => r.policyDocument.Statement[0]?.Effect)).toEqual(['Deny', 'Deny']);
      expect(codes).toEqual(['hardware_missing', 'hardware_missing']);
      expect(withHw.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
      expect(withHw.context).toMatchObject({ appId: 'com.example.app', hw: 'app-attest' });
    } finally {
      authorizer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('wires a handler without touching AWS until a request comes (keys load in the background)', async () => {
    const authorizer = createAuthorizer(authorizerConfigFromEnv({ KEY_SOURCE: 'remote', ATTESTOR_API_URL: 'http://127.0.0.1:9' }), {
      metrics: { record: () => undefined },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      remoteCredentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const result = await authorizer.handler({ type: 'REQUEST', methodArn: 'arn', headers: {}, path: '/x', httpMethod: 'GET' } as never);
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    authorizer.destroy();
  });
});
