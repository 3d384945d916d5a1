/**
 * Tenant signing keys in KMS. The private keys never leave KMS; the registry records which KMS key
 * belongs to which tenant (kid = RFC 7638 thumbprint of its public key), and this adapter turns
 * that into the core's TokenSigner, VerificationKeySource and TenantKeyManager.
 *
 * Creating a tenant's first key is race-safe across processes (several Lambda containers may get
 * the tenant's first upload request at once). The registry cannot arbitrate: its conditional put
 * is per (tenant, kid), and every racer's new key has a different kid. KMS can: CreateAlias fails
 * with AlreadyExistsException when the alias exists. So racers claim the alias
 * `${aliasPrefix}${tenantId}/gen-${n}` (n = number of key records the tenant had when it found no
 * active one); the racer that creates it wins, the others schedule deletion of their own new key
 * and record the winner's key instead. Because anyone can finish the winner's work from the alias,
 * a caller that crashed between claiming and recording is completed by the next call.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetPublicKeyCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdateAliasCommand,
  type KeyMetadata,
  type KMSClient,
  type Tag,
} from '@aws-sdk/client-kms';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { derToP1363 } from '../core/ecdsa';
import { jwkThumbprint } from '../core/install-key';
import type {
  Clock,
  KeyRotation,
  PublicJwk,
  Registry,
  SigningKeyChoice,
  TenantKeyDescription,
  TenantKeyManager,
  TenantKeyRecord,
  TokenSigner,
  VerificationKeySource,
} from '../core/ports';
import { activatesAt, KEY_PUBLICATION_SECONDS, keysToDelete, keyStatusAt, retirementsAfterRotation, signingKeyAt, trustedKeysAt } from '../core/tenant-keys';
import { TENANT_ID_PATTERN } from '../core/admin-ids';
import { RETIRED_KEY_DELETION_WINDOW_DAYS } from './kms-key-policy';

/** The tenant has no active signing key (ensureSigningKey has not run for it). */
export class TenantKeyMissingError extends Error {
  override readonly name = 'TenantKeyMissingError';
  constructor(readonly tenantId: string) {
    super(`tenant ${tenantId} has no active signing key`);
  }
}

/** KMS does not have the key, or refuses to use it (disabled or pending deletion). */
export class SigningKeyUnavailableError extends Error {
  override readonly name = 'SigningKeyUnavailableError';
  constructor(
    readonly keyId: string,
    cause: unknown,
  ) {
    super(`KMS key ${keyId} is unavailable: ${cause instanceof Error ? cause.name : 'unknown error'}`, { cause });
  }
}

/** The registry's kid does not match the public key KMS holds under that key id. */
export class TenantKeyIntegrityError extends Error {
  override readonly name = 'TenantKeyIntegrityError';
}

/** Tenant ids become part of KMS alias names, which allow only these characters. */
export class InvalidTenantIdError extends Error {
  override readonly name = 'InvalidTenantIdError';
}

export interface KmsTenantKeysOptions {
  /** Key id, ARN or alias of the decoy key that signs tokens of failed attestations. */
  readonly decoyKeyId: string;
  /** e.g. `alias/attestor/tenant/` */
  readonly aliasPrefix: string;
  readonly clock: Clock;
  /**
   * Key policy (JSON) given to every tenant key this creates, usually tenantKeyPolicy(...): it names
   * the roles that use the key, which works the moment the key exists, where IAM conditions on a
   * new key's aliases or tags take up to five minutes. Absent: KMS's default policy (IAM decides).
   */
  readonly keyPolicy?: string;
}

/**
 * How long an instance keeps a tenant's key records before reading them again. Shorter than
 * KEY_PUBLICATION_SECONDS, so every instance has seen a rotated-in key before it activates, and
 * all switch to it at its activation time.
 */
export const SIGNING_KEY_CACHE_SECONDS = 30;
/** The shortest window KMS allows; a discarded candidate key was never used. */
const DISCARD_WINDOW_DAYS = 7;

