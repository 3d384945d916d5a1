import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent, S3Event } from 'aws-lambda';
import { attest } from '../../../packages/service/src/core/attestation';
import type { PublicJwk, TenantKeyManager, UploadUrlIssuer, VerificationKeySource } from '../../../packages/service/src/core/ports';
import { buildObjectKey, type RegistrationDeps } from '../../../packages/service/src/core/registration';
import { AttestationVerifier } from '../../../packages/verify/src/core/verifier';
import { verifyTokenWithKeys } from '../../../packages/verify/src/core/verify';
import { adminKeysHandler, type AdminDeps } from '../../../packages/service/src/handlers/admin';
import { routedAdminHandler } from './admin-routing';
import { attestHandler } from '../../../packages/service/src/handlers/attest';
import { authorizerHandler, headerValue, stageArn } from '../../../packages/service/src/handlers/authorizer';
import { challengeHandler } from '../../../packages/service/src/handlers/challenge';
import { demoHelloHandler } from '../../../packages/service/src/handlers/demo-hello';
import { MAX_BODY_BYTES, errorResponse, httpHandler, parseJsonBody } from '../../../packages/service/src/handlers/http';
import { BodyTooLargeError, ConflictError } from '../../../packages/service/src/core/errors';
import type { LogFields, Logger } from '../../../packages/service/src/handlers/log';
import { decodeS3EventKey, registerHandler } from '../../../packages/service/src/handlers/register';
import { ManualClock, MemoryBuildStore, MemoryRegistry, registryPorts } from '../../support/memory';
import { APP_ID, ISSUER, TENANT, VERSION, genuineRequest, makeWorld, parts, type World } from '../core/helpers';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', name), 'utf8')) as T;
const restEvent = (overrides: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent => ({
  ...fixture<APIGatewayProxyEvent>('apigw-request.json'),
  ...overrides,
});
const post = (path: string, body: string | null, extra: Partial<APIGatewayProxyEvent> = {}) =>
  restEvent({ resource: path, path, httpMethod: 'POST', body, isBase64Encoded: false, ...extra });

class RecordingLogger implements Logger {
  readonly entries: { level: string; event: string; fields: LogFields | undefined }[] = [];
  info(event: string, fields?: LogFields) {
    this.entries.push({ level: 'info', event, fields });
  }
  warn(event: string, fields?: LogFields) {
    this.entries.push({ level: 'warn', event, fields });
  }
  error(event: string, fields?: LogFields) {
    this.entries.push({ level: 'error', event, fields });
  }
  events(): string[] {
    return this.entries.map((e) => `${e.level}:${e.event}`);
  }
}

const body = (result: { body: string }) => JSON.parse(result.body) as Record<string, unknown>;

describe('fixtures', () => {
  it('are the API Gateway REST v1 and S3 shapes the handlers are typed for', () => {
    const rest = fixture<APIGatewayProxyEvent>('apigw-request.json');
    const auth = fixture<APIGatewayRequestAuthorizerEvent>('apigw-custom-auth-request-type-request.json');
    const s3 = fixture<S3Event>('s3-event.json');
    expect(rest.requestContext.identity.sourceIp).toBe('192.168.196.186');
    expect(auth.type).toBe('REQUEST');
    expect(auth.methodArn).toMatch(/^arn:aws:execute-api:/);
    expect(s3.Records[0]?.s3.object.key).toBe('HappyFace.jpg');
  });
});

describe('parseJsonBody / httpHandler', () => {
  it('decodes a base64-encoded body', () => {
    expect(parseJsonBody({ body: Buffer.from('{"a":1}').toString('base64'), isBase64Encoded: true })).toEqual({ a: 1 });
  });

  it('measures the limit in UTF-8 bytes, not characters', () => {
    // Prepare: 8193 two-byte characters are 16386 bytes.
    const text = JSON.stringify('é'.repeat(8193));
    // Act
    const error = (() => {
      try {
        parseJsonBody({ body: text, isBase64Encoded: false });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    // Assess
    expect(text.length).toBeLessThan(MAX_BODY_BYTES);
    expect(error).toBeInstanceOf(BodyTooLargeError);
    expect(errorResponse(error).statusCode).toBe(413);
  });

  it('maps a service error to its status and body', async () => {
    const handler = httpHandler('t', new RecordingLogger(), async () => {
      throw new ConflictError('app com.example.app belongs to another tenant');
    });
    const result = await handler(restEvent());
    expect(result.statusCode).toBe(409);
    expect(body(result)).toEqual({ error: 'conflict', message: 'app com.example.app belongs to another tenant' });
  });

  it.each([
    ['an Error', new Error('SELECT * FROM secrets; password=hunter2')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'hunter2')")],
    ['a thrown string', 'hunter2'],
    ['undefined', undefined],
  ])('turns %s into a bare 500 that leaks nothing', async (_what, thrown) => {
    // Prepare
    const log = new RecordingLogger();
    const handler = httpHandler('t', log, async () => {
      throw thrown;
    });
    // Act
    const result = await handler(restEvent());
    // Assess
    expect(result.statusCode).toBe(500);
    expect(result.body).toBe('{"error":"internal_error"}');
    expect(result.body).not.toContain('hunter2');
    expect(log.events()).toEqual(['error:unhandled_error']);
  });
});

describe('challenge handler', () => {
  it('returns a nonce and its expiry', async () => {
    // Prepare
    const world = makeWorld();
    const handler = challengeHandler(world.deps, new RecordingLogger());
    // Act
    const result = await handler(post('/v1/challenge', JSON.stringify({ appId: APP_ID })));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toEqual({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    const json = body(result);
    expect(Object.keys(json)).toEqual(['nonce', 'expiresAt']);
    expect(json['nonce']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(json['expiresAt']).toBe(world.clock.now + 60);
    expect(world.nonces.records.size).toBe(1);
  });

  it('names a missing appId', async () => {
    const world = makeWorld();
    const result = await challengeHandler(world.deps, new RecordingLogger())(post('/v1/challenge', '{}'));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({ error: 'invalid_request', field: 'appId', message: 'appId is required' });
  });
});

describe('attest handler', () => {
  let world: World;
  let log: RecordingLogger;
  const send = (text: string | null, extra: Partial<APIGatewayProxyEvent> = {}) => attestHandler(world.deps, log)(post('/v1/attest', text, extra));

  beforeEach(() => {
    world = makeWorld();
    log = new RecordingLogger();
  });

  it('answers 200 with exactly token and expiresAt, and logs the verdict but not the token', async () => {
    // Prepare
    const request = await genuineRequest(world);
    // Act
    const result = await send(JSON.stringify(request));
    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['cache-control']).toBe('no-store');
    const json = body(result);
    expect(Object.keys(json)).toEqual(['token', 'expiresAt']);
    expect(json['expiresAt']).toBe(world.clock.now + 300);
    const claims = verifyTokenWithKeys(json['token'] as string, await world.keys.keys(TENANT), { issuer: ISSUER, nowSeconds: world.clock.now });
    expect(claims.sub).toBe(APP_ID);
    expect(log.entries).toEqual([
      {
        level: 'info',
        event: 'attestation',
        fields: { appId: APP_ID, appVersion: VERSION, tenantId: TENANT, did: claims.did, platform: 'android', outcome: 'pass', reasons: [] },
      },
    ]);
    const logged = JSON.stringify(log.entries);
    expect(logged).not.toContain(json['token'] as string);
    expect(logged).not.toContain(request.nonce);
    expect(logged).not.toContain(request.installProof);
  });

  it('answers a failing attestation with 200 and a token too; only the log tells', async () => {
    const result = await send(JSON.stringify(await genuineRequest(world, { signals: { hooked: true } })));
    expect(result.statusCode).toBe(200);
    expect(Object.keys(body(result))).toEqual(['token', 'expiresAt']);
    expect(log.entries[0]?.fields).toMatchObject({ outcome: 'fail', reasons: ['device_hooked'] });
  });

  it('accepts a base64-encoded body', async () => {
    const text = Buffer.from(JSON.stringify(await genuineRequest(world))).toString('base64');
    expect((await send(text, { isBase64Encoded: true })).statusCode).toBe(200);
  });

  it.each([
    ['not JSON', '{"nonce": ', { error: 'invalid_request', message: 'body is not valid JSON' }],
    ['JSON but not an object', '[1,2,3]', { error: 'invalid_request', message: 'body must be a JSON object' }],
    ['JSON null', 'null', { error: 'invalid_request', message: 'body must be a JSON object' }],
    ['empty', '', { error: 'invalid_request', message: 'body is required (a JSON object)' }],
    ['absent', null, { error: 'invalid_request', message: 'body is required (a JSON object)' }],
  ])('answers 400 for a body that is %s', async (_what, text, expected) => {
    const result = await send(text);
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual(expected);
  });

  it.each([
    ['nonce', 'nonce is required'],
    ['installKey.x', 'installKey.x is required'],
    ['device.signals.rooted', 'device.signals.rooted is required'],
  ])('answers 400 naming a missing %s', async (path, message) => {
    // Prepare
    const request = JSON.parse(JSON.stringify(await genuineRequest(world))) as Record<string, any>;
    const keys = path.split('.');
    let target = request;
    for (const key of keys.slice(0, -1)) target = target[key];
    delete target[keys[keys.length - 1]!];
    // Act
    const result = await send(JSON.stringify(request));
    // Assess
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({ error: 'invalid_request', field: path, message });
    expect(world.nonces.records.size).toBe(1);
  });

  it('answers 400 naming installKey for a key off the curve, consuming nothing (it used to get 200 and a decoy)', async () => {
    // Prepare: a genuine request whose y is moved off the curve; nothing could have signed for that key.
    const request = JSON.parse(JSON.stringify(await genuineRequest(world))) as Record<string, any>;
    request['installKey'].y = Buffer.alloc(32, 7).toString('base64url');
    // Act
    const result = await send(JSON.stringify(request));
    // Assess
    expect(result.statusCode).toBe(400);
    const message = 'installKey is not a point on P-256 (x and y must satisfy the curve equation)';
    expect(body(result)).toEqual({ error: 'invalid_request', field: 'installKey', message });
    expect(world.nonces.records.size).toBe(1);
    expect(log.entries).toEqual([]);
  });

  it('answers 400 naming device.model for terminal escape sequences, consuming nothing', async () => {
    // Prepare: OSC 52 (write the operator's clipboard) and a C1 CSI that erases their screen.
    const request = JSON.parse(JSON.stringify(await genuineRequest(world))) as Record<string, any>;
    request['device'].model = 'Pixel\u001b]52;c;cm0gLXJmIH4=\u0007\u009b2J';
    // Act
    const result = await send(JSON.stringify(request));
    // Assess
    expect(result.statusCode).toBe(400);
    const message = 'device.model may contain only printable ASCII characters (space to ~)';
    expect(body(result)).toEqual({ error: 'invalid_request', field: 'device.model', message });
    expect(world.nonces.records.size).toBe(1);
  });

  it('answers 413 for a body over 16 KiB, and accepts one of exactly 16 KiB', async () => {
    // Prepare: valid JSON padded with whitespace.
    const json = JSON.stringify(await genuineRequest(world));
    const exact = json + ' '.repeat(MAX_BODY_BYTES - json.length);
    // Act
    const over = await send(`${exact} `);
    const atLimit = await send(exact);
    // Assess
    expect(over.statusCode).toBe(413);
    expect(body(over)).toEqual({ error: 'body_too_large', message: 'body must be at most 16384 bytes' });
    expect(atLimit.statusCode).toBe(200);
  });

  it('answers 413 before parsing a huge body that is not even JSON', async () => {
    const result = await send('x'.repeat(MAX_BODY_BYTES + 1));
    expect(result.statusCode).toBe(413);
  });

  it('answers 409 nonce_invalid to a replay', async () => {
    // Prepare
    const text = JSON.stringify(await genuineRequest(world));
    await send(text);
    // Act
    const replay = await send(text);
    // Assess
    expect(replay.statusCode).toBe(409);
    expect(body(replay)).toEqual({ error: 'nonce_invalid' });
  });

  it('answers 409 to an expired nonce', async () => {
    const text = JSON.stringify(await genuineRequest(world));
    world.clock.advance(61);
    const result = await send(text);
    expect(result.statusCode).toBe(409);
    expect(body(result)).toEqual({ error: 'nonce_invalid' });
  });

  it('answers 500 without the error message when the registry fails', async () => {
    // Prepare
    const request = await genuineRequest(world);
    jest.spyOn(world.registry.catalog, 'appSnapshot').mockRejectedValue(new Error('ResourceNotFoundException: table attestor-registry-secret'));
    // Act
    const result = await send(JSON.stringify(request));
    // Assess
    expect(result.statusCode).toBe(500);
    expect(body(result)).toEqual({ error: 'internal_error' });
    expect(result.body).not.toContain('attestor-registry-secret');
    expect(log.entries).toEqual([
      {
        level: 'error',
        event: 'unhandled_error',
        fields: { handler: 'attest', errorName: 'Error', errorMessage: 'ResourceNotFoundException: table attestor-registry-secret' },
      },
    ]);
  });
});

describe('authorizer handler', () => {
  const authEvent = (headers: Record<string, string> | null): APIGatewayRequestAuthorizerEvent => {
    const event = fixture<APIGatewayRequestAuthorizerEvent>('apigw-custom-auth-request-type-request.json');
    return { ...event, headers: headers === null ? null : { ...event.headers, ...headers } };
  };

  async function setup(keys?: VerificationKeySource, options: { cachedResults?: boolean } = {}) {
    const world = makeWorld();
    const log = new RecordingLogger();
    const verifier = new AttestationVerifier({ keys: keys ?? world.keys, tenantId: TENANT, issuer: ISSUER, clock: world.clock });
    const result = await attest(world.deps, await genuineRequest(world));
    return { world, log, handler: authorizerHandler(verifier, log, options), token: result.token };
  }

  const expectDeny = (result: Awaited<ReturnType<ReturnType<typeof authorizerHandler>>>) => {
    expect(result).toEqual({
      principalId: 'anonymous',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: 'arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/request' }],
      },
    });
  };

  it.each(['Attestor-Token', 'attestor-token', 'ATTESTOR-TOKEN', 'aTTESTOR-tOKEN'])('allows a valid token in header %s, with context', async (name) => {
    // Prepare
    const { handler, token } = await setup();
    const claims = parts(token).claims;
    // Act
    const result = await handler(authEvent({ [name]: token }));
    // Assess
    expect(result).toEqual({
      principalId: claims['did'],
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/GET/request' }],
      },
      context: { appId: APP_ID, did: claims['did'], appVersion: VERSION, jti: claims['jti'] },
    });
  });

  it('denies a request without the header', async () => {
    const { handler, log } = await setup();
    expectDeny(await handler(authEvent({})));
    expect(log.entries).toEqual([{ level: 'info', event: 'token_denied', fields: { code: 'missing', path: '/request' } }]);
  });

  it('denies a request whose headers are null', async () => {
    const { handler } = await setup();
    expectDeny(await handler(authEvent(null)));
  });

  it.each([
    ['garbage', 'not-a-token', 'malformed'],
    ['a tampered token', 'TAMPER', 'bad_signature'],
    ['an empty value', '', 'missing'],
  ])('denies %s', async (_what, value, code) => {
    const { handler, token, log } = await setup();
    const header = value === 'TAMPER' ? `${token.slice(0, -2)}${token.endsWith('AA') ? 'BA' : 'AA'}` : value;
    expectDeny(await handler(authEvent({ 'Attestor-Token': header })));
    expect(log.entries.at(-1)?.fields).toMatchObject({ code });
  });

  it('denies an expired token', async () => {
    const { handler, token, world, log } = await setup();
    world.clock.advance(300 + 60);
    expectDeny(await handler(authEvent({ 'Attestor-Token': token })));
    expect(log.entries.at(-1)?.fields).toMatchObject({ code: 'expired' });
  });

  it('denies a decoy token from a failed attestation', async () => {
    const { handler, world } = await setup();
    const decoy = await attest(world.deps, await genuineRequest(world, { signals: { hooked: true } }));
    expectDeny(await handler(authEvent({ 'Attestor-Token': decoy.token })));
  });

  it('fails closed when the key source throws', async () => {
    // Prepare
    const failing: VerificationKeySource = { keys: async () => Promise.reject(new Error('KMS GetPublicKey throttled')) };
    const { handler, token, log } = await setup(failing);
    // Act
    const result = await handler(authEvent({ 'Attestor-Token': token }));
    // Assess
    expectDeny(result);
    expect(log.events()).toEqual(['error:authorizer_error', 'info:token_denied']);
    expect(log.entries[1]?.fields).toMatchObject({ code: 'verifier_error' });
  });

  describe('with API Gateway caching its results', () => {
    it('allows the whole stage, since a cached Allow is reused for the other methods of the API', async () => {
      // Prepare
      const { handler, token } = await setup(undefined, { cachedResults: true });
      // Act
      const result = await handler(authEvent({ 'Attestor-Token': token }));
      // Assess
      expect(result.policyDocument.Statement).toEqual([
        { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/*/*' },
      ]);
      expect(result.context).toMatchObject({ appId: APP_ID });
    });

    it('still denies only the method asked about: a cached Deny denies the others implicitly', async () => {
      const { handler, token } = await setup(undefined, { cachedResults: true });
      expectDeny(await handler(authEvent({ 'Attestor-Token': `${token}x` })));
      expectDeny(await handler(authEvent({})));
    });

    it('fails closed when the key source throws', async () => {
      const failing: VerificationKeySource = { keys: async () => Promise.reject(new Error('KMS GetPublicKey throttled')) };
      const { handler, token } = await setup(failing, { cachedResults: true });
      expectDeny(await handler(authEvent({ 'Attestor-Token': token })));
    });
  });

  it.each([
    ['a method ARN', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/v1/orders/42', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*'],
    ['a root-path method ARN', 'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/v1/GET/', 'arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/v1/*/*'],
    ['an ARN without a method', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod'],
    ['a wildcard stage', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/x', 'arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/x'],
    ['something else', 'not-an-arn', 'not-an-arn'],
  ])('stageArn widens %s to its stage, or leaves it as it is', (_what, methodArn, expected) => {
    expect(stageArn(methodArn)).toBe(expected);
  });

  it('headerValue ignores case and tolerates missing headers', () => {
    expect(headerValue({ 'X-Foo': '1', 'attestor-token': 't' }, 'Attestor-Token')).toBe('t');
    expect(headerValue(null, 'Attestor-Token')).toBeUndefined();
    expect(headerValue({}, 'Attestor-Token')).toBeUndefined();
  });
});

describe('demo-hello handler', () => {
  it('echoes appId and did from the authorizer context', async () => {
    // Prepare
    const event = restEvent({ resource: '/demo/hello', path: '/demo/hello', httpMethod: 'GET', body: null });
    const withContext: APIGatewayProxyEvent = {
      ...event,
      requestContext: { ...event.requestContext, authorizer: { principalId: 'did-1', appId: APP_ID, did: 'did-1', appVersion: VERSION, jti: 'j' } },
    };
    // Act
    const result = await demoHelloHandler(new RecordingLogger())(withContext);
    // Assess
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ hello: 'attested app', appId: APP_ID, did: 'did-1' });
  });

  it('echoes nothing when there is no authorizer context', async () => {
    const event = restEvent({ body: null });
    const result = await demoHelloHandler(new RecordingLogger())({ ...event, requestContext: { ...event.requestContext, authorizer: null } });
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ hello: 'attested app' });
  });
});

describe('register handler', () => {
  const UPLOAD_1 = 'upload-aaaaaaaaaaaaaaa1';
  const UPLOAD_2 = 'upload-aaaaaaaaaaaaaaa2';
  const VERSION_WITH_PLUS = '1.0.0+build.7';

  function setup() {
    const registry = new MemoryRegistry();
    const builds = new MemoryBuildStore();
    const clock = new ManualClock();
    const deps: RegistrationDeps = { ...registryPorts(registry), builds, clock, maxBuildBytes: 1024 };
    registry.apps.set(APP_ID, { appId: APP_ID, tenantId: TENANT, createdAt: clock.now });
    const log = new RecordingLogger();
    const upload = (uploadId: string, version: string, bytes?: Uint8Array) => {
      const objectKey = buildObjectKey({ appId: APP_ID, version, uploadId });
      void registry.uploadStore.putUpload({ uploadId, appId: APP_ID, version, objectKey, status: 'pending', createdAt: clock.now });
      if (bytes) builds.objects.set(objectKey, bytes);
      return objectKey;
    };
    return { registry, builds, deps, log, upload, handler: registerHandler(deps, log) };
  }

  /** The fixture's S3 event with one record per (already URL-encoded) key. */
  function s3Event(...encodedKeys: string[]): S3Event {
    const event = fixture<S3Event>('s3-event.json');
    const record = event.Records[0]!;
    return { Records: encodedKeys.map((key) => ({ ...record, s3: { ...record.s3, object: { ...record.s3.object, key } } })) };
  }

  it('decodes keys the way S3 encodes them: %2B is +, + is a space', () => {
    expect(decodeS3EventKey('builds/a.b/1.0.0%2Bbuild.7/u')).toBe('builds/a.b/1.0.0+build.7/u');
    expect(decodeS3EventKey('my+file%20name')).toBe('my file name');
    expect(decodeS3EventKey('plain/key')).toBe('plain/key');
  });

  it('registers a build whose version contains + (delivered as %2B)', async () => {
    // Prepare
    const { handler, upload, registry, log } = setup();
    const objectKey = upload(UPLOAD_1, VERSION_WITH_PLUS, Buffer.from('build'));
    // Act
    await handler(s3Event(objectKey.replace('+', '%2B')));
    // Assess
    expect((await registry.registrationStore.getRegistration(APP_ID, VERSION_WITH_PLUS))?.objectKey).toBe(objectKey);
    expect(log.events()).toEqual(['info:build_registered']);
    expect(log.entries[0]?.fields).toMatchObject({ objectKey, appId: APP_ID, version: VERSION_WITH_PLUS, size: 5 });
  });

  it('treats a literal + in the event as a space, which no build key contains: rejected, not thrown', async () => {
    const { handler, upload, registry, log } = setup();
    const objectKey = upload(UPLOAD_1, VERSION_WITH_PLUS, Buffer.from('build'));
    await handler(s3Event(objectKey));
    expect(registry.registrations.size).toBe(0);
    expect(log.entries).toEqual([
      { level: 'warn', event: 'build_rejected', fields: { objectKey: objectKey.replace('+', ' '), reason: 'unknown_key' } },
    ]);
  });

  it('logs a redelivery as unchanged', async () => {
    const { handler, upload, log } = setup();
    const objectKey = upload(UPLOAD_1, '1.0.0', Buffer.from('build'));
    await handler(s3Event(objectKey));
    await handler(s3Event(objectKey));
    expect(log.events()).toEqual(['info:build_registered', 'warn:build_unchanged']);
  });

  it('throws an AggregateError when a record fails, after processing the others', async () => {
    // Prepare: the first record's object is missing from the store, the second is fine.
    const { handler, upload, registry, log } = setup();
    const missing = upload(UPLOAD_1, '1.0.0');
    const present = upload(UPLOAD_2, '2.0.0', Buffer.from('build'));
    // Act
    const error = await handler(s3Event(missing, present)).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).message).toBe('1 build(s) failed to register: Error');
    expect((error as AggregateError).errors).toHaveLength(1);
    expect(((error as AggregateError).errors[0] as Error).message).toBe(`no object ${missing}`);
    expect(await registry.registrationStore.getRegistration(APP_ID, '2.0.0')).toBeDefined();
    expect(log.events()).toEqual(['error:register_failed', 'info:build_registered']);
  });

  it('counts a key with broken percent-encoding as a failed record without stopping the others', async () => {
    // Prepare
    const { handler, upload, registry } = setup();
    const present = upload(UPLOAD_2, '2.0.0', Buffer.from('build'));
    // Act
    const error = await handler(s3Event('builds/%E0%A4%A', present)).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors[0]).toBeInstanceOf(URIError);
    expect(await registry.registrationStore.getRegistration(APP_ID, '2.0.0')).toBeDefined();
  });

  it('resolves when every record succeeds or is rejected', async () => {
    const { handler, upload } = setup();
    const ok = upload(UPLOAD_1, '1.0.0', Buffer.from('build'));
    await expect(handler(s3Event(ok, 'HappyFace.jpg'))).resolves.toBeUndefined();
  });
});

describe('admin handler', () => {
  function setup(initialTenant: string | null = TENANT) {
    const registry = new MemoryRegistry();
    const clock = new ManualClock();
    const ensured: string[] = [];
    const jwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'kid-1', alg: 'ES256', use: 'sig' };
    const keys: TenantKeyManager = {
      ensureSigningKey: async (tenantId) => {
        ensured.push(tenantId);
      },
      jwks: async () => ({ keys: [jwk] }),
      rotateSigningKey: async () => ({ kid: 'kid-2', format: 'hs256', activatesAt: clock.now + 60, keysDeleted: [], keysNotDeleted: [] }),
      wrappedSecrets: async () => ({ keys: [] }),
      describeKeys: async () => [],
    };
    const issued: [string, number][] = [];
    const uploads: UploadUrlIssuer = {
      issue: async (objectKey, size) => {
        issued.push([objectKey, size]);
        return { url: `https://s3.example/${objectKey}?sig`, expiresAt: clock.now + 900 };
      },
      issueMultipart: async () => {
        throw new Error('not used here');
      },
      completeMultipart: async () => {
        throw new Error('not used here');
      },
    };
    let n = 0;
    const caller = { tenant: initialTenant };
    const deps: AdminDeps = {
      ...registryPorts(registry),
      keys,
      uploadUrls: uploads,
      clock,
      random: { bytes: (size) => Buffer.alloc(size, ++n) },
      maxBuildBytes: 1000,
      defaultTenantId: TENANT,
      callerOf: async () => (caller.tenant === null ? undefined : {
        principal: `arn:aws:iam::123456789012:user/${caller.tenant}`,
        tenantId: caller.tenant,
        operator: false,
        role: 'admin',
      }),
    };
    const log = new RecordingLogger();
    return { registry, clock, ensured, issued, jwk, caller, handler: routedAdminHandler(deps, log), keysHandler: adminKeysHandler(deps, log) };
  }
  const route = (httpMethod: string, resource: string, pathParameters: Record<string, string> | null, text: string | null = null) =>
    restEvent({ httpMethod, resource, path: resource, pathParameters, body: text, isBase64Encoded: false });
  const createUpload = (appId: string, payload: unknown) => route('POST', '/v1/admin/apps/{appId}/uploads', { appId }, JSON.stringify(payload));

  it('forbids a caller without a tenant, reading nothing', async () => {
    const { handler, registry } = setup(null);
    const spy = jest.spyOn(registry.appStore, 'ensureApp');
    const result = await handler(createUpload(APP_ID, { version: '1.0.0', size: 10 }));
    expect(result.statusCode).toBe(403);
    expect(body(result)).toEqual({ error: 'forbidden', message: 'this credential has no access to any tenant' });
    expect(spy).not.toHaveBeenCalled();
  });

  it('creates an upload: app, signing key, pending record and URL', async () => {
    // Act
    const { handler, registry, ensured, issued, clock } = setup();
    const result = await handler(createUpload(APP_ID, { version: '1.0.0+b1', size: 10, expireAfterSeconds: 3600, note: 'rc' }));
    // Assess
    expect(result.statusCode).toBe(201);
    const json = body(result);
    const uploadId = Buffer.alloc(16, 1).toString('base64url');
    const objectKey = `builds/${APP_ID}/1.0.0+b1/${uploadId}`;
    expect(json).toEqual({ uploadId, objectKey, uploadUrl: `https://s3.example/${objectKey}?sig`, urlExpiresAt: clock.now + 900 });
    expect(registry.apps.get(APP_ID)?.tenantId).toBe(TENANT);
    expect(ensured).toEqual([TENANT]);
    expect(issued).toEqual([[objectKey, 10]]);
    expect(registry.uploads.get(uploadId)).toMatchObject({ status: 'pending', version: '1.0.0+b1', expireAfterSeconds: 3600, note: 'rc' });
  });

  it.each([
    [{ size: 10 }, 'version', 'version is required'],
    [{ version: '1.0.0' }, 'size', 'size is required'],
    [{ version: '1.0.0', size: 0 }, 'size', 'size must be at least 1 byte (empty builds cannot be registered)'],
    [{ version: '1.0.0', size: 1001 }, 'size', 'size must be at most 1000 bytes'],
    [{ version: '1.0.0', size: 1.5 }, 'size', 'size must be a whole number of bytes'],
    [{ version: '../x', size: 1 }, 'version', 'version may contain only letters, digits and . _ + -'],
  ])('answers 400 to %j', async (payload, field, message) => {
    const { handler } = setup();
    const result = await handler(createUpload(APP_ID, payload));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({ error: 'invalid_request', field, message });
  });

  it('answers 400 to a bad appId in the path', async () => {
    const { handler } = setup();
    const result = await handler(createUpload('not-an-app', { version: '1.0.0', size: 1 }));
    expect(result.statusCode).toBe(400);
    expect(body(result)).toMatchObject({ field: 'appId' });
  });

  it('answers 409 when the app belongs to another tenant', async () => {
    const { handler, registry } = setup();
    registry.apps.set(APP_ID, { appId: APP_ID, tenantId: 'tenant-b', createdAt: 0 });
    const result = await handler(createUpload(APP_ID, { version: '1.0.0', size: 1 }));
    expect(result.statusCode).toBe(409);
    expect(body(result)).toEqual({ error: 'conflict', message: `app ${APP_ID} belongs to another tenant` });
    expect(registry.uploads.size).toBe(0);
  });

  it('shows an upload with its registration to its tenant only', async () => {
    // Prepare
    const { handler, registry, caller } = setup();
    const created = body(await handler(createUpload(APP_ID, { version: '1.0.0', size: 5 })));
    const uploadId = created['uploadId'] as string;
    await registry.uploadStore.settleUpload(uploadId, { status: 'registered', sha256: 'ab', size: 5 });
    await registry.registrationStore.putRegistrationIfAbsent({
      appId: APP_ID,
      version: '1.0.0',
      sha256: 'ab',
      size: 5,
      objectKey: created['objectKey'] as string,
      registeredAt: 1,
    });
    // Act
    const mine = await handler(route('GET', '/v1/admin/uploads/{uploadId}', { uploadId }));
    caller.tenant = 'tenant-b';
    const theirs = await handler(route('GET', '/v1/admin/uploads/{uploadId}', { uploadId }));
    const unknown = await handler(route('GET', '/v1/admin/uploads/{uploadId}', { uploadId: 'nope' }));
    // Assess
    expect(mine.statusCode).toBe(200);
    expect(body(mine)).toMatchObject({ uploadId, status: 'registered', registration: { sha256: 'ab' } });
    expect([theirs.statusCode, unknown.statusCode]).toEqual([404, 404]);
    expect(body(theirs)).toEqual({ error: 'not_found', message: `no upload ${uploadId} in tenant tenant-b` });
  });

  it('serves the tenant JWKS', async () => {
    const { handler, jwk } = setup();
    const result = await handler(route('GET', '/v1/admin/keys/jwks', null));
    expect(result.statusCode).toBe(200);
    expect(body(result)).toEqual({ keys: [jwk] });
  });

  it('answers 404 for a route its function does not serve', async () => {
    const { keysHandler } = setup();
    // API Gateway sends a function only its own routes; a mismatch must still not run another route.
    const result = await keysHandler(route('DELETE', '/v1/admin/keys/jwks', null));
    expect(result.statusCode).toBe(404);
    expect(body(result)).toEqual({ error: 'not_found', message: 'no admin route DELETE /v1/admin/keys/jwks' });
  });
});
