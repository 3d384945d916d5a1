/**
 * KmsTenantKeys (through KmsTenantKeyManager, which adds KmsKeyProvisioner's creation and rotation) over the real
 * KMSClient and the local KMS endpoint, with the in-memory registry
 * (the DynamoDB registry has its own tests). Each test uses its own tenant on a shared server.
 */
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { createHmac, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsServer, type KmsServer } from '../../packages/local/src/kms-server';
import {
  ensureDecoyKey,
  InvalidTenantIdError,
  KmsTenantKeys,
  SECRET_CACHE_SECONDS,
  SECRET_REFRESH_SECONDS,
  SIGNING_KEY_CACHE_SECONDS,
  SigningKeyUnavailableError,
  TenantKeyIntegrityError,
  TenantKeyMissingError,
} from '../../packages/service/src/adapters/kms-tenant-keys';
import { KmsTenantKeyManager } from '../../packages/service/src/adapters/kms-tenant-key-manager';
import { KmsKeyProvisioner } from '../../packages/service/src/adapters/kms-key-provisioner';
import { KmsTestTokenKeys } from '../../packages/service/src/adapters/kms-test-token-keys';
import type { TestKeyRecord, TestKeyStore } from '../../packages/service/src/adapters/dynamodb-registry/test-key-store';
import { jwkThumbprint } from '../../packages/verify/src/core/install-key';
import type { TokenSigningKey } from '../../packages/service/src/core/ports';
import { secretEncryptionContext } from '../../packages/contracts/src/admin-api';
import { KEY_PENDING_DELETION } from '../../packages/contracts/src/metrics';
import { KEY_PUBLICATION_SECONDS, RETIREMENT_DELAY_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { ManualClock, MemoryTenantKeyStore } from '../support/memory';

const PREFIX = 'alias/attestor/tenant/';
/** The local KMS accepts the service's credential (local/kms). */
const SERVICE_CREDENTIAL = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const DECOY_ALIAS = 'alias/attestor/decoy';

let dir: string;
let server: KmsServer;
let kms: KMSClient;
let tenantCounter = 0;
const newTenant = () => `tenant-${++tenantCounter}`;

/** A client of its own that records the name of every command it sends. */
function recordingClient(): { client: KMSClient; commands: string[] } {
  const client = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: SERVICE_CREDENTIAL, maxAttempts: 1 });
  const commands: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, commands };
}

/**
 * A recording client whose commands of one name can be held open (`hold`, returns the release) or
 * refused as AccessDeniedException, the error KMS gives a role whose permission was revoked
 * (`refuse`, returns what allows them again).
 */
function gatedClient(): { client: KMSClient; commands: string[]; hold: (name: string) => () => void; refuse: (name: string) => () => void } {
  const { client, commands } = recordingClient();
  const gates = new Map<string, Promise<void>>();
  const refused = new Set<string>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName);
      await gates.get(name);
      if (refused.has(name)) throw Object.assign(new Error(`not authorized to perform ${name}`), { name: 'AccessDeniedException' });
      return next(args);
    },
    { step: 'initialize', name: 'gateCommands' },
  );
  return {
    client,
    commands,
    hold: (name) => {
      let release: () => void = () => undefined;
      gates.set(name, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        gates.delete(name);
        release();
      };
    },
    refuse: (name) => {
      refused.add(name);
      return () => refused.delete(name);
    },
  };
}

/** Lets background work that the local KMS answers settle. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 50));

function adapter(registry: MemoryTenantKeyStore, clock = new ManualClock(), client = kms): KmsTenantKeyManager {
  return new KmsTenantKeyManager(client, registry, { decoyKeyId: DECOY_ALIAS, aliasPrefix: PREFIX, clock });
}

async function kmsPublicKey(keyId: string): Promise<KeyObject> {
  const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
}

function thumbprint(key: KeyObject): string {
  const { x, y } = key.export({ format: 'jwk' });
  return jwkThumbprint({ kty: 'EC', crv: 'P-256', x: x!, y: y! });
}

/** Key ids and states of every KMS key tagged for `tenantId`. */
async function tenantKmsKeys(tenantId: string): Promise<Array<{ keyId: string; state: string }>> {
  const result: Array<{ keyId: string; state: string }> = [];
  let marker: string | undefined;
  do {
    const page = await kms.send(new ListKeysCommand({ Limit: 100, Marker: marker }));
    for (const { KeyId } of page.Keys!) {
      const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId }));
      if (Tags!.some((t) => t.TagKey === 'attestor:tenant' && t.TagValue === tenantId)) {
        const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId }));
        result.push({ keyId: KeyId!, state: KeyMetadata!.KeyState! });
      }
    }
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return result;
}

const secretOf = (key: TokenSigningKey) => {
  if (key.format !== 'hs256') throw new Error(`expected an hs256 key, got ${key.format}`);
  return key.secret;
};
const mac = (secret: KeyObject, input: string) => createHmac('sha256', secret).update(input).digest('base64url');

