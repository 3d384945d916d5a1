/**
 * A valid request for every route of src/routes.ts against a running local cloud, so that a test can
 * send each route what a genuine client would and look at what comes back: the fault matrix
 * (test/faults/) and the HTTP fuzzing (test/fuzz/). `prepare` arranges what the request needs (a
 * fresh nonce, an app to delete, an upload to look at) without faults; the `send` it returns sends
 * the same request each time it is called, so a test can repeat it once a fault is gone.
 */
import { randomBytes } from 'node:crypto';
import type { LocalCloud } from '../../packages/local/src/cloud';
import { ROUTES } from '../../packages/contracts/src/routes';
import { registerBuildForTest, signedAdminFetch } from './local-admin';
import { attestBody, newInstallKey, post } from './protocol-client';

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

export type Send = () => Promise<Answer>;

export interface RouteFixture {
  /** Arranges what the request needs; the returned function sends it (again and again). */
  prepare(): Promise<Send>;
  /** Status of a successful answer; 'baseline' when the route answers its normal 4xx for this request. */
  readonly ok: number;
}

export interface FixtureWorld {
  readonly cloud: Pick<LocalCloud, 'endpoint' | 'adminCredentials' | 'settled'> & Parameters<typeof registerBuildForTest>[0];
  /** An app with a registered build of `version`. */
  readonly appId: string;
  readonly version: string;
  readonly build: Uint8Array;
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, headers: res.headers, text: await res.text() };
}

let counter = 0;
/** Unique within a run and across runs on one data directory. */
export const fresh = (prefix: string) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;

