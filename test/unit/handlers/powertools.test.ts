/**
 * The functions' logs and metrics through Powertools (composition/powertools.ts), read back from
 * stdout as CloudWatch Logs would: log lines with the invocation's context and correlation id and
 * nothing secret, and EMF documents whose namespace, metrics and dimension sets are exactly those
 * @attestor/contracts/metrics names for the dashboard and the alarms.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { DIMENSION_SETS, METRIC, METRICS_NAMESPACE } from '../../../packages/contracts/src/metrics';
import { DependencyUnavailableError } from '../../../packages/service/src/core/errors';
import { attestationCounts, correlationIdOf, powertools } from '../../../packages/service/src/composition/powertools';
import { attestHandler } from '../../../packages/service/src/handlers/attest';
import { challengeHandler } from '../../../packages/service/src/handlers/challenge';
import { registerHandler } from '../../../packages/service/src/handlers/register';
import { buildObjectKey, type RegistrationDeps } from '../../../packages/service/src/core/registration';
import { ManualClock, MemoryBuildStore, MemoryRegistry, registryPorts } from '../../support/memory';
import { APP_ID, TENANT, genuineRequest, makeWorld } from '../core/helpers';

const fixture = JSON.parse(readFileSync(join(__dirname, '..', '..', 'fixtures', 'apigw-request.json'), 'utf8')) as APIGatewayProxyEvent;
const post = (path: string, body: unknown): APIGatewayProxyEvent => ({ ...fixture, resource: path, path, httpMethod: 'POST', body: JSON.stringify(body) });

const context = (requestId: string): Context =>
  ({
    functionName: 'attestor-attest',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:attestor-attest',
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/attestor-attest',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

type Line = Record<string, unknown> & { _aws?: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } };

/** Everything written to stdout and stderr (Powertools writes warnings and errors there) while `fn` runs, one parsed JSON object per line. */
async function stdoutOf(fn: () => Promise<unknown>): Promise<{ lines: Line[]; raw: string }> {
  let raw = '';
  const capture = (chunk: string | Uint8Array) => {
    raw += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const lines = raw
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
  return { lines, raw };
}

const emf = (lines: Line[], metric: string) => lines.filter((l) => l._aws?.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === metric));

// As Lambda sets it for an on-demand container: Powertools reports a cold start only then.
beforeAll(() => {
  process.env['AWS_LAMBDA_INITIALIZATION_TYPE'] = 'on-demand';
});
afterAll(() => {
  delete process.env['AWS_LAMBDA_INITIALIZATION_TYPE'];
});

