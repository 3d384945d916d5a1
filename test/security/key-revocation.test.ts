/**
 * Plays an attacker who keeps using a tenant's secret after the verifier lost the right to it: the
 * operator revoked the authorizer's kms:Decrypt (or disabled the tenant's secrets key), and tokens
 * MACed with that secret keep arriving. Before the fix the verifier's KeyRing kept the last secrets
 * it had loaded for as long as loads failed, and accepted such tokens a day later. Now it denies
 * them once KMS last vouched for the secret SECRET_CACHE_SECONDS ago, and accepts again once a load
 * succeeds.
 *
 * Real parts: KmsTenantKeys over the local KMS server, whose per-credential authorization stands
 * in for IAM (the verifier signs with a credential of its own, whose Decrypt is revoked), and the
 * core's AttestationVerifier. The registry is the in-memory one (its DynamoDB twin has its own tests).
 */
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCAL_SERVICE_CREDENTIAL, startKmsServer, type KmsServer } from '../../packages/local/src/kms-server';
import { ensureDecoyKey, KmsTenantKeys } from '../../packages/service/src/adapters/kms-tenant-keys';
import { KmsTenantKeyManager } from '../../packages/service/src/adapters/kms-tenant-key-manager';
import { SECRET_CACHE_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { hs256Token } from '../../packages/service/src/core/token';
import { AttestationVerifier } from '../../packages/verify/src/core/verifier';
import { ManualClock, MemoryTenantKeyStore } from '../support/memory';

const PREFIX = 'alias/attestor/tenant/';
const VERIFIER_CREDENTIAL = { accessKeyId: 'VERIFIER', secretAccessKey: 'verifier-secret' };
const DAY = 86_400;

let dir: string;
let server: KmsServer;
let admin: KMSClient;
let verifierKms: KMSClient;
/** Stands in for an IAM policy change: the verifier's role may no longer Decrypt. */
let decryptRevoked = false;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'key-revocation-'));
  server = await startKmsServer({
    dataDir: dir,
    credentials: (accessKeyId) =>
      accessKeyId === LOCAL_SERVICE_CREDENTIAL.accessKeyId
        ? { secretAccessKey: LOCAL_SERVICE_CREDENTIAL.secretAccessKey }
        : accessKeyId === VERIFIER_CREDENTIAL.accessKeyId
          ? { secretAccessKey: VERIFIER_CREDENTIAL.secretAccessKey, authorize: ({ operation }) => !(decryptRevoked && operation === 'Decrypt') }
          : undefined,
  });
  const client = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  admin = client(LOCAL_SERVICE_CREDENTIAL);
  verifierKms = client(VERIFIER_CREDENTIAL);
  await ensureDecoyKey(admin, 'alias/attestor/decoy');
});

afterAll(async () => {
  admin?.destroy();
  verifierKms?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  decryptRevoked = false;
});

/** A tenant with a secret, a verifier of its own that has loaded it, and a way to mint with the secret. */
async function tenantWithWarmVerifier(tenantId: string) {
  const clock = new ManualClock();
  const registry = new MemoryTenantKeyStore();
  const service = new KmsTenantKeyManager(admin, registry, { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: PREFIX, clock });
  await service.ensureSigningKey(tenantId);
  const signing = await service.signingKey(tenantId);
  if (signing.format !== 'hs256') throw new Error('expected an hs256 tenant');
  const verifier = new AttestationVerifier({
    keys: new KmsTenantKeys(verifierKms, registry, { decoyKeyId: 'alias/attestor/decoy', aliasPrefix: PREFIX, clock }),
    tenantId,
    issuer: 'attestor',
    clock,
  });
  const mint = () =>
    hs256Token(signing.secret, {
      iss: 'attestor',
      sub: 'com.example.app',
      iat: clock.now,
      exp: clock.now + 300,
      jti: randomBytes(16).toString('base64url'),
      ver: '1',
      did: 'd',
      cnf: { jkt: 'd' },
    });
  const outcome = async () => {
    const result = await verifier.verify(mint()).then(
      () => 'accepted',
      () => 'denied',
    );
    // Let a background key refresh the request started reach the local KMS and settle.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return result;
  };
  expect(await outcome()).toBe('accepted');
  const secretsKey = (await registry.listTenantKeys(tenantId))[0]!.keyId;
  return { clock, outcome, secretsKey };
}

/** Outcomes of a fresh token every 30 s under traffic, then at the bound, after it, and a day on. */
async function timeline(clock: ManualClock, outcome: () => Promise<string>): Promise<Record<string, string>> {
  const start = clock.now;
  const seen: Record<string, string> = {};
  for (const at of [30, 60, 90, 120, 150, 180, 210, 240, 270, SECRET_CACHE_SECONDS - 1, SECRET_CACHE_SECONDS, SECRET_CACHE_SECONDS + 30, DAY]) {
    clock.advance(start + at - clock.now);
    seen[at] = await outcome();
  }
  return seen;
}

const expected = {
  ...Object.fromEntries([30, 60, 90, 120, 150, 180, 210, 240, 270, SECRET_CACHE_SECONDS - 1].map((at) => [at, 'accepted'])),
  ...Object.fromEntries([SECRET_CACHE_SECONDS, SECRET_CACHE_SECONDS + 30, DAY].map((at) => [at, 'denied'])),
};

describe(`a verifier that loses its key denies within ${SECRET_CACHE_SECONDS} s of its last Decrypt`, () => {
  it("after its kms:Decrypt is revoked, and accepts again once it is restored", async () => {
    // Prepare
    const { clock, outcome } = await tenantWithWarmVerifier('revoked');
    // Act
    decryptRevoked = true;
    const seen = await timeline(clock, outcome);
    decryptRevoked = false;
    clock.advance(5); // past the failure backoff
    const restored = await outcome();
    // Assess
    expect(seen).toEqual(expected);
    expect(restored).toBe('accepted');
  });

  it("after the tenant's secrets key is disabled", async () => {
    // Prepare
    const { clock, outcome, secretsKey } = await tenantWithWarmVerifier('disabled');
    // Act
    await admin.send(new DisableKeyCommand({ KeyId: secretsKey }));
    const seen = await timeline(clock, outcome);
    // Assess
    expect(seen).toEqual(expected);
  });
});
