/** Admin calls against a local cloud from tests: SigV4-signed like the CLI, with a wrong-credential option. */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { LocalCloud } from '../../packages/local/src/cloud';
import type { WrappedTokenSecret } from '../../packages/service/src/core/ports';
import { unwrapSecrets } from '../../packages/cli/src/secrets';
import type { TokenSecretSet } from '../../packages/verify/src/secrets';

/**
 * A tenant's hs256 secrets as `attestor keys secret --json` prints them: fetched wrapped from the
 * admin API and unwrapped with the local KMS under the same credential (default: the operator).
 */
export async function tenantSecretSet(
  cloud: Pick<LocalCloud, 'endpoint' | 'adminCredentials' | 'endpoints'>,
  as: { accessKeyId?: string; secretAccessKey?: string } = {},
): Promise<TokenSecretSet> {
  const res = await signedAdminFetch(cloud, 'GET', '/v1/admin/keys/secrets', undefined, as);
  if (res.status !== 200) throw new Error(`secrets: ${res.status} ${await res.text()}`);
  const { keys } = (await res.json()) as { keys: WrappedTokenSecret[] };
  const credentials = {
    accessKeyId: as.accessKeyId ?? cloud.adminCredentials.accessKeyId,
    secretAccessKey: as.secretAccessKey ?? cloud.adminCredentials.secretAccessKey,
  };
  return unwrapSecrets(keys, { credentials, region: cloud.adminCredentials.region, endpoint: cloud.endpoints.kms });
}

export async function signedAdminFetch(
  cloud: Pick<LocalCloud, 'endpoint' | 'adminCredentials'>,
  method: string,
  path: string,
  body?: unknown,
  override: { accessKeyId?: string; secretAccessKey?: string } = {},
): Promise<Response> {
  const url = new URL(path, cloud.endpoint);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: override.accessKeyId ?? cloud.adminCredentials.accessKeyId,
      secretAccessKey: override.secretAccessKey ?? cloud.adminCredentials.secretAccessKey,
    },
    region: cloud.adminCredentials.region,
    service: 'execute-api',
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host, ...(payload ? { 'content-type': 'application/json' } : {}) },
    body: payload,
  });
  return fetch(url, { method, headers: signed.headers as Record<string, string>, ...(payload ? { body: payload } : {}) });
}

/** Registers a build through the real path: upload URL from the admin API, PUT to S3, S3 event, register handler. */
export async function registerBuildForTest(
  cloud: LocalCloud,
  build: { appId: string; version: string; bytes: Uint8Array; expireAfterSeconds?: number },
): Promise<Record<string, unknown>> {
  const issued = await signedAdminFetch(cloud, 'POST', `/v1/admin/apps/${build.appId}/uploads`, {
    version: build.version,
    size: build.bytes.length,
    ...(build.expireAfterSeconds ? { expireAfterSeconds: build.expireAfterSeconds } : {}),
  });
  if (issued.status !== 201) throw new Error(`upload not issued: ${issued.status} ${await issued.text()}`);
  const { uploadId, uploadUrl } = (await issued.json()) as { uploadId: string; uploadUrl: string };
  const put = await fetch(uploadUrl, { method: 'PUT', body: new Uint8Array(build.bytes) as unknown as BodyInit });
  if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  for (let i = 0; i < 100; i++) {
    await cloud.settled();
    const res = await signedAdminFetch(cloud, 'GET', `/v1/admin/uploads/${uploadId}`);
    const upload = (await res.json()) as Record<string, unknown>;
    if (upload['status'] !== 'pending') return upload;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('registration did not settle');
}
