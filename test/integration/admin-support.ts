/**
 * Shared setup of the admin API integration tests: a local cloud on a temp directory with an
 * injected clock, admin calls as any credential, and token checks against a tenant's keys with an
 * independent JOSE library (so "passed" means what a customer's verifier would say): hs256 secrets
 * fetched wrapped from the admin API and unwrapped with the local KMS under the caller's own
 * credential, as `attestor keys secret` does, and es256 public keys from the JWKS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { CATALOG_CACHE_SECONDS } from '../../packages/service/src/core/catalog-cache';
import { startLocalCloud, type LocalCloud, type LocalCloudOptions } from '../../packages/local/src/cloud';
import { signedAdminFetch, tenantSecretSet } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestOnce, type Device, type InstallKey } from '../support/protocol-client';

export interface Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface AdminResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface TestCloud {
  readonly cloud: LocalCloud;
  readonly clock: ManualClock;
  readonly dataDir: string;
  /** An admin call signed with `as` (default: the operator credential). */
  admin(method: string, path: string, body?: unknown, as?: Credential): Promise<AdminResponse>;
  stop(): Promise<void>;
}

export async function startTestCloud(options: Partial<LocalCloudOptions> = {}, dataDir = mkdtempSync(join(tmpdir(), 'attestor-admin-'))): Promise<TestCloud> {
  const clock = new ManualClock(Math.floor(Date.now() / 1000));
  // Service errors (500s) are printed, so a failing test shows why; nothing else is.
  const logger = { info: () => undefined, warn: () => undefined, error: (event: string, fields?: unknown) => console.error(event, fields) };
  const cloud = await startLocalCloud({ dataDir, port: 0, clock, logger, ...options });
  return {
    cloud,
    clock,
    dataDir,
    admin: async (method, path, body, as) => {
      const res = await signedAdminFetch(cloud, method, path, body, as ?? {});
      const text = await res.text();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new Error(`${method} ${path} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
      }
      return { status: res.status, body: parsed };
    },
    stop: () => cloud.stop(),
  };
}

export async function removeDir(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
}

/** Creates a tenant as the operator and returns its one-time credential. */
export async function createTenant(t: TestCloud, tenantId: string): Promise<Credential> {
  const res = await t.admin('POST', '/v1/admin/tenants', { tenantId });
  if (res.status !== 201) throw new Error(`tenant ${tenantId} not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body['credential'] as Credential;
}

/** The tenant's hs256 secrets (JWK Set of oct keys), unwrapped with the local KMS as `as` (default: the operator). */
export function tenantSecrets(t: TestCloud, as?: Credential) {
  return tenantSecretSet(t.cloud, as);
}

/**
 * Does `token` verify with the tenant's keys at the cloud's clock: an hs256 token with one of its
 * secrets, an es256 token against its JWKS for that audience?
 */
export async function tokenPasses(t: TestCloud, token: string, tenantId = 'default', as?: Credential): Promise<boolean> {
  const common = { issuer: 'attestor', currentDate: new Date(t.clock.now * 1000) };
  if (decodeProtectedHeader(token).alg === 'HS256') {
    for (const secret of (await tenantSecrets(t, as)).keys) {
      const passed = await jwtVerify(token, Buffer.from(secret.k, 'base64url'), { ...common, algorithms: ['HS256'] }).then(
        () => true,
        () => false,
      );
      if (passed) return true;
    }
    return false;
  }
  const jwks = await t.admin('GET', '/v1/admin/keys/jwks', undefined, as);
  if (jwks.status !== 200) throw new Error(`jwks: ${jwks.status}`);
  try {
    await jwtVerify(token, createLocalJWKSet(jwks.body as unknown as JSONWebKeySet), { ...common, audience: tenantId, algorithms: ['ES256'] });
    return true;
  } catch {
    return false;
  }
}

/** Lets attestations see an admin change: the attest function reads an app at most every CATALOG_CACHE_SECONDS. */
export function afterCatalogCache(t: TestCloud): void {
  t.clock.advance(CATALOG_CACHE_SECONDS);
}

/** challenge + attest against the cloud; returns the token (every 200 carries one). */
export async function attestToken(
  t: TestCloud,
  options: { appId: string; appVersion: string; packageBytes: Uint8Array; key: InstallKey; device?: Device; extra?: Record<string, unknown> },
): Promise<string> {
  const res = await attestOnce(t.cloud.endpoint, options);
  if (res.status !== 200) throw new Error(`attest: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body['token'] as string;
}
