/**
 * KmsTenantKeys over the real KMSClient and the local KMS endpoint, with the in-memory registry
 * (the DynamoDB registry has its own tests). Each test uses its own tenant on a shared server.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKmsServer, type KmsServer } from '../../local/kms-server';
import {
  ensureDecoyKey,
  InvalidTenantIdError,
  KmsTenantKeys,
  SIGNING_KEY_CACHE_SECONDS,
  SigningKeyUnavailableError,
  TenantKeyIntegrityError,
  TenantKeyMissingError,
} from '../../src/adapters/kms-tenant-keys';
import { jwkThumbprint } from '../../src/core/install-key';
import { KEY_PUBLICATION_SECONDS, RETIREMENT_DELAY_SECONDS } from '../../src/core/tenant-keys';
import { ManualClock, MemoryRegistry } from '../support/memory';

const PREFIX = 'alias/attestor/tenant/';
const DECOY_ALIAS = 'alias/attestor/decoy';

let dir: string;
let server: KmsServer;
let kms: KMSClient;
let tenantCounter = 0;
const newTenant = () => `tenant-${++tenantCounter}`;

/** A client of its own that records the name of every command it sends. */
function recordingClient(): { client: KMSClient; commands: string[] } {
  const client = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
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

function adapter(registry: MemoryRegistry, clock = new ManualClock(), client = kms): KmsTenantKeys {
  return new KmsTenantKeys(client, registry, { decoyKeyId: DECOY_ALIAS, aliasPrefix: PREFIX, clock });
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

/** A second key for the tenant, recorded as newer: what a rotation would leave behind. */
async function recordRotatedKey(registry: MemoryRegistry, tenantId: string, createdAt: number): Promise<{ kid: string; keyId: string }> {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const kid = thumbprint(await kmsPublicKey(KeyMetadata!.Arn!));
  await registry.putTenantKey({ tenantId, kid, keyId: KeyMetadata!.Arn!, createdAt, status: 'active' });
  return { kid, keyId: KeyMetadata!.Arn! };
}

const verifies = (key: KeyObject, input: Uint8Array, signature: Uint8Array) => verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-tenant-keys-test-'));
  server = await startKmsServer({ dataDir: dir });
  kms = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  await ensureDecoyKey(kms, DECOY_ALIAS);
});

afterAll(async () => {
  kms?.destroy();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ensureSigningKey', () => {
  it('creates one tagged, aliased KMS key whose kid is the RFC 7638 thumbprint, and is idempotent', async () => {
    // Prepare
    const registry = new MemoryRegistry();
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
    expect(record).toMatchObject({ tenantId, status: 'active', createdAt: clock.now });
    expect(record!.keyId).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\//);
    expect(record!.kid).toBe(thumbprint(await kmsPublicKey(record!.keyId)));
    const aliased = await kms.send(new DescribeKeyCommand({ KeyId: `${PREFIX}${tenantId}/${record!.kid}` }));
    expect(aliased.KeyMetadata!.Arn).toBe(record!.keyId);
    expect(await tenantKmsKeys(tenantId)).toHaveLength(1);
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: record!.keyId }));
    expect(Tags).toEqual(
      expect.arrayContaining([
        { TagKey: 'attestor:tenant', TagValue: tenantId },
        { TagKey: 'attestor:purpose', TagValue: 'token-signing' },
      ]),
    );
  });

  it('ends with exactly one active key when 10 callers in one process race', async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const keys = adapter(registry);
    const tenantId = newTenant();

    // Act
    await Promise.all(Array.from({ length: 10 }, () => keys.ensureSigningKey(tenantId)));

    // Assess
    expect(await registry.listTenantKeys(tenantId)).toHaveLength(1);
    expect(await tenantKmsKeys(tenantId)).toHaveLength(1);
  });

  it('ends with exactly one active key when 10 processes race, and schedules the losers’ keys for deletion', async () => {
    // Prepare: separate adapter instances stand for separate Lambda containers sharing KMS and the registry.
    const registry = new MemoryRegistry();
    const instances = Array.from({ length: 10 }, () => adapter(registry));
    const tenantId = newTenant();

    // Act
    await Promise.all(instances.map((keys) => keys.ensureSigningKey(tenantId)));

    // Assess
    const records = await registry.listTenantKeys(tenantId);
    expect(records).toHaveLength(1);
    const kids = await Promise.all(instances.map((keys) => keys.signingKid(tenantId)));
    expect(new Set(kids)).toEqual(new Set([records[0]!.kid]));
    const kmsKeys = await tenantKmsKeys(tenantId);
    expect(kmsKeys.length).toBeGreaterThan(1); // the callers really raced: several created a candidate key
    const enabled = kmsKeys.filter((k) => k.state === 'Enabled');
    expect(enabled).toHaveLength(1);
    expect(records[0]!.keyId).toContain(enabled[0]!.keyId);
    expect(kmsKeys.filter((k) => k.state !== 'Enabled').every((k) => k.state === 'PendingDeletion')).toBe(true);
  });

  it('finishes the work of a caller that claimed a key but crashed before recording it', async () => {
    // Prepare: the claim alias exists, the registry has nothing.
    const registry = new MemoryRegistry();
    const tenantId = newTenant();
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', Tags: [{ TagKey: 'attestor:tenant', TagValue: tenantId }] }),
    );
    await kms.send(new CreateAliasCommand({ AliasName: `${PREFIX}${tenantId}/gen-0`, TargetKeyId: KeyMetadata!.KeyId }));

    // Act
    await adapter(registry).ensureSigningKey(tenantId);

    // Assess
    const records = await registry.listTenantKeys(tenantId);
    expect(records.map((r) => r.keyId)).toEqual([KeyMetadata!.Arn]);
    expect(await tenantKmsKeys(tenantId)).toEqual([{ keyId: KeyMetadata!.KeyId, state: 'Enabled' }]);
  });

  it('rejects tenant ids that cannot be part of an alias before creating anything', async () => {
    const { client, commands } = recordingClient();
    await expect(adapter(new MemoryRegistry(), new ManualClock(), client).ensureSigningKey('acme corp')).rejects.toBeInstanceOf(InvalidTenantIdError);
    expect(commands).toEqual([]);
    client.destroy();
  });
});