describe('Powertools logs and metrics', () => {
  it('logs the verdict with request id, cold start and correlation id, and counts it under the dimension sets the dashboard reads', async () => {
    // Prepare
    const world = makeWorld();
    const observability = powertools('attest', { env: {}, attestations: attestationCounts });
    const handler = observability.instrument(attestHandler(world.deps, observability.log, observability.metrics));
    const request = await genuineRequest(world);
    const event = post('/v1/attest', request);
    // Act
    const { lines, raw } = await stdoutOf(() => handler(event, context('req-1')));
    // Assess: no Powertools warning about the dimension sets sharing keys
    expect(lines.filter((l) => l['level'] === 'WARN')).toEqual([]);
    // Assess: the log line
    const logged = lines.find((l) => l['message'] === 'attestation')!;
    expect(logged).toMatchObject({
      level: 'INFO',
      service: 'attestor',
      function: 'attest',
      event: 'attestation',
      function_request_id: 'req-1',
      cold_start: true,
      correlation_id: correlationIdOf(event),
      appId: APP_ID,
      tenantId: TENANT,
      outcome: 'pass',
    });
    expect(correlationIdOf(event)).toEqual(expect.any(String));
    // ...nothing secret on any line
    for (const secret of [request.nonce, request.installProof, request.measurement]) expect(raw).not.toContain(secret);
    // Assess: the metric, exactly as contracts/metrics.ts names it, and no Powertools `service` dimension
    const [doc] = emf(lines, METRIC.attestations);
    expect(doc!._aws!.CloudWatchMetrics).toEqual([
      { Namespace: METRICS_NAMESPACE, Dimensions: DIMENSION_SETS.attestations, Metrics: [{ Name: METRIC.attestations, Unit: 'Count' }] },
    ]);
    expect(doc).toMatchObject({ Outcome: 'pass', Token: 'genuine', Tenant: TENANT, App: APP_ID, Attestations: 1 });
    expect(doc).not.toHaveProperty('service');
  });

  it('counts a decoy under its failure family, a replayed nonce with its tenant and app, and names an unregistered app by a fixed value', async () => {
    // Prepare
    const world = makeWorld();
    const observability = powertools('attest', { env: {}, attestations: attestationCounts });
    const handler = observability.instrument(attestHandler(world.deps, observability.log, observability.metrics));
    const tampered = { ...(await genuineRequest(world)), appVersion: '9.9.9' };
    const replayed = await genuineRequest(world);
    const stranger = await genuineRequest(world, { appId: 'com.made.up' });
    // Act
    const { lines } = await stdoutOf(async () => {
      await handler(post('/v1/attest', tampered), context('req-2'));
      await handler(post('/v1/attest', replayed), context('req-3'));
      expect((await handler(post('/v1/attest', replayed), context('req-4'))).statusCode).toBe(409);
      await handler(post('/v1/attest', stranger), context('req-5'));
    });
    // Assess
    const counted = emf(lines, METRIC.attestations).map((d) => [d['Outcome'], d['Token'], d['App']]);
    expect(counted).toEqual([
      ['fail_build', 'decoy', APP_ID],
      ['pass', 'genuine', APP_ID],
      ['fail_build', 'decoy', '~unregistered'],
    ]);
    const replays = emf(lines, METRIC.nonceInvalid);
    expect(replays).toHaveLength(1);
    expect(replays[0]!._aws!.CloudWatchMetrics[0]!.Dimensions).toEqual(DIMENSION_SETS.nonceInvalid);
    expect(replays[0]).toMatchObject({ Function: 'attest', Tenant: TENANT, App: APP_ID, NonceInvalid: 1 });
    // Only the first invocation of a container is a cold start.
    expect(lines.filter((l) => l['message'] === 'attestation').map((l) => l['cold_start'])).toEqual([true, false, false]);
  });

  it("counts a dependency's refusal by function and the error's code", async () => {
    // Prepare
    const world = makeWorld();
    const observability = powertools('challenge', { env: {} });
    const throttled = () => Promise.reject(new DependencyUnavailableError('x', { code: 'dynamodb_throttled' }));
    const failing = { ...world.deps, nonces: { ...world.deps.nonces, put: throttled } };
    const handler = observability.instrument(challengeHandler(failing, observability.log, observability.metrics));
    // Act
    const { lines } = await stdoutOf(async () => expect((await handler(post('/v1/challenge', { appId: APP_ID }), context('req-6'))).statusCode).toBe(503));
    // Assess
    const [doc] = emf(lines, METRIC.dependencyUnavailable);
    expect(doc!._aws!.CloudWatchMetrics[0]!.Dimensions).toEqual(DIMENSION_SETS.dependencyUnavailable);
    expect(doc).toMatchObject({ Function: 'challenge', Dependency: 'dynamodb_throttled', DependencyUnavailable: 1 });
    expect(lines.find((l) => l['message'] === 'dependency_unavailable')).toMatchObject({ level: 'WARN', code: 'dynamodb_throttled' });
  });

  it('counts registrations by outcome, and by tenant and app where the object is an upload; a stray object by outcome alone', async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const builds = new MemoryBuildStore();
    const clock = new ManualClock();
    const deps: RegistrationDeps = { ...registryPorts(registry), builds, clock, maxBuildBytes: 1024 };
    registry.apps.set(APP_ID, { appId: APP_ID, tenantId: TENANT, createdAt: clock.now });
    const uploadId = 'upload-aaaaaaaaaaaaaaa1';
    const objectKey = buildObjectKey({ appId: APP_ID, version: '1.0.0', uploadId });
    await registry.uploadStore.putUpload({ uploadId, appId: APP_ID, version: '1.0.0', objectKey, status: 'pending', createdAt: clock.now, tenantId: TENANT });
    builds.objects.set(objectKey, Buffer.from('build'));
    const observability = powertools('register', { env: {} });
    const handler = registerHandler(deps, observability.log, observability.metrics);
    const record = (key: string) => ({ eventTime: '2026-01-01T00:00:00Z', s3: { object: { key, sequencer: '01' } } });
    // Act
    const { lines } = await stdoutOf(() => handler({ Records: [record(objectKey), record(objectKey), record('stray/object')] } as never));
    // Assess
    const docs = emf(lines, METRIC.registrations);
    expect(docs.map((d) => [d['Outcome'], d['Tenant'], d['App'], d._aws!.CloudWatchMetrics[0]!.Dimensions])).toEqual([
      ['registered', TENANT, APP_ID, DIMENSION_SETS.registrations],
      ['unchanged', TENANT, APP_ID, DIMENSION_SETS.registrations],
      ['rejected', undefined, undefined, [DIMENSION_SETS.registrations[0]]],
    ]);
  });

  it("counts the authorizer's verdicts: allowed with the token's app, would-deny in monitor mode, denied by reason", async () => {
    // Prepare
    const observability = powertools('authorizer', { tenantId: TENANT, env: {} });
    // Act
    const { lines } = await stdoutOf(async () => {
      observability.metrics.record({ result: 'valid', code: 'valid', mode: 'enforce', appId: APP_ID });
      observability.metrics.record({ result: 'invalid', code: 'expired', mode: 'monitor' });
      observability.metrics.record({ result: 'missing', code: 'missing', mode: 'enforce' });
      observability.metrics.record({ result: 'invalid', code: 'verifier_error', mode: 'enforce' });
    });
    // Assess
    const docs = emf(lines, METRIC.tokenVerdicts);
    for (const d of docs) expect(d._aws!.CloudWatchMetrics[0]!.Dimensions).toEqual(DIMENSION_SETS.tokenVerdicts);
    expect(docs.map((d) => [d['Verdict'], d['Reason'], d['Tenant'], d['App']])).toEqual([
      ['allowed', 'valid', TENANT, APP_ID],
      ['would_deny', 'expired', TENANT, '~unregistered'],
      ['denied', 'missing', TENANT, '~unregistered'],
      ['unavailable', 'verifier_error', TENANT, '~unregistered'],
    ]);
  });
});