/** A second es256 key for the tenant, recorded as newer: what a rotation would leave behind. */
async function recordRotatedKey(registry: MemoryTenantKeyStore, tenantId: string, createdAt: number): Promise<{ kid: string; keyId: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const kid = thumbprint(await kmsPublicKey(KeyMetadata!.Arn!));
  await registry.putTenantKey({ tenantId, kid, keyId: KeyMetadata!.Arn!, createdAt, status: 'active', format: 'es256' });
  return { kid, keyId: KeyMetadata!.Arn! };
}

const verifies = (key: KeyObject, input: Uint8Array, signature: Uint8Array) => verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-tenant-keys-test-'));
  server = await startKmsServer({ dataDir: dir });
  kms = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: SERVICE_CREDENTIAL, maxAttempts: 1 });
  await ensureDecoyKey(kms, DECOY_ALIAS);
});

afterAll(async () => {
  kms?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ensureSigningKey', () => {
  it("creates the tenant's first key as an hs256 secret, wrapped under a secrets key of its own, and is idempotent", async () => {
    // Prepare
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();

    // Act
    await keys.ensureSigningKey(tenantId);
    await keys.ensureSigningKey(tenantId);

    // Assess
    const records = await registry.listTenantKeys(tenantId);
    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record).toMatchObject({ tenantId, status: 'active', createdAt: clock.now, format: 'hs256' });
    expect(record!.kid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(record!.wrappedSecret!, 'base64').length).toBeGreaterThan(32);
    const aliased = await kms.send(new DescribeKeyCommand({ KeyId: `${PREFIX}${tenantId}/secrets` }));
    expect(aliased.KeyMetadata).toMatchObject({ Arn: record!.keyId, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' });
    expect(await tenantKmsKeys(tenantId)).toHaveLength(1);
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: record!.keyId }));
    expect(Tags).toEqual(expect.arrayContaining([
      { TagKey: 'attestor:tenant', TagValue: tenantId },
      { TagKey: 'attestor:purpose', TagValue: 'token-secrets' },
    ]));
  });

  it('makes the secret without ever seeing it: no Decrypt on the admin path', async () => {
    const { client, commands } = recordingClient();
    await adapter(new MemoryTenantKeyStore(), new ManualClock(), client).ensureSigningKey(newTenant());
    expect(commands).toContain('GenerateDataKeyWithoutPlaintextCommand');
    expect(commands).not.toContain('DecryptCommand');
    client.destroy();
  });

  it('ends with exactly one signing key and one secrets key when 10 callers in one process race', async () => {
    const registry = new MemoryTenantKeyStore();
    const keys = adapter(registry);
    const tenantId = newTenant();
    await Promise.all(Array.from({ length: 10 }, () => keys.ensureSigningKey(tenantId)));
    expect(await registry.listTenantKeys(tenantId)).toHaveLength(1);
    expect(await tenantKmsKeys(tenantId)).toHaveLength(1);
  });

  it('ends with one secrets key and one signing secret when 10 processes race; other secrets retire like rotated ones', async () => {
    // Prepare: separate adapter instances stand for separate Lambda containers sharing KMS and the registry.
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const instances = Array.from({ length: 10 }, () => adapter(registry, clock));
    const tenantId = newTenant();

    // Act
    await Promise.all(instances.map((keys) => keys.ensureSigningKey(tenantId)));

    // Assess
    const kids = await Promise.all(instances.map(async (keys) => (await keys.signingKey(tenantId)).kid));
    expect(new Set(kids).size).toBe(1);
    const records = await registry.listTenantKeys(tenantId);
    expect(records.filter((r) => r.retiresAt === undefined).map((r) => r.kid)).toEqual([kids[0]]);
    const kmsKeys = await tenantKmsKeys(tenantId);
    expect(kmsKeys.filter((k) => k.state === 'Enabled')).toHaveLength(1);
    expect(kmsKeys.filter((k) => k.state !== 'Enabled').every((k) => k.state === 'PendingDeletion')).toBe(true);
    expect(new Set(records.map((r) => r.keyId)).size).toBe(1);
  });

  it("KmsKeyProvisioner alone (adminUploads' view) makes a first key that attest's read-only KmsTenantKeys signs with", async () => {
    // Prepare: the provisioner adminUploads loads for a new app's tenant, and KmsTenantKeys as attest
    // builds it (no creation code), over the same registry and KMS.
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    const { client, commands } = recordingClient();
    const provisioner = new KmsKeyProvisioner(client, registry, { aliasPrefix: PREFIX, clock });
    const reader = new KmsTenantKeys(kms, registry, { decoyKeyId: DECOY_ALIAS, aliasPrefix: PREFIX, clock });

    // Act
    await provisioner.ensureSigningKey(tenantId);
    await provisioner.ensureSigningKey(tenantId);
    const signing = await reader.signingKey(tenantId);

    // Assess: one hs256 key, made without a Decrypt, that the reader unwraps and signs with.
    const records = await registry.listTenantKeys(tenantId);
    expect(records.map((r) => [r.kid, r.format])).toEqual([[signing.kid, 'hs256']]);
    expect(signing.format).toBe('hs256');
    expect(commands).toContain('GenerateDataKeyWithoutPlaintextCommand');
    expect(commands).not.toContain('DecryptCommand');
    expect(await tenantKmsKeys(tenantId)).toHaveLength(1);
    client.destroy();
  });

  it('rejects tenant ids that cannot be part of an alias before creating anything', async () => {
    const { client, commands } = recordingClient();
    await expect(adapter(new MemoryTenantKeyStore(), new ManualClock(), client).ensureSigningKey('acme corp')).rejects.toBeInstanceOf(InvalidTenantIdError);
    expect(commands).toEqual([]);
    client.destroy();
  });
});