describe('signing and verification keys', () => {
  it('signs tenant tokens that verify against keys() under signingKid (IEEE P1363)', async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const keys = adapter(registry);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const input = Buffer.from('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhcHAifQ', 'ascii');

    // Act
    const kid = await keys.signingKid(tenantId);
    const signature = await keys.sign(tenantId, input, 'tenant');
    const trusted = await keys.keys(tenantId);

    // Assess
    expect(signature).toHaveLength(64);
    expect([...trusted.keys()]).toEqual([kid]);
    expect(verifies(trusted.get(kid)!, input, signature)).toBe(true);
    expect(verifies(trusted.get(kid)!, Buffer.from('tampered'), signature)).toBe(false);
  });

  it('signs decoy tokens with the decoy key: valid signatures, but not under any tenant key', async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const keys = adapter(registry);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const input = Buffer.from('header.claims', 'ascii');

    // Act
    const signature = await keys.sign(tenantId, input, 'decoy');

    // Assess
    expect(signature).toHaveLength(64);
    for (const key of (await keys.keys(tenantId)).values()) expect(verifies(key, input, signature)).toBe(false);
    expect(verifies(await kmsPublicKey(DECOY_ALIAS), input, signature)).toBe(true);
  });

  it('makes exactly one KMS call, a Sign, for a tenant and for a decoy signature alike', async () => {
    // Prepare
    const { client, commands } = recordingClient();
    const registry = new MemoryRegistry();
    const keys = adapter(registry, new ManualClock(), client);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    await keys.signingKid(tenantId);
    const perCall: string[][] = [];

    // Act
    for (const choice of ['tenant', 'decoy', 'tenant', 'decoy'] as const) {
      commands.length = 0;
      await keys.sign(tenantId, Buffer.from('x'), choice);
      perCall.push([...commands]);
    }

    // Assess
    expect(perCall).toEqual(Array.from({ length: 4 }, () => ['SignCommand']));
    client.destroy();
  });

  it('publishes a JWKS that matches keys(), with kid = thumbprint of each key', async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    await recordRotatedKey(registry, tenantId, clock.now + 10);
    await registry.putTenantKey({ ...(await recordRotatedKey(new MemoryRegistry(), tenantId, 0)), tenantId, createdAt: clock.now + 20, status: 'retired' });

    // Act
    const jwks = await keys.jwks(tenantId);
    const trusted = await keys.keys(tenantId);

    // Assess
    expect(jwks.keys).toHaveLength(2); // the retired key is not published
    expect(jwks.keys.map((k) => k.kid)).toEqual([...trusted.keys()]);
    for (const jwk of jwks.keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(jwk.kid).toBe(jwkThumbprint(jwk));
      const fromJwk = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
      expect(fromJwk.equals(trusted.get(jwk.kid)!)).toBe(true);
    }
  });

  it('fetches each public key from KMS once, but re-reads the registry on every keys() call', async () => {
    // Prepare
    const { client, commands } = recordingClient();
    const registry = new MemoryRegistry();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const keys = adapter(registry, clock, client);
    const getPublicKeyCalls = () => commands.filter((c) => c === 'GetPublicKeyCommand').length;

    // Act
    await keys.keys(tenantId);
    const afterFirst = getPublicKeyCalls();
    for (let i = 0; i < 5; i++) await keys.keys(tenantId);
    await keys.jwks(tenantId);
    const afterRepeats = getPublicKeyCalls();
    const rotated = await recordRotatedKey(registry, tenantId, clock.now + 1);
    const afterRotation = await keys.keys(tenantId);

    // Assess
    expect(afterFirst).toBe(1);
    expect(afterRepeats).toBe(1);
    expect(afterRotation.has(rotated.kid)).toBe(true);
    expect(getPublicKeyCalls()).toBe(2);
    client.destroy();
  });

  it(`follows a rotation in signingKid and sign within ${SIGNING_KEY_CACHE_SECONDS} s`, async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const original = await keys.signingKid(tenantId);
    const rotated = await recordRotatedKey(registry, tenantId, clock.now + 1);

    // Act
    clock.advance(SIGNING_KEY_CACHE_SECONDS - 1);
    const beforeExpiry = await keys.signingKid(tenantId);
    clock.advance(1);
    const afterExpiry = await keys.signingKid(tenantId);
    const signature = await keys.sign(tenantId, Buffer.from('x'), 'tenant');

    // Assess
    expect(beforeExpiry).toBe(original);
    expect(afterExpiry).toBe(rotated.kid);
    expect(verifies(await kmsPublicKey(rotated.keyId), Buffer.from('x'), signature)).toBe(true);
  });
});