/** Tenant ids become part of KMS alias names; anything else is refused before KMS is called. */
function assertTenantId(tenantId: string): void {
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new InvalidTenantIdError(`tenant id must match ${TENANT_ID_PATTERN.source} to be part of a KMS alias`);
}

interface CurrentKey {
  readonly kid: string;
  readonly keyId: string;
}

interface CachedKeyRecords {
  readonly records: readonly TenantKeyRecord[];
  readonly fetchedAt: number;
}

interface PublicKeyInfo {
  readonly key: KeyObject;
  readonly kid: string;
}

export class KmsTenantKeys implements TokenSigner, VerificationKeySource, TenantKeyManager {
  private readonly current = new Map<string, CachedKeyRecords>();
  private readonly currentLoads = new Map<string, Promise<CachedKeyRecords>>();
  /** Public keys never change, so they are cached for the life of the process. */
  private readonly publicKeys = new Map<string, Promise<PublicKeyInfo>>();
  private readonly ensuring = new Map<string, Promise<void>>();

  constructor(
    private readonly kms: KMSClient,
    private readonly registry: Registry,
    private readonly options: KmsTenantKeysOptions,
  ) {}

  async signingKid(tenantId: string): Promise<string> {
    return (await this.currentKey(tenantId)).kid;
  }

  async sign(tenantId: string, signingInput: Uint8Array, key: SigningKeyChoice, kid?: string): Promise<Uint8Array> {
    // Both choices do the same work (a cached registry lookup, then one KMS Sign) so that timing
    // does not tell a genuine token from a decoy.
    const current = await this.currentKey(tenantId, kid);
    const keyId = key === 'tenant' ? current.keyId : this.options.decoyKeyId;
    try {
      return await kmsSign(this.kms, keyId, signingInput);
    } catch (error) {
      // Drop the cached key so that a repaired or rotated registry is seen on the next call.
      if (error instanceof SigningKeyUnavailableError && key === 'tenant') this.current.delete(tenantId);
      throw error;
    }
  }

  async keys(tenantId: string): Promise<ReadonlyMap<string, KeyObject>> {
    const records = trustedKeysAt(await this.registry.listTenantKeys(tenantId), this.options.clock.nowSeconds());
    const entries = await Promise.all(
      records.map(async (record): Promise<[string, KeyObject]> => {
        const info = await this.publicKey(record.keyId);
        if (info.kid !== record.kid) {
          throw new TenantKeyIntegrityError(`registry kid ${record.kid} of tenant ${tenantId} does not match KMS key ${record.keyId} (kid ${info.kid})`);
        }
        return [record.kid, info.key];
      }),
    );
    return new Map(entries);
  }

  async jwks(tenantId: string): Promise<{ readonly keys: readonly PublicJwk[] }> {
    const keys = await this.keys(tenantId);
    return {
      keys: [...keys].map(([kid, key]) => {
        const { x, y } = key.export({ format: 'jwk' });
        return { kty: 'EC', crv: 'P-256', x: x!, y: y!, kid, alg: 'ES256', use: 'sig' };
      }),
    };
  }

  async ensureSigningKey(tenantId: string): Promise<void> {
    assertTenantId(tenantId);
    // Concurrent callers in this process share one attempt; other processes are handled by the alias claim.
    let pending = this.ensuring.get(tenantId);
    if (!pending) {
      pending = this.createFirstKey(tenantId).finally(() => this.ensuring.delete(tenantId));
      this.ensuring.set(tenantId, pending);
    }
    return pending;
  }

