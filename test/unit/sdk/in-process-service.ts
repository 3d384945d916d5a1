/**
 * An in-process Attestor service for SDK unit tests: the real core and the real HTTP handlers
 * (issueChallenge/attest behind challengeHandler/attestHandler), reached through the client's
 * `fetch` option. Only the ports are fakes (test/support/memory.ts). Requests to any other origin
 * go to the test's `api` handler, standing in for the app's own backend.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { cryptoRandom, newDecoySecret, type AttestationDeps } from '../../../packages/service/src/core/attestation';
import type { TokenClaims } from '../../../packages/contracts/src/protocol';
import { verifyTokenWithKeys } from '../../../packages/verify/src/core/verify';
import { attestHandler } from '../../../packages/service/src/handlers/attest';
import { challengeHandler } from '../../../packages/service/src/handlers/challenge';
import { silentLogger } from '../../../packages/service/src/handlers/log';
import {
  AttestorClient,
  AttestorError,
  bytesPackageSource,
  memoryKeyStore,
  type AttestorClientOptions,
  type StoredInstallKey,
} from '../../../packages/sdk/src/index';
import { generateP256KeyPair } from '../../../packages/local/src/kms/p256';
import { ManualClock, MemoryHardwareDeviceRecords, MemoryNonceStore, MemoryRegistry, MemoryRevocationList, MemoryTokenKeys } from '../../support/memory';
import { DEFAULT_HARDWARE_POLICY, type AppIdentity } from '../../../packages/contracts/src/admin-api';

export const APP_ID = 'com.example.shop';
export const APP_VERSION = '2.3.1';
export const TENANT = 'tenant-shop';
export const ISSUER = 'attestor-test';
export const ENDPOINT = 'https://attestor.test';
export const GENUINE = new TextEncoder().encode('the genuine build of com.example.shop 2.3.1');
export const TAMPERED = new TextEncoder().encode('the genuine build of com.example.shop 2.3.1 + a hook');

export type Route = '/v1/challenge' | '/v1/attest';

/**
 * What a fault hook may do to a request for the attestation service instead of serving it: answer
 * (a Response), fail as a network error, hang until the client aborts, or serve it (undefined).
 */
export type Fault = Response | 'network' | 'hang' | undefined;

export function decodeClaims(token: string): TokenClaims & Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** The test authority roots the service trusts for hardware evidence, and the app identity its devices attest. */
export interface InProcessHardware {
  readonly roots: { readonly appAttest: string; readonly android: string };
  readonly identity: AppIdentity;
}

export function inProcessService(options: { api?: (request: Request) => Response | Promise<Response>; hardware?: InProcessHardware } = {}) {
  const clock = new ManualClock();
  const registry = new MemoryRegistry();
  const keys = new MemoryTokenKeys();
  // With hardware, the server judges the SDK's evidence as deployed (PROTOCOL.md §5.5): `prefer`, so
  // evidence that is sent must verify.
  const hardware = options.hardware
    ? {
        devices: new MemoryHardwareDeviceRecords(),
        revocations: new MemoryRevocationList(),
        testRoots: { appAttest: [options.hardware.roots.appAttest], android: [options.hardware.roots.android] },
      }
    : undefined;
  if (options.hardware) {
    registry.identities.set(APP_ID, options.hardware.identity);
    registry.policies.set(APP_ID, {
      reject: { rooted: false, emulator: false, debugger: false, hooked: true },
      hardware: { ...DEFAULT_HARDWARE_POLICY, ios: 'prefer', android: 'prefer' },
    });
  }
  const deps: AttestationDeps = {
    ...(hardware ? { hardware } : {}),
    nonces: new MemoryNonceStore(),
    catalog: registry.catalog,
    keys,
    clock,
    random: cryptoRandom,
    issuer: ISSUER,
    tokenTtlSeconds: 300,
    decoySecret: newDecoySecret(),
    defaultTenantId: 'default',
  };
  registry.apps.set(APP_ID, { appId: APP_ID, tenantId: TENANT, createdAt: clock.now });
  registry.registrations.set(`${APP_ID}\0${APP_VERSION}`, {
    appId: APP_ID,
    version: APP_VERSION,
    sha256: createHash('sha256').update(GENUINE).digest('hex'),
    size: GENUINE.length,
    objectKey: 'builds/x',
    registeredAt: clock.now,
  });
  const handlers = { '/v1/challenge': challengeHandler(deps, silentLogger), '/v1/attest': attestHandler(deps, silentLogger) };
  /** Requests that reached the attestation service (faulted ones included). */
  const requests: Route[] = [];
  /** Requests that reached the app's API. */
  const apiRequests: Request[] = [];
  const hooks: {
    /** Changes a request body on its way in, or acts between the two requests. */
    beforeRequest?: (route: Route, body: Record<string, unknown>) => void;
    /** Answers instead of the service (a Response) or fails the request ('network'); undefined serves it. */
    fault?: (route: Route) => Fault | Promise<Fault>;
  } = {};

  const fetchFn: typeof fetch = async (input, init) => {
    // As the platform fetch does: an aborted signal rejects with its reason before anything is sent.
    if (init?.signal?.aborted) throw init.signal.reason;
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== ENDPOINT) {
      if (!options.api) throw new Error(`unexpected request to ${url.origin}`);
      apiRequests.push(request);
      return options.api(request);
    }
    expect(request.method).toBe('POST');
    const route = url.pathname as Route;
    requests.push(route);
    const fault = await hooks.fault?.(route);
    if (fault === 'network') throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    if (fault === 'hang') {
      return new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    }
    if (fault) return fault;
    const body = JSON.parse(await request.text()) as Record<string, unknown>;
    hooks.beforeRequest?.(route, body);
    const event = {
      body: JSON.stringify(body),
      isBase64Encoded: false,
      httpMethod: 'POST',
      path: route,
      resource: route,
      headers: {},
    } as unknown as APIGatewayProxyEvent;
    const result = await handlers[route](event);
    return new Response(result.body, { status: result.statusCode, headers: result.headers as Record<string, string> });
  };

  const verify = async (token: string): Promise<TokenClaims> => {
    return verifyTokenWithKeys(token, await keys.keys(TENANT), { issuer: ISSUER, nowSeconds: clock.now });
  };

  const client = (overrides: Partial<AttestorClientOptions> = {}) =>
    new AttestorClient({
      // A ready install key, made without WebCrypto's generateKey: on Node 20 exporting a freshly
      // generated key can deadlock (src/core/p256.ts). Tests about key generation pass their own store.
      keyStore: memoryKeyStore(seededInstallKey()),
      endpoint: `${ENDPOINT}/`,
      appId: APP_ID,
      appVersion: APP_VERSION,
      packageSource: bytesPackageSource(GENUINE),
      fetch: fetchFn,
      now: () => clock.now * 1000,
      // Retries happen at once unless a test is about timing.
      sleep: async () => undefined,
      ...overrides,
    });

  /** Whether a token was MACed with the tenant's secret (a pass) or not (a decoy). */
  const passed = async (token: string): Promise<boolean> => verify(token).then(() => true, () => false);

  return { clock, registry, keys, deps, requests, apiRequests, hooks, fetchFn, verify, passed, client };
}

/** A stored install key as the SDK persists it, generated through src/core/p256.ts. */
export function seededInstallKey(): StoredInstallKey {
  const { kty, crv, x, y, d } = generateP256KeyPair().privateKey.export({ format: 'jwk' });
  return { kty: kty as 'EC', crv: crv as 'P-256', x: x!, y: y!, d: d! };
}

/** The AttestorError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<AttestorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AttestorError);
  return error as AttestorError;
}