export function routeFixtures(world: FixtureWorld): Readonly<Record<string, RouteFixture>> {
  const { cloud, appId, version } = world;
  const admin = (method: string, path: string, body?: unknown): Send => async () => answer(await signedAdminFetch(cloud, method, path, body));
  const fixed = (send: Send, ok: number): RouteFixture => ({ prepare: async () => send, ok });
  const must = async (send: Send, status: number): Promise<Answer> => {
    const a = await send();
    if (a.status !== status) throw new Error(`fixture setup answered ${a.status}, not ${status}: ${a.text.slice(0, 200)}`);
    return a;
  };
  const newApp = async (): Promise<string> => {
    const id = fresh('com.example.fx');
    await must(admin('POST', '/v1/admin/apps', { appId: id }), 201);
    return id;
  };
  const newUpload = async (): Promise<string> => {
    const a = await must(admin('POST', `/v1/admin/apps/${appId}/uploads`, { version: fresh('9.'), size: 1024 }), 201);
    return (JSON.parse(a.text) as { uploadId: string }).uploadId;
  };
  const attestRequest = async (extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const challenge = await post(cloud.endpoint, '/v1/challenge', { appId });
    if (challenge.status !== 200) throw new Error(`challenge answered ${challenge.status}`);
    return attestBody({ nonce: challenge.body['nonce'] as string, appId, appVersion: version, packageBytes: world.build, key: newInstallKey(), extra });
  };
  const publicPost = (path: string, body: unknown): Send => async () =>
    answer(await fetch(`${cloud.endpoint}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));

  const fixtures: Record<string, RouteFixture> = {
    'POST /v1/challenge': fixed(publicPost('/v1/challenge', { appId }), 200),
    'POST /v1/attest': { prepare: async () => publicPost('/v1/attest', await attestRequest()), ok: 200 },
    'GET /demo/hello': {
      prepare: async () => {
        const attested = await must(publicPost('/v1/attest', await attestRequest()), 200);
        const { token } = JSON.parse(attested.text) as { token: string };
        return async () => answer(await fetch(`${cloud.endpoint}/demo/hello`, { headers: { 'Attestor-Token': token } }));
      },
      ok: 200,
    },
    'GET /v1/admin/tenants': fixed(admin('GET', '/v1/admin/tenants'), 200),
    'POST /v1/admin/tenants': { prepare: async () => admin('POST', '/v1/admin/tenants', { tenantId: fresh('t') }), ok: 201 },
    'POST /v1/admin/tenants/{tenantId}/principals': {
      // A new principal each time: granting a role to one already mapped answers 200, not 201.
      prepare: async () => admin('POST', '/v1/admin/tenants/default/principals', { principal: `arn:aws:iam::123456789012:role/${fresh('fx')}`, role: 'read' }),
      ok: 201,
    },
    'POST /v1/admin/tenants/{tenantId}/principals/revoke': {
      // A principal granted for it each time, so each revocation has a role to take away.
      prepare: async () => {
        const principal = `arn:aws:iam::123456789012:role/${fresh('rv')}`;
        await must(admin('POST', '/v1/admin/tenants/default/principals', { principal, role: 'read' }), 201);
        return admin('POST', '/v1/admin/tenants/default/principals/revoke', { principal });
      },
      ok: 200,
    },
    'GET /v1/admin/apps': fixed(admin('GET', '/v1/admin/apps'), 200),
    'POST /v1/admin/apps': { prepare: async () => admin('POST', '/v1/admin/apps', { appId: fresh('com.example.new') }), ok: 201 },
    'DELETE /v1/admin/apps/{appId}': { prepare: async () => admin('DELETE', `/v1/admin/apps/${await newApp()}`), ok: 200 },
    'POST /v1/admin/apps/{appId}/uploads': {
      prepare: async () => admin('POST', `/v1/admin/apps/${appId}/uploads`, { version: fresh('8.'), size: 2048 }),
      ok: 201,
    },
    'GET /v1/admin/uploads/{uploadId}': { prepare: async () => admin('GET', `/v1/admin/uploads/${await newUpload()}`), ok: 200 },
    // A single-PUT upload has no parts to complete: the route answers its 409, after reading the upload.
    'POST /v1/admin/uploads/{uploadId}/complete': {
      prepare: async () => admin('POST', `/v1/admin/uploads/${await newUpload()}/complete`, { parts: [{ partNumber: 1, etag: '"0123456789abcdef"' }] }),
      ok: 409,
    },
    'GET /v1/admin/registrations/failures': fixed(admin('GET', '/v1/admin/registrations/failures'), 200),
    'POST /v1/admin/registrations/failures/retry': fixed(admin('POST', '/v1/admin/registrations/failures/retry', {}), 200),
    'POST /v1/admin/registrations/failures/clear': fixed(admin('POST', '/v1/admin/registrations/failures/clear', { ids: [fresh('x')] }), 200),
    'GET /v1/admin/apps/{appId}/registrations': fixed(admin('GET', `/v1/admin/apps/${appId}/registrations`), 200),
    'DELETE /v1/admin/apps/{appId}/registrations/{version}': {
      prepare: async () => {
        const doomed = fresh('7.');
        await registerBuildForTest(cloud, { appId, version: doomed, bytes: randomBytes(64) });
        return admin('DELETE', `/v1/admin/apps/${appId}/registrations/${doomed}`);
      },
      ok: 200,
    },
    'POST /v1/admin/apps/{appId}/registrations/{version}/expire': fixed(
      admin('POST', `/v1/admin/apps/${appId}/registrations/${version}/expire`, { afterSeconds: 30 * 86400 }),
      200,
    ),
    'GET /v1/admin/apps/{appId}/identity': fixed(admin('GET', `/v1/admin/apps/${appId}/identity`), 200),
    'PUT /v1/admin/apps/{appId}/identity': fixed(admin('PUT', `/v1/admin/apps/${appId}/identity`, { ios: { teamId: 'ABCDE12345', bundleId: appId } }), 200),
    'GET /v1/admin/apps/{appId}/policy': fixed(admin('GET', `/v1/admin/apps/${appId}/policy`), 200),
    'PUT /v1/admin/apps/{appId}/policy': fixed(
      admin('PUT', `/v1/admin/apps/${appId}/policy`, { reject: { rooted: true, emulator: false, debugger: false, hooked: true } }),
      200,
    ),
    'GET /v1/admin/apps/{appId}/devices': fixed(admin('GET', `/v1/admin/apps/${appId}/devices`), 200),
    'POST /v1/admin/apps/{appId}/devices': {
      prepare: async () => admin('POST', `/v1/admin/apps/${appId}/devices`, { did: randomBytes(32).toString('base64url'), note: 'fixture' }),
      ok: 201,
    },
    'DELETE /v1/admin/apps/{appId}/devices/{deviceId}': {
      prepare: async () => {
        const did = randomBytes(32).toString('base64url');
        await must(admin('POST', `/v1/admin/apps/${appId}/devices`, { did }), 201);
        return admin('DELETE', `/v1/admin/apps/${appId}/devices/${did}`);
      },
      ok: 200,
    },
    'GET /v1/admin/keys': fixed(admin('GET', '/v1/admin/keys'), 200),
    'POST /v1/admin/keys/rotate': fixed(admin('POST', '/v1/admin/keys/rotate', {}), 201),
    'GET /v1/admin/keys/jwks': fixed(admin('GET', '/v1/admin/keys/jwks'), 200),
    'GET /v1/admin/keys/secrets': fixed(admin('GET', '/v1/admin/keys/secrets'), 200),
    'POST /v1/admin/tokens/test': fixed(admin('POST', '/v1/admin/tokens/test', { appId }), 201),
    'GET /v1/admin/tokens/test/secrets': fixed(admin('GET', '/v1/admin/tokens/test/secrets'), 200),
    'POST /v1/admin/tokens/test/rotate': fixed(admin('POST', '/v1/admin/tokens/test/rotate', {}), 201),
    'GET /v1/admin/log': fixed(admin('GET', `/v1/admin/log?appId=${appId}&limit=5`), 200),
    'GET /v1/admin/stats': fixed(admin('GET', `/v1/admin/stats?appId=${appId}`), 200),
  };
  // Every route has a fixture, and no fixture names a route that does not exist.
  const routeKeys = ROUTES.map((r) => `${r.method} ${r.path}`).sort();
  const fixtureKeys = Object.keys(fixtures).sort();
  if (JSON.stringify(routeKeys) !== JSON.stringify(fixtureKeys)) {
    throw new Error(`route fixtures out of date: routes ${routeKeys.filter((k) => !fixtureKeys.includes(k)).join(', ')} have none; ` +
      `${fixtureKeys.filter((k) => !routeKeys.includes(k)).join(', ')} are not routes`);
  }
  return fixtures;
}