  /**
   * A new key, published (in the JWKS) from now and signing from now + KEY_PUBLICATION_SECONDS;
   * then every older key is given its retirement time. Concurrent rotations each add a key; the
   * one activating last wins and the others retire with the rest.
   */
  async rotateSigningKey(tenantId: string): Promise<KeyRotation> {
    assertTenantId(tenantId);
    const now = this.options.clock.nowSeconds();
    const created = await this.createTenantKey(tenantId);
    const keyId = created.Arn ?? created.KeyId!;
    const { kid } = await this.publicKey(keyId);
    await createAliasIfAbsent(this.kms, `${this.options.aliasPrefix}${tenantId}/${kid}`, created.KeyId!);
    const record: TenantKeyRecord = { tenantId, kid, keyId, createdAt: now, status: 'active', activatesAt: now + KEY_PUBLICATION_SECONDS };
    await this.registry.putTenantKey(record);
    // Listed after recording: of two concurrent rotations, at least one sees both keys.
    const records = await this.registry.listTenantKeys(tenantId);
    for (const { kid: older, retiresAt } of retirementsAfterRotation(records)) {
      await this.registry.retireTenantKey(tenantId, older, retiresAt);
    }
    this.current.delete(tenantId);
    // The retirements just set lie in the future, so this listing still tells which keys have retired by now.
    return { kid, activatesAt: activatesAt(record), ...(await this.deleteRetiredKeys(tenantId, records, now)) };
  }

  /**
   * Schedules the KMS deletion of every retired key not yet scheduled. Retired keys sign nothing
   * and are in no JWKS, and every token they signed has expired, so nothing needs them; keeping
   * them would keep private keys (and their monthly cost) for ever. Failures are returned, not
   * thrown: they must not undo or hide the rotation that came before.
   */
  private async deleteRetiredKeys(tenantId: string, records: readonly TenantKeyRecord[], now: number): Promise<Pick<KeyRotation, 'keysDeleted' | 'keysNotDeleted'>> {
    const keysDeleted: string[] = [];
    const keysNotDeleted: Array<{ kid: string; reason: string }> = [];
    for (const record of keysToDelete(records, now)) {
      try {
        await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: record.keyId, PendingWindowInDays: RETIRED_KEY_DELETION_WINDOW_DAYS }));
      } catch (error) {
        // Gone, or already pending deletion (an earlier attempt that could not record it): done either way.
        const done = isKmsError(error, 'NotFoundException') || (isKmsError(error, 'KMSInvalidStateException') && (await describeIfExists(this.kms, record.keyId))?.KeyState === 'PendingDeletion');
        if (!done) {
          keysNotDeleted.push({ kid: record.kid, reason: `${(error as Error).name}: ${(error as Error).message}` });
          continue;
        }
      }
      await this.registry.markTenantKeyDeletionScheduled(tenantId, record.kid, now);
      keysDeleted.push(record.kid);
    }
    return { keysDeleted, keysNotDeleted };
  }

  private createTenantKey(tenantId: string): Promise<KeyMetadata> {
    return createSigningKey(this.kms, `Attestor token signing key of tenant ${tenantId}`, [
      { TagKey: 'attestor:tenant', TagValue: tenantId },
      { TagKey: 'attestor:purpose', TagValue: 'token-signing' },
    ], this.options.keyPolicy);
  }

  async describeKeys(tenantId: string): Promise<TenantKeyDescription[]> {
    const now = this.options.clock.nowSeconds();
    const records = await this.registry.listTenantKeys(tenantId);
    // Latest activation first: a pending key heads the list, then the signing key, then the older ones.
    const ordered = [...records].sort((a, b) => activatesAt(b) - activatesAt(a) || b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1));
    return ordered.map((r) => ({
      kid: r.kid,
      status: keyStatusAt(r, records, now),
      createdAt: r.createdAt,
      activatesAt: activatesAt(r),
      ...(r.retiresAt !== undefined ? { retiresAt: r.retiresAt } : {}),
      ...(r.deletionScheduledAt !== undefined ? { deletionScheduledAt: r.deletionScheduledAt } : {}),
    }));
  }

  private async createFirstKey(tenantId: string): Promise<void> {
    const records = await this.registry.listTenantKeys(tenantId);
    if (trustedKeysAt(records, this.options.clock.nowSeconds()).length > 0) return;
    const claim = `${this.options.aliasPrefix}${tenantId}/gen-${records.length}`;

    // A claim may already exist: a racer is mid-way, or a caller crashed before recording.
    let winner = await describeIfExists(this.kms, claim);
    if (!winner) {
      const candidate = await this.createTenantKey(tenantId);
      winner = await claimAlias(this.kms, claim, candidate);
    }
    const keyId = winner.Arn ?? winner.KeyId!;
    const { kid } = await this.publicKey(keyId);
    await createAliasIfAbsent(this.kms, `${this.options.aliasPrefix}${tenantId}/${kid}`, winner.KeyId!);
    await this.recordIfAbsent({ tenantId, kid, keyId, createdAt: this.options.clock.nowSeconds(), status: 'active' });
    this.current.delete(tenantId);
  }

  /** A racer that resolved the same claim may have recorded it first; that is success too. */
  private async recordIfAbsent(record: TenantKeyRecord): Promise<void> {
    try {
      await this.registry.putTenantKey(record);
    } catch (error) {
      // Checked by re-reading rather than by error class, so any Registry implementation works.
      const stored = await this.registry.listTenantKeys(record.tenantId);
      if (!stored.some((r) => r.kid === record.kid && r.keyId === record.keyId)) throw error;
    }
  }

  /**
   * The key that signs now, chosen from cached records at each call, so a key activates at its
   * activation time on every instance. With `kid`, that key if it is still trusted.
   */
  private async currentKey(tenantId: string, kid?: string): Promise<CurrentKey> {
    const now = this.options.clock.nowSeconds();
    const { records } = await this.keyRecords(tenantId, now);
    const chosen = (kid !== undefined ? trustedKeysAt(records, now).find((r) => r.kid === kid) : undefined) ?? signingKeyAt(records, now);
    if (!chosen) throw new TenantKeyMissingError(tenantId);
    return { kid: chosen.kid, keyId: chosen.keyId };
  }

  private async keyRecords(tenantId: string, now: number): Promise<CachedKeyRecords> {
    const cached = this.current.get(tenantId);
    // A clock that went backwards expires the entry rather than extending it.
    if (cached && now >= cached.fetchedAt && now - cached.fetchedAt < SIGNING_KEY_CACHE_SECONDS) return cached;
    let load = this.currentLoads.get(tenantId);
    if (!load) {
      load = this.registry
        .listTenantKeys(tenantId)
        .then((records) => {
          const entry: CachedKeyRecords = { records, fetchedAt: now };
          this.current.set(tenantId, entry);
          return entry;
        })
        .finally(() => this.currentLoads.delete(tenantId));
      this.currentLoads.set(tenantId, load);
    }
    return load;
  }

  private publicKey(keyId: string): Promise<PublicKeyInfo> {
    let info = this.publicKeys.get(keyId);
    if (!info) {
      const loading = fetchPublicKey(this.kms, keyId);
      info = loading;
      this.publicKeys.set(keyId, loading);
      // A failed fetch must not be cached: the next call tries again.
      loading.catch(() => {
        if (this.publicKeys.get(keyId) === loading) this.publicKeys.delete(keyId);
      });
    }
    return info;
  }
}