describe('hs256 secrets', () => {
  it('signingKey unwraps the secret once per container and verifiers get the same secret from keys()', async () => {
    // Prepare
    const { client, commands } = recordingClient();
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const keys = adapter(registry, clock, client);

    // Act
    const first = secretOf(await keys.signingKey(tenantId));
    for (let i = 0; i < 20; i++) await keys.signingKey(tenantId);
    const verification = await keys.keys(tenantId);

    // Assess
    expect(commands.filter((c) => c === 'DecryptCommand')).toHaveLength(1);
    expect(verification.publicKeys.size).toBe(0);
    expect(verification.secrets).toHaveLength(1);
    expect(verification.secrets[0]!.key.equals(first)).toBe(true);
    expect(first.export()).toHaveLength(32);
    client.destroy();
  });

  const refreshes = `refreshes the unwrapped secret in the background from ${SECRET_REFRESH_SECONDS} s on`;
  it(`${refreshes}, so no attestation waits for KMS once a tenant is loaded`, async () => {
    // Prepare
    const { client, commands, hold } = gatedClient();
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const keys = adapter(registry, clock, client);
    const first = secretOf(await keys.signingKey(tenantId));
    const decrypts = () => commands.filter((c) => c === 'DecryptCommand').length;

    // Act / Assess: before the refresh age, nothing; at it, one background Decrypt while the cached secret serves.
    clock.advance(SECRET_REFRESH_SECONDS - 1);
    await keys.signingKey(tenantId);
    expect(decrypts()).toBe(1);
    clock.advance(1);
    const release = hold('DecryptCommand');
    expect(secretOf(await keys.signingKey(tenantId)).equals(first)).toBe(true);
    expect(decrypts()).toBe(2);
    release();
    await settled();
    // Long unused (past the secret's lifetime): answered at once from memory, KMS asked in the background.
    clock.advance(SECRET_CACHE_SECONDS * 2);
    const again = hold('DecryptCommand');
    expect(secretOf(await keys.signingKey(tenantId)).equals(first)).toBe(true);
    expect(decrypts()).toBe(3);
    again();
    await settled();
    client.destroy();
  });

  it(`stops minting past ${SECRET_CACHE_SECONDS} s once a refresh failed (a revoked Decrypt), and resumes when one succeeds`, async () => {
    // Prepare: a tenant loaded in this container; then its Decrypt is refused.
    const { client, refuse } = gatedClient();
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const keys = adapter(registry, clock, client);
    await keys.signingKey(tenantId);
    const allow = refuse('DecryptCommand');

    // Act / Assess: the refresh fails in the background; until the lifetime ends the cached secret still mints...
    clock.advance(SECRET_REFRESH_SECONDS);
    await keys.signingKey(tenantId);
    await settled();
    clock.advance(SECRET_CACHE_SECONDS - SECRET_REFRESH_SECONDS - 1);
    await expect(keys.signingKey(tenantId)).resolves.toMatchObject({ format: 'hs256' });
    await settled();
    // ...from then on nothing is minted with it,
    clock.advance(1);
    await expect(keys.signingKey(tenantId)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await settled();
    await expect(keys.signingKey(tenantId)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await settled();
    // ...until KMS answers again: the request that finds it back starts a refresh (and does not wait
    // for it), the ones after it mint.
    allow();
    await expect(keys.signingKey(tenantId)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await settled();
    await expect(keys.signingKey(tenantId)).resolves.toMatchObject({ format: 'hs256' });
    client.destroy();
  });

  it(`keys() (verification) never hands out a secret past ${SECRET_CACHE_SECONDS} s: it waits for a new Decrypt and says when KMS vouched for it`, async () => {
    // Prepare
    const { client, commands, refuse } = gatedClient();
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const keys = adapter(registry, clock, client);
    const loadedAt = clock.now;
    await keys.keys(tenantId);

    // Act / Assess: within the lifetime, the cached secret and the time of its Decrypt...
    clock.advance(SECRET_REFRESH_SECONDS - 1);
    expect((await keys.keys(tenantId)).confirmedAt).toBe(loadedAt);
    // ...past it, a fresh Decrypt, waited for...
    clock.advance(SECRET_CACHE_SECONDS);
    const fresh = await keys.keys(tenantId);
    expect(fresh.confirmedAt).toBe(clock.now);
    expect(commands.filter((c) => c === 'DecryptCommand')).toHaveLength(2);
    // ...and its failure is the load's.
    refuse('DecryptCommand');
    clock.advance(SECRET_CACHE_SECONDS);
    await expect(keys.keys(tenantId)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    client.destroy();
  });

  it(`reads key records again in the background once ${SIGNING_KEY_CACHE_SECONDS} s old: only a tenant's first load waits for the registry`, async () => {
    // Prepare
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const keys = adapter(registry, clock);
    const original = await keys.signingKey(tenantId);
    const rotation = await adapter(registry, clock).rotateSigningKey(tenantId);
    let release: () => void = () => undefined;
    const list = registry.listTenantKeys.bind(registry);
    const reads = jest.spyOn(registry, 'listTenantKeys').mockImplementation(async (id) => {
      await new Promise<void>((resolve) => (release = resolve));
      return list(id);
    });

    // Act: past the records' age (and the new key's activation), with the registry read held open.
    clock.advance(KEY_PUBLICATION_SECONDS);
    const during = await keys.signingKey(tenantId);
    release();
    await settled();
    reads.mockImplementation(list);
    const after = await keys.signingKey(tenantId);

    // Assess: answered from the records at hand, then the refreshed ones name the rotated-in key.
    expect(during.kid).toBe(original.kid);
    expect(after.kid).toBe(rotation.kid);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it("the wrapped secret unwraps only under its own tenant's encryption context", async () => {
    const registry = new MemoryTenantKeyStore();
    const tenantId = newTenant();
    await adapter(registry).ensureSigningKey(tenantId);
    const [record] = await registry.listTenantKeys(tenantId);
    const blob = Buffer.from(record!.wrappedSecret!, 'base64');
    await expect(kms.send(new DecryptCommand({
      CiphertextBlob: blob,
      EncryptionContext: secretEncryptionContext(tenantId, record!.kid),
    }))).resolves.toMatchObject({ KeyId: record!.keyId });
    await expect(kms.send(new DecryptCommand({
      CiphertextBlob: blob,
      EncryptionContext: secretEncryptionContext('another-tenant', record!.kid),
    }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    await expect(kms.send(new DecryptCommand({
      CiphertextBlob: blob,
      EncryptionContext: secretEncryptionContext(tenantId, 'another-secret'),
    }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('wrappedSecrets hands out what verifiers unwrap, the signing one first, and jwks has no hs256 key', async () => {
    // Prepare
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const next = await keys.rotateSigningKey(tenantId);

    // Act
    const { keys: wrapped } = await keys.wrappedSecrets(tenantId);
    const unwrapped = await Promise.all(
      wrapped.map(async (w) => (await kms.send(new DecryptCommand({
        KeyId: w.keyId,
        CiphertextBlob: Buffer.from(w.ciphertext, 'base64'),
        EncryptionContext: { ...w.encryptionContext },
      }))).Plaintext!),
    );

    // Assess
    expect(wrapped.map((w) => w.status)).toEqual(['active', 'pending']);
    expect(wrapped[1]!.kid).toBe(next.kid);
    const verification = await keys.keys(tenantId);
    expect(verification.secrets.map((s) => s.kid)).toEqual(wrapped.map((w) => w.kid));
    unwrapped.forEach((plaintext, i) => expect(verification.secrets[i]!.key.export().equals(Buffer.from(plaintext))).toBe(true));
    expect((await keys.jwks(tenantId)).keys).toEqual([]);
  });

  it('tells verifiers when a retiring key stops being trusted, in keys() and in the JWKS', async () => {
    // Prepare: an es256 key rotated out by an hs256 one, then past the new key's activation.
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const es = await keys.rotateSigningKey(tenantId, 'es256');
    clock.advance(KEY_PUBLICATION_SECONDS);
    await keys.rotateSigningKey(tenantId, 'hs256');
    clock.advance(KEY_PUBLICATION_SECONDS);
    const retiresAt = (await registry.listTenantKeys(tenantId)).find((r) => r.kid === es.kid)!.retiresAt!;

    // Act
    const verification = await keys.keys(tenantId);
    const { keys: jwks } = await keys.jwks(tenantId);

    // Assess
    expect(retiresAt).toBeGreaterThan(clock.now);
    expect(verification.retiresAt?.get(es.kid)).toBe(retiresAt);
    expect(jwks).toEqual([expect.objectContaining({ kid: es.kid, retiresAt })]);
  });

  it(`follows a rotation within ${SIGNING_KEY_CACHE_SECONDS} s of its activation, without a new KMS key`, async () => {
    // Prepare
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const original = await keys.signingKey(tenantId);

    // Act
    const rotation = await keys.rotateSigningKey(tenantId);
    clock.advance(KEY_PUBLICATION_SECONDS - 1);
    const before = await keys.signingKey(tenantId);
    clock.advance(1);
    const after = await keys.signingKey(tenantId);

    // Assess
    expect(rotation).toMatchObject({ format: 'hs256', activatesAt: clock.now });
    expect(before.kid).toBe(original.kid);
    expect(after.kid).toBe(rotation.kid);
    expect(secretOf(after).equals(secretOf(original))).toBe(false);
    expect(mac(secretOf(after), 'x')).not.toBe(mac(secretOf(original), 'x'));
    expect(await tenantKmsKeys(tenantId)).toHaveLength(1);
  });

  it('erases the wrapped secret of a retired key at the next rotation, once', async () => {
    // Prepare: A, rotated to B; A retires a token lifetime after B activates.
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const [a] = await registry.listTenantKeys(tenantId);
    await keys.rotateSigningKey(tenantId);
    clock.advance(KEY_PUBLICATION_SECONDS + RETIREMENT_DELAY_SECONDS);

    // Act
    const c = await keys.rotateSigningKey(tenantId);
    const d = await keys.rotateSigningKey(tenantId);

    // Assess
    expect(c).toMatchObject({ keysDeleted: [a!.kid], keysNotDeleted: [] });
    expect(d.keysDeleted).toEqual([]);
    const erased = (await registry.listTenantKeys(tenantId)).find((r) => r.kid === a!.kid)!;
    expect(erased).toMatchObject({ deletionScheduledAt: clock.now });
    expect(erased).not.toHaveProperty('wrappedSecret');
    expect((await keys.describeKeys(tenantId)).find((k) => k.kid === a!.kid)).toMatchObject({ status: 'deleted', format: 'hs256' });
    expect((await keys.wrappedSecrets(tenantId)).keys.map((w) => w.kid)).not.toContain(a!.kid);
  });
});

describe('es256, by explicit opt-in', () => {
  /** A tenant rotated to es256 whose es256 key signs now. */
  async function es256Tenant(client = kms) {
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const rotation = await adapter(registry, clock).rotateSigningKey(tenantId, 'es256');
    clock.advance(KEY_PUBLICATION_SECONDS);
    return { registry, clock, tenantId, rotation, keys: adapter(registry, clock, client) };
  }

  it('creates a tagged, aliased P-256 KMS key whose kid is the RFC 7638 thumbprint, and signs with it from its activation', async () => {
    // Prepare
    const { registry, tenantId, rotation, keys } = await es256Tenant();
    const input = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhcHAifQ', 'ascii');

    // Act
    const signing = await keys.signingKey(tenantId);
    const signature = await keys.signEs256(tenantId, signing.kid, input, 'tenant');
    const trusted = await keys.keys(tenantId);

    // Assess
    const record = (await registry.listTenantKeys(tenantId)).find((r) => r.kid === rotation.kid)!;
    expect(record).toMatchObject({ format: 'es256' });
    expect(record.kid).toBe(thumbprint(await kmsPublicKey(record.keyId)));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: `${PREFIX}${tenantId}/${record.kid}` }))).KeyMetadata!.Arn).toBe(record.keyId);
    expect(signing).toEqual({ format: 'es256', kid: rotation.kid });
    expect(signature).toHaveLength(64);
    expect(verifies(trusted.publicKeys.get(rotation.kid)!, input, signature)).toBe(true);
    // The retiring hs256 secret still verifies the tokens it signed.
    expect(trusted.secrets).toHaveLength(1);
  });

  it("the admin API's JWKS reads each es256 key's public key from KMS once per container", async () => {
    // Prepare: the provisioner the admin functions use, over a client that records its commands.
    const { registry, clock, tenantId, rotation } = await es256Tenant();
    const { client, commands } = recordingClient();
    const provisioner = new KmsKeyProvisioner(client, registry, { aliasPrefix: PREFIX, clock });

    // Act
    const first = await provisioner.jwks(tenantId);
    const second = await provisioner.jwks(tenantId);

    // Assess
    expect(first.keys.map((k) => k.kid)).toEqual([rotation.kid]);
    expect(second).toEqual(first);
    expect(commands.filter((c) => c === 'GetPublicKeyCommand')).toHaveLength(1);
    client.destroy();
  });

  it('signs decoys with the decoy key: valid signatures, but not under any tenant key', async () => {
    const { tenantId, rotation, keys } = await es256Tenant();
    const input = Buffer.from('header.claims', 'ascii');
    const signature = await keys.signEs256(tenantId, rotation.kid, input, 'decoy');
    for (const key of (await keys.keys(tenantId)).publicKeys.values()) expect(verifies(key, input, signature)).toBe(false);
    expect(verifies(await kmsPublicKey(DECOY_ALIAS), input, signature)).toBe(true);
  });

  it('makes exactly one KMS call, a Sign, for a tenant and for a decoy signature alike', async () => {
    const { client, commands } = recordingClient();
    const { tenantId, rotation, keys } = await es256Tenant(client);
    await keys.signingKey(tenantId);
    const perCall: string[][] = [];
    for (const choice of ['tenant', 'decoy', 'tenant', 'decoy'] as const) {
      commands.length = 0;
      await keys.signEs256(tenantId, rotation.kid, Buffer.from('x'), choice);
      perCall.push([...commands]);
    }
    expect(perCall).toEqual(Array.from({ length: 4 }, () => ['SignCommand']));
    client.destroy();
  });

  it('publishes a JWKS of its es256 keys that matches keys(), with kid = thumbprint of each key', async () => {
    const { registry, clock, tenantId, keys } = await es256Tenant();
    await recordRotatedKey(registry, tenantId, clock.now + 10);
    const jwks = await keys.jwks(tenantId);
    const trusted = await keys.keys(tenantId);
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([...trusted.publicKeys.keys()].sort());
    for (const jwk of jwks.keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(jwk.kid).toBe(jwkThumbprint(jwk));
      const fromJwk = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
      expect(fromJwk.equals(trusted.publicKeys.get(jwk.kid)!)).toBe(true);
    }
  });

  it('rotating without a format keeps es256; switching back to hs256 takes --format', async () => {
    const { clock, tenantId, keys } = await es256Tenant();
    expect((await keys.rotateSigningKey(tenantId)).format).toBe('es256');
    clock.advance(1); // rotations in one second activate together, and then the kid decides
    const back = await keys.rotateSigningKey(tenantId, 'hs256');
    clock.advance(KEY_PUBLICATION_SECONDS);
    expect(back.format).toBe('hs256');
    expect((await keys.signingKey(tenantId)).format).toBe('hs256');
  });
});

describe('retired es256 keys', () => {
  /** A client whose ScheduleKeyDeletion calls fail as an IAM refusal would. */
  function refusingDeletion(): KMSClient {
    const client = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: SERVICE_CREDENTIAL, maxAttempts: 1 });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ScheduleKeyDeletionCommand') throw Object.assign(
          new Error('not authorized to perform kms:ScheduleKeyDeletion'),
          { name: 'AccessDeniedException' },
        );
        return next(args);
      },
      { step: 'initialize', name: 'refuseDeletion' },
    );
    return client;
  }
  const keyState = async (keyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;

  /** A tenant whose es256 key A has just retired after a rotation to another es256 key. */
  async function tenantWithRetiredKey() {
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    const keys = adapter(registry, clock);
    await keys.ensureSigningKey(tenantId);
    const a = await keys.rotateSigningKey(tenantId, 'es256');
    clock.advance(KEY_PUBLICATION_SECONDS);
    await keys.rotateSigningKey(tenantId);
    clock.advance(KEY_PUBLICATION_SECONDS + RETIREMENT_DELAY_SECONDS);
    const record = (await registry.listTenantKeys(tenantId)).find((r) => r.kid === a.kid)!;
    return { registry, clock, tenantId, a: record };
  }

  it('schedules the KMS deletion of a retired es256 key once, with a 30-day window, and never of a trusted key', async () => {
    const { registry, clock, tenantId, a } = await tenantWithRetiredKey();
    const keys = adapter(registry, clock);
    const first = await keys.rotateSigningKey(tenantId);
    const second = await keys.rotateSigningKey(tenantId);
    expect(first.keysDeleted).toContain(a.kid);
    expect(second.keysDeleted).toEqual([]);
    const deleted = await keyState(a.keyId);
    expect(deleted.KeyState).toBe('PendingDeletion');
    expect(deleted.PendingDeletionWindowInDays).toBe(30);
    const states = await tenantKmsKeys(tenantId);
    expect(states.filter((k) => k.state === 'PendingDeletion').map((k) => a.keyId.endsWith(`/${k.keyId}`))).toEqual([true]);
    expect((await keys.jwks(tenantId)).keys.map((k) => k.kid)).not.toContain(a.kid);
  });

  it('reports a deletion KMS refuses without failing the rotation, and the next rotation deletes the key', async () => {
    const { registry, clock, tenantId, a } = await tenantWithRetiredKey();
    const refused = await adapter(registry, clock, refusingDeletion()).rotateSigningKey(tenantId);
    const retried = await adapter(registry, clock).rotateSigningKey(tenantId);
    expect(refused.keysNotDeleted).toEqual(expect.arrayContaining([{ kid: a.kid, reason: expect.stringMatching(/^AccessDeniedException: /) }]));
    expect((await registry.listTenantKeys(tenantId)).map((k) => k.kid)).toContain(refused.kid);
    expect(retried.keysDeleted).toContain(a.kid);
    expect((await keyState(a.keyId)).KeyState).toBe('PendingDeletion');
  });

  it('records a retired key whose deletion was already scheduled outside the service', async () => {
    const { registry, clock, tenantId, a } = await tenantWithRetiredKey();
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: a.keyId, PendingWindowInDays: 7 }));
    const rotation = await adapter(registry, clock).rotateSigningKey(tenantId);
    expect(rotation.keysDeleted).toContain(a.kid);
    expect((await registry.listTenantKeys(tenantId)).find((k) => k.kid === a.kid)?.deletionScheduledAt).toBe(clock.now);
  });
});

describe('a new es256 key whose rotation fails part-way', () => {
  /** A tenant with its first (hs256) key and the number of its enabled KMS keys (the secrets key). */
  async function tenantBeforeRotation() {
    const registry = new MemoryTenantKeyStore();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const enabled = async () => (await tenantKmsKeys(tenantId)).filter((k) => k.state === 'Enabled').length;
    return { registry, clock, tenantId, enabled, before: await enabled() };
  }

  it('discards the key when KMS fails after creating it (its public key unavailable): no enabled key is left behind', async () => {
    // Prepare
    const { registry, clock, tenantId, enabled, before } = await tenantBeforeRotation();
    const gated = gatedClient();
    gated.refuse('GetPublicKeyCommand');
    // Act
    const failed = await adapter(registry, clock, gated.client).rotateSigningKey(tenantId, 'es256').catch((e: unknown) => e);
    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(gated.commands).toEqual(expect.arrayContaining(['CreateKeyCommand', 'ScheduleKeyDeletionCommand']));
    expect(await enabled()).toBe(before);
    expect((await registry.listTenantKeys(tenantId)).every((r) => r.format !== 'es256')).toBe(true);
  });

  it('discards the key when its record cannot be written, and a retry makes and keeps a new one', async () => {
    // Prepare: the registry refuses the first write, as a throttled DynamoDB would.
    const { registry, clock, tenantId, enabled, before } = await tenantBeforeRotation();
    const write = jest.spyOn(registry, 'putTenantKey').mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException'));
    // Act
    const failed = await adapter(registry, clock).rotateSigningKey(tenantId, 'es256').catch((e: unknown) => e);
    const afterFailure = await enabled();
    const retried = await adapter(registry, clock).rotateSigningKey(tenantId, 'es256');
    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(afterFailure).toBe(before);
    expect(write).toHaveBeenCalledTimes(2);
    expect(await enabled()).toBe(before + 1);
    expect((await registry.listTenantKeys(tenantId)).map((r) => r.kid)).toContain(retried.kid);
  });

  it('keeps the key when the write landed but answered with an error (a timeout): it is recorded, so it must still sign', async () => {
    // Prepare: the record is written, then the call fails.
    const { registry, clock, tenantId, enabled, before } = await tenantBeforeRotation();
    const put = registry.putTenantKey.bind(registry);
    jest.spyOn(registry, 'putTenantKey').mockImplementationOnce(async (record) => {
      await put(record);
      throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    });
    // Act
    const failed = await adapter(registry, clock).rotateSigningKey(tenantId, 'es256').catch((e: unknown) => e);
    clock.advance(KEY_PUBLICATION_SECONDS);
    const signing = await adapter(registry, clock).signingKey(tenantId);
    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(await enabled()).toBe(before + 1);
    expect(signing.format).toBe('es256');
  });
});

describe('errors', () => {
  it('throws TenantKeyMissingError for a tenant without a key, on every signing path', async () => {
    const keys = adapter(new MemoryTenantKeyStore());
    await expect(keys.signingKey('nobody')).rejects.toBeInstanceOf(TenantKeyMissingError);
    await expect(keys.signEs256('nobody', 'k', Buffer.from('x'), 'tenant')).rejects.toBeInstanceOf(TenantKeyMissingError);
    await expect(keys.signEs256('nobody', 'k', Buffer.from('x'), 'decoy')).rejects.toBeInstanceOf(TenantKeyMissingError);
    await expect(keys.keys('nobody')).resolves.toEqual({ publicKeys: new Map(), secrets: [] });
  });

  it('translates KMS refusals into SigningKeyUnavailableError and a wrong kid into TenantKeyIntegrityError', async () => {
    // Prepare: a tenant whose secrets key is disabled; one whose es256 key is gone; one mislabelled.
    const registry = new MemoryTenantKeyStore();
    const keys = adapter(registry);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const [record] = await registry.listTenantKeys(tenantId);
    await kms.send(new DisableKeyCommand({ KeyId: record!.keyId }));
    const missing = newTenant();
    await registry.putTenantKey({
      tenantId: missing,
      kid: 'k',
      keyId: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000',
      createdAt: 1,
      status: 'active',
      format: 'es256',
    });
    const mislabelled = newTenant();
    await registry.putTenantKey({
      ...(await recordRotatedKey(new MemoryTenantKeyStore(), mislabelled, 0)),
      tenantId: mislabelled,
      kid: 'not-the-thumbprint',
      createdAt: 1,
      status: 'active',
      format: 'es256',
    });

    // Act / Assess
    await expect(keys.signingKey(tenantId)).rejects.toBeInstanceOf(SigningKeyUnavailableError);
    await expect(keys.keys(missing)).rejects.toBeInstanceOf(SigningKeyUnavailableError);
    await expect(adapter(registry).keys(mislabelled)).rejects.toBeInstanceOf(TenantKeyIntegrityError);
    // ...and the JWKS, which the provisioner reads from KMS for the admin API, publishes no mislabelled key.
    await expect(new KmsKeyProvisioner(kms, registry, { aliasPrefix: PREFIX, clock: new ManualClock() }).jwks(mislabelled)).rejects.toBeInstanceOf(
      TenantKeyIntegrityError,
    );
  });
  it("names a key pending deletion as such (the alarm's Dependency), at the local KMS as at KMS, and a disabled one as unavailable", async () => {
    // Prepare: two tenants with hs256 secrets; one key disabled, the other scheduled for deletion.
    const registry = new MemoryTenantKeyStore();
    const keys = adapter(registry);
    const [disabled, deleted] = [newTenant(), newTenant()];
    for (const tenantId of [disabled, deleted]) await keys.ensureSigningKey(tenantId);
    const keyOf = async (tenantId: string) => (await registry.listTenantKeys(tenantId))[0]!.keyId;
    await kms.send(new DisableKeyCommand({ KeyId: await keyOf(disabled) }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: await keyOf(deleted), PendingWindowInDays: 7 }));
    // Act
    const code = (tenantId: string) => keys.signingKey(tenantId).then(
      () => 'signed',
      (error: unknown) => (error instanceof SigningKeyUnavailableError ? error.code : String(error)),
    );
    // ...and the provisioner (the admin functions), which reads the key's state through its alias.
    const provisioned = (tenantId: string) =>
      new KmsKeyProvisioner(kms, registry, { aliasPrefix: PREFIX, clock: new ManualClock() }).secretsKey(tenantId).then(
        () => 'found',
        (error: unknown) => (error instanceof SigningKeyUnavailableError ? error.code : String(error)),
      );
    // Assess
    expect({ disabled: await code(disabled), deleted: await code(deleted) }).toEqual({ disabled: 'signing_key_unavailable', deleted: KEY_PENDING_DELETION });
    expect({ disabled: await provisioned(disabled), deleted: await provisioned(deleted) }).toEqual({
      disabled: 'signing_key_unavailable',
      deleted: KEY_PENDING_DELETION,
    });
  });
});

describe('ensureDecoyKey', () => {
  it('is idempotent and race-safe', async () => {
    // Act
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => ensureDecoyKey(kms, 'alias/test/decoy-race')));
    const again = await ensureDecoyKey(kms, 'alias/test/decoy-race');

    // Assess
    expect(new Set(concurrent)).toEqual(new Set([again]));
    const described = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/test/decoy-race' }));
    expect(described.KeyMetadata).toMatchObject({ KeyId: again, KeyState: 'Enabled', KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  });

  it('moves the alias to a new key when its key is pending deletion', async () => {
    // Prepare
    const first = await ensureDecoyKey(kms, 'alias/test/decoy-repair');
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: first, PendingWindowInDays: 7 }));

    // Act
    const second = await ensureDecoyKey(kms, 'alias/test/decoy-repair');

    // Assess
    expect(second).not.toBe(first);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/test/decoy-repair' }))).KeyMetadata).toMatchObject({ KeyId: second, KeyState: 'Enabled' });
  });
});

