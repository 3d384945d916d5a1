/**
 * GET /v1/admin/stats with include=authorizer when the authorizer's verdicts cannot be read (in AWS
 * they come from CloudWatch, another store than the attestation counts): the answer keeps the
 * attestation counts and series and says why the verdicts are missing, rather than failing whole.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DependencyUnavailableError } from '../../../packages/service/src/core/errors';
import type { AuthorizerVerdictCounts } from '../../../packages/service/src/core/ports';
import type { AdminDeps } from '../../../packages/service/src/handlers/admin';
import type { Logger } from '../../../packages/service/src/handlers/log';
import { resolveAdminCaller } from '../../../packages/service/src/core/tenancy';
import { ManualClock, MemoryRegistry, registryPorts } from '../../support/memory';
import { routedAdminHandler } from './admin-routing';

const ADMIN = 'arn:aws:iam::123456789012:role/AcmeDeployer';

function statsEvent(): APIGatewayProxyEvent {
  const sample = JSON.parse(readFileSync(join(__dirname, '../../fixtures/apigw-request.json'), 'utf8')) as APIGatewayProxyEvent;
  return {
    ...sample,
    httpMethod: 'GET',
    resource: '/v1/admin/stats',
    path: '/v1/admin/stats',
    pathParameters: null,
    queryStringParameters: { series: 'minute', windowSeconds: '600', include: 'authorizer' },
    body: null,
    requestContext: { ...sample.requestContext, identity: { ...sample.requestContext.identity, userArn: ADMIN } },
  };
}

function world(verdicts: AuthorizerVerdictCounts) {
  const registry = new MemoryRegistry();
  registry.principals.set(ADMIN, { principal: ADMIN, tenantId: 'acme', operator: false, role: 'admin' });
  registry.tenants.set('acme', { tenantId: 'acme', createdAt: 1 });
  registry.apps.set('com.acme.app', { appId: 'com.acme.app', tenantId: 'acme', createdAt: 1 });
  const warnings: Array<{ event: string; fields: unknown }> = [];
  const log: Logger = { info: () => {}, error: () => {}, warn: (event, fields) => warnings.push({ event, fields }) };
  const deps = {
    ...registryPorts(registry),
    clock: new ManualClock(),
    random: { bytes: (n: number) => Buffer.alloc(n, 9) },
    maxBuildBytes: 1024,
    defaultTenantId: 'default',
    authorizerVerdicts: verdicts,
    // No attestations in the window: the log answers empty counts and an empty series.
    log: {
      summarize: async () => ({ total: 0, byOutcome: { pass: 0, fail: 0, debug: 0, allowlisted: 0 }, byReason: {} }),
      seriesByMinute: async () => [],
    },
    callerOf: (e: APIGatewayProxyEvent) =>
      resolveAdminCaller({ directory: registry.directory, operatorPrincipals: new Set(), defaultTenantId: 'default' }, e.requestContext?.identity?.userArn),
  } as unknown as AdminDeps;
  return { handler: routedAdminHandler(deps, log), warnings };
}

describe('stats with include=authorizer', () => {
  test('a throttled verdict store leaves the attestation counts and series, and says why the verdicts are missing', async () => {
    // Prepare
    const { handler, warnings } = world({
      verdictsByMinute: async () => {
        throw new DependencyUnavailableError('CloudWatch GetMetricData throttled', { retryAfterSeconds: 3, code: 'throttled' });
      },
    });
    // Act
    const res = await handler(statsEvent());
    // Assess
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(res.statusCode).toBe(200);
    expect(body).toMatchObject({
      total: 0,
      series: { bucketSeconds: 60, points: [] },
      authorizerUnavailable: { error: 'service_unavailable', retryAfterSeconds: 3 },
    });
    expect(body).not.toHaveProperty('authorizer');
    expect(warnings).toEqual([{ event: 'authorizer_verdicts_unavailable', fields: { code: 'throttled', reason: 'CloudWatch GetMetricData throttled' } }]);
  });

  test('a readable store gives its verdicts and nothing about unavailability', async () => {
    const { handler } = world({ verdictsByMinute: async () => [{ time: 60, appId: 'com.acme.app', counts: { allowed: 2 } }] });
    const res = await handler(statsEvent());
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body['authorizer']).toEqual({ bucketSeconds: 60, points: [{ time: 60, appId: 'com.acme.app', counts: { allowed: 2 } }] });
    expect(body).not.toHaveProperty('authorizerUnavailable');
  });

  test('any other failure of the store is not dressed up as a partial answer', async () => {
    const { handler } = world({
      verdictsByMinute: async () => {
        throw new Error('a bug');
      },
    });
    expect((await handler(statsEvent())).statusCode).toBe(500);
  });
});