describe('rotateSigningKey and retired keys', () => {
  /** A client whose ScheduleKeyDeletion calls fail as an IAM refusal would. */
  function refusingDeletion(): KMSClient {
    const client = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ScheduleKeyDeletionCommand') throw Object.assign(new Error('not authorized to perform kms:ScheduleKeyDeletion'), { name: 'AccessDeniedException' });
        return next(args);
      },
      { step: 'initialize', name: 'refuseDeletion' },
    );
    return client;
  }
  const keyState = async (keyId: string) => (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;

  /** A tenant whose first key, A, has just retired after one rotation. */
  async function tenantWithRetiredKey() {
    const registry = new MemoryRegistry();
    const clock = new ManualClock();
    const tenantId = newTenant();
    await adapter(registry, clock).ensureSigningKey(tenantId);
    const [a] = await registry.listTenantKeys(tenantId);
    await adapter(registry, clock).rotateSigningKey(tenantId);
    clock.advance(KEY_PUBLICATION_SECONDS + RETIREMENT_DELAY_SECONDS);
    return { registry, clock, tenantId, a: a! };
  }

  it('schedules the KMS deletion of keys that have retired, once, with a 30-day window, and never of a trusted key', async () => {
    // Prepare: key A, then a rotation to B; A retires a token lifetime after B activates.
    const registry = new MemoryRegistry();
    const clock = new ManualClock();
    const keys = adapter(registry, clock);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const [a] = await registry.listTenantKeys(tenantId);
    const b = await keys.rotateSigningKey(tenantId);
    expect(b.keysDeleted).toEqual([]);

    // Act 1: a rotation while A is still retiring deletes nothing.
    clock.advance(KEY_PUBLICATION_SECONDS + RETIREMENT_DELAY_SECONDS - 1);
    const c = await keys.rotateSigningKey(tenantId);
    // Act 2: once A has retired, the next rotation deletes A and nothing else.
    clock.advance(1);
    const d = await keys.rotateSigningKey(tenantId);
    const e = await keys.rotateSigningKey(tenantId);

    // Assess
    expect(c).toMatchObject({ keysDeleted: [], keysNotDeleted: [] });
    expect(d).toMatchObject({ keysDeleted: [a!.kid], keysNotDeleted: [] });
    expect(e.keysDeleted).toEqual([]);
    const deleted = await keyState(a!.keyId);
    expect(deleted.KeyState).toBe('PendingDeletion');
    expect(deleted.PendingDeletionWindowInDays).toBe(30);
    const states = await tenantKmsKeys(tenantId);
    // Of the tenant's five keys (A and four rotations), only A is pending deletion.
    expect(states).toHaveLength(5);
    expect(states.filter((k) => k.state === 'PendingDeletion').map((k) => a!.keyId.endsWith(`/${k.keyId}`))).toEqual([true]);
    const described = await keys.describeKeys(tenantId);
    expect(described.find((k) => k.kid === a!.kid)).toMatchObject({ status: 'deleted', deletionScheduledAt: clock.now });
    expect(described.filter((k) => k.status === 'deleted')).toHaveLength(1);
    expect((await keys.jwks(tenantId)).keys.map((k) => k.kid)).not.toContain(a!.kid);
    expect((await keys.jwks(tenantId)).keys.map((k) => k.kid)).toContain(b.kid);
  });

  it('reports a deletion KMS refuses without failing the rotation, and the next rotation deletes the key', async () => {
    const { registry, clock, tenantId, a } = await tenantWithRetiredKey();

    // Act
    const refused = await adapter(registry, clock, refusingDeletion()).rotateSigningKey(tenantId);
    const retried = await adapter(registry, clock).rotateSigningKey(tenantId);

    // Assess: the refused rotation still rotated; the key stayed enabled and retired until the retry.
    expect(refused.keysDeleted).toEqual([]);
    expect(refused.keysNotDeleted).toEqual([{ kid: a!.kid, reason: expect.stringMatching(/^AccessDeniedException: /) }]);
    expect((await registry.listTenantKeys(tenantId)).map((k) => k.kid)).toContain(refused.kid);
    expect(retried.keysDeleted).toEqual([a!.kid]);
    expect((await keyState(a!.keyId)).KeyState).toBe('PendingDeletion');
  });

  it('records a retired key whose deletion was already scheduled outside the service', async () => {
    const { registry, clock, tenantId, a } = await tenantWithRetiredKey();
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: a.keyId, PendingWindowInDays: 7 }));

    const rotation = await adapter(registry, clock).rotateSigningKey(tenantId);

    expect(rotation).toMatchObject({ keysDeleted: [a!.kid], keysNotDeleted: [] });
    expect((await registry.listTenantKeys(tenantId)).find((k) => k.kid === a!.kid)?.deletionScheduledAt).toBe(clock.now);
  });
});