/**
 * Makes sure `aliasName` names an enabled signing key, creating key and alias if needed; returns
 * the key id. Idempotent and safe to run concurrently (the local cloud's bootstrap uses it).
 */
export async function ensureDecoyKey(kms: KMSClient, aliasName: string): Promise<string> {
  const existing = await describeIfExists(kms, aliasName);
  if (existing?.KeyState === 'Enabled') return existing.KeyId!;
  const candidate = await createSigningKey(kms, 'Attestor decoy key: signs tokens of failed attestations', [{ TagKey: 'attestor:purpose', TagValue: 'decoy' }]);
  if (!existing) return (await claimAlias(kms, aliasName, candidate)).KeyId!;
  // The alias points at a disabled or deleted-soon key: move it to the new one.
  await kms.send(new UpdateAliasCommand({ AliasName: aliasName, TargetKeyId: candidate.KeyId }));
  const now = await describeIfExists(kms, aliasName);
  if (now?.KeyId !== candidate.KeyId) await discardKey(kms, candidate.KeyId!);
  if (!now) throw new SigningKeyUnavailableError(aliasName, new Error('alias vanished while being repaired'));
  return now.KeyId!;
}

// ---------------------------------------------------------------------------------------------

/** SDK errors by name: `instanceof` breaks when a bundle carries two copies of the SDK. */
function isKmsError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