describe('test secret rotation', () => {
  /** Test key records in memory; `putTestKey` waits at `gate` when one is set, so two rotations can be interleaved. */
  class GatedTestKeyStore implements TestKeyStore {
    readonly records = new Map<string, TestKeyRecord & { retiredAt?: number }>();
    gate: Promise<void> | undefined;
    async listTestKeys(tenantId: string): Promise<TestKeyRecord[]> {
      return [...this.records.values()].filter((r) => r.tenantId === tenantId && r.retiredAt === undefined).sort((a, b) => b.createdAt - a.createdAt);
    }
    async putTestKey(record: TestKeyRecord): Promise<void> {
      this.records.set(record.kid, record);
      await this.gate;
    }
    async retireTestKey(_tenantId: string, kid: string, time: number): Promise<void> {
      const record = this.records.get(kid)!;
      if (record.retiredAt === undefined) this.records.set(kid, { ...record, retiredAt: time });
    }
  }

  it('two rotations at once both retire the old secret and leave the tenant a test secret to sign with', async () => {
    // Prepare: a tenant with one test secret (its first mint's).
    const registry = new MemoryTenantKeyStore();
    const provisioner = new KmsKeyProvisioner(kms, registry, { aliasPrefix: PREFIX, clock: new ManualClock() });
    const store = new GatedTestKeyStore();
    const keys = new KmsTestTokenKeys(kms, store, { secretsKey: (t) => provisioner.secretsKey(t), clock: new ManualClock() });
    const tenantId = newTenant();
    const first = await keys.testSigningSecret(tenantId);
    // Act: both rotations record their new secret before either goes on.
    let open!: () => void;
    store.gate = new Promise<void>((r) => (open = r));
    const rotations = Promise.all([keys.rotateTestSecret(tenantId), keys.rotateTestSecret(tenantId)]);
    while ([...store.records.values()].length < 3) await new Promise((r) => setTimeout(r, 5));
    open();
    const [a, b] = await rotations;
    // Assess: the old secret is retired by both; both new ones are in use; minting signs with one of them.
    expect(a.retired).toEqual([first.kid]);
    expect(b.retired).toEqual([first.kid]);
    expect((await store.listTestKeys(tenantId)).map((r) => r.kid).sort()).toEqual([a.kid, b.kid].sort());
    expect([a.kid, b.kid]).toContain((await keys.testSigningSecret(tenantId)).kid);
  });
});