describe('errors', () => {
  it('throws TenantKeyMissingError for a tenant without a key, on both signing paths', async () => {
    const keys = adapter(new MemoryRegistry());
    await expect(keys.signingKid('nobody')).rejects.toBeInstanceOf(TenantKeyMissingError);
    await expect(keys.sign('nobody', Buffer.from('x'), 'tenant')).rejects.toBeInstanceOf(TenantKeyMissingError);
    await expect(keys.sign('nobody', Buffer.from('x'), 'decoy')).rejects.toBeInstanceOf(TenantKeyMissingError);
    await expect(keys.keys('nobody')).resolves.toEqual(new Map());
  });

  it('translates KMS refusals into SigningKeyUnavailableError and a wrong kid into TenantKeyIntegrityError', async () => {
    // Prepare
    const registry = new MemoryRegistry();
    const keys = adapter(registry);
    const tenantId = newTenant();
    await keys.ensureSigningKey(tenantId);
    const [record] = await registry.listTenantKeys(tenantId);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: record!.keyId, PendingWindowInDays: 7 }));
    const missing = newTenant();
    await registry.putTenantKey({ tenantId: missing, kid: 'k', keyId: 'arn:aws:kms:us-east-1:000000000000:key/00000000-0000-4000-8000-000000000000', createdAt: 1, status: 'active' });
    const mislabelled = newTenant();
    await registry.putTenantKey({ ...(await recordRotatedKey(new MemoryRegistry(), mislabelled, 0)), tenantId: mislabelled, kid: 'not-the-thumbprint', createdAt: 1, status: 'active' });

    // Act / Assess
    await expect(keys.sign(tenantId, Buffer.from('x'), 'tenant')).rejects.toBeInstanceOf(SigningKeyUnavailableError);
    await expect(keys.keys(missing)).rejects.toBeInstanceOf(SigningKeyUnavailableError);
    await expect(adapter(registry).keys(mislabelled)).rejects.toBeInstanceOf(TenantKeyIntegrityError);
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
