/**
 * Every route of src/routes.ts fed FUZZ_RUNS generated requests in process (the handlers over the
 * in-memory ports of test/support/memory.ts, so the run is fast): bodies that are random JSON,
 * random text, valid bodies with one member changed, oversized, base64-flagged; path parameters
 * and query strings of any characters; callers that are operators, tenants, or nobody. No answer
 * may be a 5xx or carry a stack trace, every answer is JSON, and the service still answers a
 * genuine request correctly afterwards. A larger run: FUZZ_RUNS=100000 npx jest test/fuzz.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as fc from 'fast-check';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { AUTHORIZER_UNAVAILABLE_RESPONSE, ROUTES, type Route } from '../../packages/contracts/src/routes';
import { AttestationVerifier } from '../../packages/verify/src/core/verifier';
import { authorizerHandler } from '../../packages/service/src/handlers/authorizer';
import { adminHandlers, type AdminDeps } from '../../packages/service/src/handlers/admin';
import { attestHandler } from '../../packages/service/src/handlers/attest';
import { challengeHandler } from '../../packages/service/src/handlers/challenge';
import { demoHelloHandler } from '../../packages/service/src/handlers/demo-hello';
import type { ApiHandler } from '../../packages/service/src/handlers/http';
import { silentLogger } from '../../packages/service/src/handlers/log';
import type { TenantKeyManager, UploadUrlIssuer } from '../../packages/service/src/core/ports';
import { LocalRegisterFailures } from '../../packages/local/src/register-failures';
import { registryPorts } from '../support/memory';
import { APP_ID, genuineRequest, ISSUER, makeWorld, TENANT, VERSION } from '../unit/core/helpers';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 10_000);
const STACK_TRACE = /\bat [^\s]+ \(|\.ts:\d+|\.js:\d+|Error:/;

const world = makeWorld();
let dir: string;
let handlers: Record<Route['lambda'], ApiHandler>;
let caller: 'operator' | 'tenant' | 'nobody' = 'operator';
/** A genuine attest body, so that mutations of one member reach the checks behind the schema. */
let attestBody: Record<string, unknown>;

