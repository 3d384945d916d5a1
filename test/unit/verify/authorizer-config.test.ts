/**
 * The authorizer Lambda at cold start: its record (AUTHORIZER_CONFIG, whose rules and refusals are
 * test/unit/contracts/function-config.test.ts's) read with the Region Lambda sets, then wired.
 */
import { AUTHORIZER_CONFIG } from '../../../packages/contracts/src/config';
import { createAuthorizer } from '../../../packages/service/src/composition/authorizer-config';
import { ConfigurationError, lambdaConfig } from '../../../packages/service/src/composition/environment';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateTestKey } from '../../support/memory';
import { ISSUER, TENANT, claimsAt, es256, forge } from '../core/helpers';
import { publicJwk } from './jwks-server';

const coldStart = (env: NodeJS.ProcessEnv) => lambdaConfig(AUTHORIZER_CONFIG, env);

describe('the authorizer\'s configuration at cold start', () => {
  it('defaults to enforcing tokens only, with keys from KMS; what belongs to other functions is not read', () => {
    const config = coldStart({
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
      limitedUse: false,
      requireProof: false,
      keySource: {
        kind: 'kms',
        registryTable: 'attestor-registry',
        tenantKeyAliasPrefix: 'alias/attestor/tenant/',
        decoyKeyId: 'arn:aws:kms:eu-west-1:1:key/d',
      },
      cacheSeconds: 0,
    });
  });

  it('reads every variable of the contract', () => {
    const config = coldStart({
      AWS_REGION: 'us-west-2',
      ATTESTOR_ISSUER: 'https://attest.example.com',
      AUTHORIZER_TENANT: 'acme',
      TOKEN_HEADER: 'X-Attestation',
      AUTHORIZER_MODE: 'monitor',
      REQUIRE_BINDING: 'true',
      BINDING_HEADER: 'X-Session',
      LIMITED_USE: 'true',
      REQUIRE_PROOF: 'true',
      REQUIRE_HARDWARE: 'android-key',
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
      requireHardware: ['android-key'],
      tokenLedgerTable: 'ledger',
      keySource: { kind: 'remote', apiUrl: 'https://abc.execute-api.us-west-2.amazonaws.com/prod/' },
      publicBaseUrl: 'https://api.example.com/v1',
      cacheSeconds: 0,
    });
  });

  it('reads the results cache TTL the construct sets', () => {
    expect(coldStart({ REGISTRY_TABLE: 't', AUTHORIZER_CACHE_TTL_SECONDS: '60' }).cacheSeconds).toBe(60);
    expect(coldStart({ REGISTRY_TABLE: 't', AUTHORIZER_CACHE_TTL_SECONDS: '0' }).cacheSeconds).toBe(0);
  });

  it('fails the cold start on a contradiction, before anything is wired', () => {
    expect(() => coldStart({ REGISTRY_TABLE: 't', AUTHORIZER_MODE: 'monitor', AUTHORIZER_CACHE_TTL_SECONDS: '60' })).toThrow(ConfigurationError);
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
      coldStart({
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
      expect(codes).toEqual(['hardware_missing', 'hardware_missing', 'valid']);
      expect(withHw.policyDocument.Statement[0]).toMatchObject({ Effect: 'Allow' });
      expect(withHw.context).toMatchObject({ appId: 'com.example.app', hw: 'app-attest' });
    } finally {
      authorizer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('wires a handler without touching AWS until a request comes (keys load in the background)', async () => {
    const authorizer = createAuthorizer(coldStart({ KEY_SOURCE: 'remote', ATTESTOR_API_URL: 'http://127.0.0.1:9' }), {
      metrics: { record: () => undefined },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      remoteCredentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const result = await authorizer.handler({ type: 'REQUEST', methodArn: 'arn', headers: {}, path: '/x', httpMethod: 'GET' } as never);
    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    authorizer.destroy();
  });
});