const UNAVAILABLE = ['NotFoundException', 'DisabledException', 'KMSInvalidStateException'];

function translate(error: unknown, keyId: string): unknown {
  return isKmsError(error, ...UNAVAILABLE) ? new SigningKeyUnavailableError(keyId, error) : error;
}

async function kmsSign(kms: KMSClient, keyId: string, message: Uint8Array): Promise<Uint8Array> {
  let signature: Uint8Array | undefined;
  try {
    ({ Signature: signature } = await kms.send(new SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })));
  } catch (error) {
    throw translate(error, keyId);
  }
  if (!signature) throw new Error(`KMS Sign with ${keyId} returned no signature`);
  return derToP1363(signature);
}

async function fetchPublicKey(kms: KMSClient, keyId: string): Promise<PublicKeyInfo> {
  let der: Uint8Array | undefined;
  try {
    ({ PublicKey: der } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId })));
  } catch (error) {
    throw translate(error, keyId);
  }
  if (!der) throw new Error(`KMS GetPublicKey of ${keyId} returned no key`);
  const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TenantKeyIntegrityError(`KMS key ${keyId} is not a P-256 key`);
  }
  const { x, y } = key.export({ format: 'jwk' });
  return { key, kid: jwkThumbprint({ kty: 'EC', crv: 'P-256', x: x!, y: y! }) };
}

async function describeIfExists(kms: KMSClient, keyRef: string): Promise<KeyMetadata | undefined> {
  try {
    return (await kms.send(new DescribeKeyCommand({ KeyId: keyRef }))).KeyMetadata;
  } catch (error) {
    if (isKmsError(error, 'NotFoundException')) return undefined;
    throw error;
  }
}

async function createSigningKey(kms: KMSClient, description: string, tags: Tag[], policy?: string): Promise<KeyMetadata> {
  const { KeyMetadata: metadata } = await kms.send(
    new CreateKeyCommand({
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      Description: description,
      Tags: tags,
      // The safety check refuses a policy that would not let the caller change it later. The
      // caller (the admin role) is deliberately no key administrator, and the policy keeps the
      // account's own statement, so the key stays manageable (see tenantKeyPolicy).
      ...(policy !== undefined ? { Policy: policy, BypassPolicyLockoutSafetyCheck: true } : {}),
    }),
  );
  if (!metadata?.KeyId) throw new Error('KMS CreateKey returned no key id');
  return metadata;
}

/**
 * Points a new alias at `candidate`. If another caller got there first, the candidate is discarded
 * and the alias's key is returned instead.
 */
async function claimAlias(kms: KMSClient, aliasName: string, candidate: KeyMetadata): Promise<KeyMetadata> {
  try {
    await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: candidate.KeyId }));
    return candidate;
  } catch (error) {
    await discardKey(kms, candidate.KeyId!);
    if (!isKmsError(error, 'AlreadyExistsException')) throw error;
  }
  const winner = await describeIfExists(kms, aliasName);
  if (!winner?.KeyId) throw new SigningKeyUnavailableError(aliasName, new Error('alias was deleted while being claimed'));
  return winner;
}

async function createAliasIfAbsent(kms: KMSClient, aliasName: string, targetKeyId: string): Promise<void> {
  try {
    await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: targetKeyId }));
  } catch (error) {
    if (!isKmsError(error, 'AlreadyExistsException')) throw error;
  }
}

/**
 * Best effort: a key that lost a race was never used, and one that cannot be scheduled for
 * deletion now stays findable by its attestor:* tags and missing alias. Failing the caller over
 * it would not help, since its retry would find the winner and never revisit this key.
 */
async function discardKey(kms: KMSClient, keyId: string): Promise<void> {
  try {
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: DISCARD_WINDOW_DAYS }));
  } catch {
    // see above
  }
}

// The key policy is pure configuration, read by every function's configFromEnv; it lives in its own
// module so that parsing it does not bundle this adapter or load the KMS client.
export { InvalidKeyPolicyRoleError, tenantKeyPolicy, type TenantKeyPolicyRoles } from './kms-key-policy';