beforeAll(async () => {
  attestBody = { ...(await genuineRequest(world)) };
  dir = mkdtempSync(join(tmpdir(), 'attestor-fuzz-'));
  const { clock, registry } = world;
  const keys: TenantKeyManager = {
    ensureSigningKey: async () => undefined,
    jwks: async () => ({ keys: [] }),
    rotateSigningKey: async () => ({ kid: 'kid-2', format: 'hs256', activatesAt: clock.now + 60, keysDeleted: [], keysNotDeleted: [] }),
    wrappedSecrets: async () => ({ keys: [] }),
    describeKeys: async () => [],
  };
  const uploadUrls: UploadUrlIssuer = {
    issue: async (objectKey) => ({ url: `https://s3.example/${objectKey}?sig`, expiresAt: clock.now + 900 }),
    issueMultipart: async (objectKey, size, partSize) => ({
      multipartUploadId: 'mp-1',
      parts: Array.from({ length: Math.ceil(size / partSize) }, (_, i) => ({ partNumber: i + 1, url: `https://s3.example/${objectKey}?part=${i + 1}` })),
      expiresAt: clock.now + 900,
    }),
    completeMultipart: async () => undefined,
  };
  const deps: AdminDeps = {
    ...registryPorts(registry),
    keys,
    uploadUrls,
    clock,
    random: { bytes: (n) => randomBytes(n) },
    maxBuildBytes: 10_000,
    defaultTenantId: TENANT,
    registerFailures: new LocalRegisterFailures(join(dir, 'failures.json'), () => undefined),
    callerOf: async () =>
      caller === 'nobody'
        ? undefined
        : { principal: `arn:aws:iam::123456789012:user/${caller}`, tenantId: TENANT, operator: caller === 'operator', role: 'admin' },
  };
  handlers = {
    challenge: challengeHandler(world.deps, silentLogger),
    attest: attestHandler(world.deps, silentLogger),
    demoHello: behindAuthorizer(demoHelloHandler(silentLogger)),
    ...adminHandlers(deps, silentLogger),
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A route behind the attestation authorizer as API Gateway serves it: the authorizer first (over a
 * verifier of the in-memory keys); Deny is a 403, a throw the 503 of AUTHORIZER_UNAVAILABLE_RESPONSE.
 */
function behindAuthorizer(backend: ApiHandler): ApiHandler {
  const verifier = new AttestationVerifier({ keys: world.keys, tenantId: TENANT, issuer: ISSUER, clock: world.clock });
  const authorizer = authorizerHandler(verifier, silentLogger);
  const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:api/prod/GET/demo/hello';
  return async (event) => {
    let result;
    try {
      result = await authorizer({ ...event, type: 'REQUEST', methodArn } as unknown as APIGatewayRequestAuthorizerEvent);
    } catch {
      const { status, body } = AUTHORIZER_UNAVAILABLE_RESPONSE;
      return { statusCode: status, body: JSON.stringify(body) };
    }
    const allowed = result.policyDocument.Statement.every((s) => 'Effect' in s && s.Effect === 'Allow');
    if (!allowed) return { statusCode: 403, body: JSON.stringify({ message: 'User is not authorized to access this resource with an explicit deny' }) };
    return backend({ ...event, requestContext: { ...event.requestContext, authorizer: { principalId: result.principalId, ...result.context } } });
  };
}

/** Text with what breaks parsers: escapes, separators, control and non-BMP characters. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', '%', '%zz', '../..', '/', '\u0000', '\u001b[2J', '\uD800', 'null', '{}', '[]', 'a'.repeat(300), APP_ID, VERSION, TENANT),
);
const json: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

/** A valid body for the route, so that mutations reach the checks behind the first one. */
function validBody(route: Route): Record<string, unknown> | undefined {
  const key = `${route.method} ${route.path}`;
  const bodies: Record<string, Record<string, unknown>> = {
    'POST /v1/challenge': { appId: APP_ID },
    'POST /v1/attest': attestBody,
    // Without a credential issuer (as in AWS) a tenant names its principals.
    'POST /v1/admin/tenants': { tenantId: 'fuzz-tenant', principals: ['arn:aws:iam::123456789012:role/Fuzz'] },
    'POST /v1/admin/apps': { appId: 'com.example.fuzz' },
    'POST /v1/admin/apps/{appId}/uploads': { version: '2.0.0', size: 100 },
    'POST /v1/admin/uploads/{uploadId}/complete': { parts: [{ partNumber: 1, etag: '"abc"' }] },
    'POST /v1/admin/apps/{appId}/registrations/{version}/expire': { afterSeconds: 60 },
    'PUT /v1/admin/apps/{appId}/identity': { ios: { teamId: 'ABCDE12345', bundleId: APP_ID } },
    'PUT /v1/admin/apps/{appId}/policy': { reject: { rooted: true, emulator: false, debugger: false, hooked: true } },
    'POST /v1/admin/apps/{appId}/devices': { debug: true },
    'POST /v1/admin/keys/rotate': {},
    'POST /v1/admin/registrations/failures/retry': {},
    'POST /v1/admin/registrations/failures/clear': { ids: ['abc'] },
  };
  return bodies[key];
}

/** Routes whose valid body still needs something this run never makes (an upload, a registration of the version). */
const NEEDS_A_RESOURCE = new Set(['POST /v1/admin/uploads/{uploadId}/complete', 'POST /v1/admin/apps/{appId}/registrations/{version}/expire']);

function bodyArbitrary(route: Route): fc.Arbitrary<{ body: string | null; base64: boolean }> {
  const valid = validBody(route);
  const mutated = valid
    ? fc.tuple(fc.constantFrom(...Object.keys(valid), 'extra'), json).map(([member, value]) => JSON.stringify({ ...valid, [member]: value }))
    : json.map((v) => JSON.stringify(v));
  const text = fc.oneof(
    { weight: 3, arbitrary: mutated },
    { weight: 2, arbitrary: json.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: nasty },
    { weight: 1, arbitrary: fc.constant('x'.repeat(20_000)) },
    { weight: 1, arbitrary: fc.constant(valid ? JSON.stringify(valid) : '{}') },
  );
  return fc.record({ body: fc.option(text, { nil: null }), base64: fc.boolean() }).map(({ body, base64 }) => ({
    body: body !== null && base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    base64: body !== null && base64,
  }));
}

function eventArbitrary(route: Route): fc.Arbitrary<APIGatewayProxyEvent> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const known: Record<string, string[]> = { appId: [APP_ID, 'com.example.other'], version: [VERSION], uploadId: ['u'.repeat(22)], deviceId: ['d'] };
  const param = (name: string) => fc.oneof(nasty, fc.constantFrom(...(known[name] ?? ['x'])));
  return fc
    .record({
      params: fc.tuple(...names.map(param)),
      query: fc.dictionary(fc.constantFrom('appId', 'limit', 'since', 'cursor', 'kind', 'window', 'x'), nasty, { maxKeys: 3 }),
      headers: fc.dictionary(fc.constantFrom('content-type', 'Attestor-Token', 'authorization', 'x-forwarded-for'), nasty, { maxKeys: 3 }),
      body: bodyArbitrary(route),
    })
    .map(({ params, query, headers, body }) => {
      const pathParameters = names.length ? Object.fromEntries(names.map((n, i) => [n, params[i]!])) : null;
      return {
        resource: route.path,
        path: route.path,
        httpMethod: route.method,
        headers,
        multiValueHeaders: {},
        queryStringParameters: Object.keys(query).length ? query : null,
        multiValueQueryStringParameters: null,
        pathParameters,
        stageVariables: null,
        requestContext: { identity: { userArn: 'arn:aws:iam::123456789012:user/fuzz' } } as unknown as APIGatewayProxyEvent['requestContext'],
        body: body.body,
        isBase64Encoded: body.base64,
      };
    });
}

describe('every route, fuzzed in process', () => {
  // Each route starts with the world's app in place: DELETE /v1/admin/apps/{appId} may have removed it,
  // and a route whose valid body needs the app must still be able to pass.
  const app = world.registry.apps.get(APP_ID)!;
  beforeEach(() => {
    if (!world.registry.apps.has(APP_ID)) world.registry.apps.set(APP_ID, app);
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: no 5xx, no stack trace, JSON always', async (name, route) => {
    const handler = handlers[route.lambda];
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(eventArbitrary(route), fc.constantFrom('operator', 'tenant', 'nobody'), async (event, who) => {
        caller = who as typeof caller;
        const result = await handler(event);
        statuses.set(result.statusCode, (statuses.get(result.statusCode) ?? 0) + 1);
        if (result.statusCode >= 500) throw new Error(`${result.statusCode} ${result.body}`);
        expect(result.body).not.toMatch(STACK_TRACE);
        JSON.parse(result.body);
      }),
      { numRuns: RUNS },
    );
    caller = 'operator';
    // Every generated request was sent (none filtered away), and the generator reached past validation:
    // some requests were refused (4xx) and, where a valid body exists, some passed.
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(RUNS);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    if (validBody(route) !== undefined && !NEEDS_A_RESOURCE.has(name)) {
      expect({ name, passed: [...statuses.keys()].some((s) => s < 300) }).toEqual({ name, passed: true });
    }
  }, 120_000);

  it('still attests a genuine request correctly afterwards', async () => {
    const request = await genuineRequest(world);
    const result = await handlers.attest({ body: JSON.stringify(request), isBase64Encoded: false } as APIGatewayProxyEvent);
    expect(result.statusCode).toBe(200);
    const { token } = JSON.parse(result.body) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims['sub']).toBe(APP_ID);
    expect(world.keys.signingKeyCalls.length).toBeGreaterThan(0);
  });
});
