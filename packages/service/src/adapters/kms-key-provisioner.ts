/**
 * A tenant's keys as the admin API manages them (core's TenantKeyManager): creating, rotating and
 * destroying them in KMS, and publishing what verifiers need (the JWKS of es256 keys, the wrapped
 * hs256 secrets), without what signs with them or unwraps a secret (KmsTenantKeys, attest's and the
 * authorizer's). adminKeys and adminUploads use it alone, so neither carries code that signs a token
 * or sees a token secret; KmsTenantKeyManager (kms-tenant-key-manager.ts) puts the two together for
 * the local cloud, which runs every function over one set of adapters.
 */
import { ScheduleKeyDeletionCommand, type KMSClient, type Tag } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { TENANT_ID_PATTERN } from '@attestor/contracts/admin-ids';
import { encodeB64u } from '@attestor/contracts/base64url';
import { secretEncryptionContext } from '@attestor/contracts/admin-api';
import { DEFAULT_TOKEN_FORMAT, type TokenFormat } from '@attestor/contracts/protocol';
import type {
  Clock,
  KeyRotation,
  PublicJwk,
  TenantKeyDescription,
  TenantKeyManager,
  TenantKeyRecord,
  TenantKeyStore,
  WrappedTokenSecret,
} from '../core/ports';
import {
  activatesAt,
  currentFormat,
  formatOf,
  KEY_PUBLICATION_SECONDS,
  keysToDelete,
  keyStatusAt,
  retirementsAfterRotation,
  signingKeyAt,
  trustedKeysAt,
} from '../core/tenant-keys';
import { InvalidTenantIdError } from '../core/errors';
import { RETIRED_KEY_DELETION_WINDOW_DAYS, tenantKeyPolicy, tenantSecretKeyPolicy, type TenantKeyPolicyRoles } from './kms-key-policy';
import {
  claimAlias,
  createAliasIfAbsent,
  createKey,
  describeIfExists,
  discardKey,
  fetchPublicKey,
  generateWrappedSecret,
  isKmsError,
  SigningKeyUnavailableError,
  PublicKeyCache,
  type KeyKind,
} from './kms-keys';

export interface KmsKeyProvisionerOptions {
  /** e.g. `alias/attestor/tenant/` */
  readonly aliasPrefix: string;
  readonly clock: Clock;
  /** Roles named in the key policy of every key this creates (kms-key-policy.ts); absent: KMS's default policy. */
  readonly keyPolicyRoles?: TenantKeyPolicyRoles;
  /**
   * Told after this changed a tenant's keys: `destroyed` names the kids whose key material is gone.
   * KmsTenantKeyManager forgets what it had read of them.
   */
  readonly onKeysChanged?: (tenantId: string, destroyed: readonly string[]) => void;
}

/**
 * When a new key starts signing: KEY_PUBLICATION_SECONDS from now, and after every key already
 * recorded, so that of two rotations made one after the other (even within a second) the later one
 * signs. Truly concurrent rotations can still tie; signingKeyAt breaks the tie the same way everywhere.
 */
function nextActivation(records: readonly TenantKeyRecord[], now: number): number {
  return Math.max(now + KEY_PUBLICATION_SECONDS, ...records.map((r) => activatesAt(r) + 1));
}

/** Tenant ids become part of KMS alias names; anything else is refused before KMS is called. */
function assertTenantId(tenantId: string): void {
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new InvalidTenantIdError(`tenant id must match ${TENANT_ID_PATTERN.source} to be part of a KMS alias`);
}

export class KmsKeyProvisioner implements TenantKeyManager {
  /** Secrets keys by tenant: created once, never replaced. */
  private readonly secretsKeys = new Map<string, Promise<string>>();
  private readonly ensuring = new Map<string, Promise<void>>();
  /** A KMS key's public key never changes: read once per container, as KmsTenantKeys does. */
  private readonly publicKeys: PublicKeyCache;

  constructor(
    private readonly kms: KMSClient,
    private readonly registry: TenantKeyStore,
    private readonly options: KmsKeyProvisionerOptions,
  ) {
    this.publicKeys = new PublicKeyCache(kms);
  }

  async ensureSigningKey(tenantId: string): Promise<void> {
    assertTenantId(tenantId);
    // Concurrent callers in this process share one attempt; other processes are settled by retirement.
    let pending = this.ensuring.get(tenantId);
    if (!pending) {
      pending = this.createFirstKey(tenantId).finally(() => this.ensuring.delete(tenantId));
      this.ensuring.set(tenantId, pending);
    }
    return pending;
  }

  /**
   * A new key in `format` (default: the format of the key signing now), published (to verifiers)
   * from now and signing from now + KEY_PUBLICATION_SECONDS; then every older key is given its
   * retirement time. Concurrent rotations each add a key; the one activating last wins and the
   * others retire with the rest.
   */
  async rotateSigningKey(tenantId: string, format?: TokenFormat): Promise<KeyRotation> {
    assertTenantId(tenantId);
    const now = this.options.clock.nowSeconds();
    const before = await this.registry.listTenantKeys(tenantId);
    const chosen = format ?? currentFormat(before, now);
    const record = await this.newKeyRecord(tenantId, chosen, now, nextActivation(before, now));
    await this.recordKey(record);
    const records = await this.retireOlderKeys(tenantId);
    // The retirements just set lie in the future, so this listing still tells which keys have retired by now.
    return { kid: record.kid, format: chosen, activatesAt: activatesAt(record), ...(await this.destroyRetiredKeys(tenantId, records, now)) };
  }

  async describeKeys(tenantId: string): Promise<TenantKeyDescription[]> {
    const now = this.options.clock.nowSeconds();
    const records = await this.registry.listTenantKeys(tenantId);
    // Latest activation first: a pending key heads the list, then the signing key, then the older ones.
    const ordered = [...records].sort((a, b) => activatesAt(b) - activatesAt(a) || b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1));
    return ordered.map((r) => ({
      kid: r.kid,
      format: formatOf(r),
      status: keyStatusAt(r, records, now),
      createdAt: r.createdAt,
      activatesAt: activatesAt(r),
      ...(r.retiresAt !== undefined ? { retiresAt: r.retiresAt } : {}),
      ...(r.deletionScheduledAt !== undefined ? { deletionScheduledAt: r.deletionScheduledAt } : {}),
    }));
  }

  /** The public keys of the tenant's trusted es256 keys, each read from KMS and checked against its recorded kid. */
  async jwks(tenantId: string): Promise<{ readonly keys: readonly PublicJwk[] }> {
    const now = this.options.clock.nowSeconds();
    const es256 = trustedKeysAt(await this.registry.listTenantKeys(tenantId), now).filter((r) => formatOf(r) === 'es256');
    const keys = await Promise.all(
      es256.map(async (record): Promise<PublicJwk> => {
        const { x, y } = (await this.publicKeys.verified(record)).export({ format: 'jwk' });
        return {
          kty: 'EC',
          crv: 'P-256',
          x: x!,
          y: y!,
          kid: record.kid,
          alg: 'ES256',
          use: 'sig',
          ...(record.retiresAt !== undefined ? { retiresAt: record.retiresAt } : {}),
        };
      }),
    );
    return { keys };
  }

  /** The tenant's trusted hs256 secrets, wrapped (as recorded: this never unwraps one), the signing one first. */
  async wrappedSecrets(tenantId: string): Promise<{ readonly keys: readonly WrappedTokenSecret[] }> {
    const now = this.options.clock.nowSeconds();
    const records = await this.registry.listTenantKeys(tenantId);
    const signing = signingKeyAt(records, now);
    const hs256 = trustedKeysAt(records, now)
      .filter((r) => formatOf(r) === 'hs256' && r.wrappedSecret !== undefined)
      .sort((a, b) => Number(b.kid === signing?.kid) - Number(a.kid === signing?.kid));
    return {
      keys: hs256.map((r) => ({
        kid: r.kid,
        status: keyStatusAt(r, records, now),
        activatesAt: activatesAt(r),
        ...(r.retiresAt !== undefined ? { retiresAt: r.retiresAt } : {}),
        ciphertext: r.wrappedSecret!,
        keyId: r.keyId,
        encryptionContext: secretEncryptionContext(tenantId, r.kid),
      })),
    };
  }

  private async createFirstKey(tenantId: string): Promise<void> {
    const now = this.options.clock.nowSeconds();
    if (trustedKeysAt(await this.registry.listTenantKeys(tenantId), now).length > 0) return;
    // A tenant's first key signs at once: there are no tokens yet for verifiers to keep accepting.
    await this.recordKey(await this.newKeyRecord(tenantId, DEFAULT_TOKEN_FORMAT, now, now));
    await this.retireOlderKeys(tenantId);
  }

  /**
   * Writes a new key's record. When the write fails, an es256 key that is not recorded is discarded:
   * nothing would ever use it, and it would cost money every month. Only once a read says so, since a
   * write that timed out may still have landed, and discarding a recorded key would stop its signing;
   * when the read fails too, the key is kept. An hs256 record holds its own wrapped secret: no key to
   * discard.
   */
  private async recordKey(record: TenantKeyRecord): Promise<void> {
    try {
      await this.registry.putTenantKey(record);
    } catch (error) {
      if (formatOf(record) === 'es256') {
        const recorded = await this.registry.listTenantKeys(record.tenantId).then(
          (records) => records.some((r) => r.kid === record.kid),
          () => true,
        );
        if (!recorded) await discardKey(this.kms, record.keyId);
      }
      throw error;
    }
  }

  /** Retires every key but the newest-activating one; returns the records as listed after the write. */
  private async retireOlderKeys(tenantId: string): Promise<TenantKeyRecord[]> {
    // Listed after recording: of two concurrent writers, at least one sees both keys.
    const records = await this.registry.listTenantKeys(tenantId);
    for (const { kid, retiresAt } of retirementsAfterRotation(records)) await this.registry.retireTenantKey(tenantId, kid, retiresAt);
    this.options.onKeysChanged?.(tenantId, []);
    return records;
  }

  private async newKeyRecord(tenantId: string, format: TokenFormat, createdAt: number, activates: number): Promise<TenantKeyRecord> {
    const common = { tenantId, createdAt, status: 'active' as const, format, ...(activates !== createdAt ? { activatesAt: activates } : {}) };
    if (format === 'hs256') {
      const keyId = await this.secretsKey(tenantId);
      const kid = encodeB64u(randomBytes(16));
      const wrapped = await generateWrappedSecret(this.kms, keyId, secretEncryptionContext(tenantId, kid));
      return { ...common, kid, keyId, wrappedSecret: Buffer.from(wrapped).toString('base64') };
    }
    const created = await createKey(
      this.kms,
      'signing',
      `Attestor token signing key of tenant ${tenantId}`,
      this.tags(tenantId, 'token-signing'),
      this.policy('signing', tenantId),
    );
    const keyId = created.Arn ?? created.KeyId!;
    try {
      const { kid } = await fetchPublicKey(this.kms, keyId);
      await createAliasIfAbsent(this.kms, `${this.options.aliasPrefix}${tenantId}/${kid}`, created.KeyId!);
      return { ...common, kid, keyId };
    } catch (error) {
      // Not recorded yet, so nothing will ever use it: a rotation that failed here (KMS throttled)
      // must not leave a key that costs money every month; the caller's retry makes a new one.
      await discardKey(this.kms, created.KeyId!);
      throw error;
    }
  }

  /**
   * The ARN of the tenant's secrets key, created (and its alias claimed) on first use. Public for the
   * tenant's test secrets (kms-test-token-keys.ts), which it wraps too, under another encryption context.
   */
  secretsKey(tenantId: string): Promise<string> {
    let pending = this.secretsKeys.get(tenantId);
    if (!pending) {
      pending = this.findOrCreateSecretsKey(tenantId);
      this.secretsKeys.set(tenantId, pending);
      pending.catch(() => this.secretsKeys.delete(tenantId));
    }
    return pending;
  }

  private async findOrCreateSecretsKey(tenantId: string): Promise<string> {
    const alias = `${this.options.aliasPrefix}${tenantId}/secrets`;
    let key = await describeIfExists(this.kms, alias);
    if (!key) {
      const candidate = await createKey(
        this.kms,
        'secrets',
        `Attestor: wraps the token secrets of tenant ${tenantId}`,
        this.tags(tenantId, 'token-secrets'),
        this.policy('secrets', tenantId),
      );
      key = await claimAlias(this.kms, alias, candidate);
    }
    if (key.KeyState !== undefined && key.KeyState !== 'Enabled') {
      throw new SigningKeyUnavailableError(alias, new Error(`the key is ${key.KeyState}`), key.KeyState === 'PendingDeletion');
    }
    return key.Arn ?? key.KeyId!;
  }

  private tags(tenantId: string, purpose: 'token-signing' | 'token-secrets'): Tag[] {
    return [
      { TagKey: 'attestor:tenant', TagValue: tenantId },
      { TagKey: 'attestor:purpose', TagValue: purpose },
    ];
  }

  private policy(kind: KeyKind, tenantId: string): string | undefined {
    const roles = this.options.keyPolicyRoles;
    if (!roles) return undefined;
    return kind === 'signing' ? tenantKeyPolicy(roles) : tenantSecretKeyPolicy(roles, tenantId);
  }

  /**
   * Destroys every retired key not yet destroyed: nothing needs it (it signs nothing, no verifier
   * trusts it, every token it signed has expired), and keeping it would keep key material for
   * ever. es256: KMS deletion scheduled; hs256: the wrapped secret erased from its record.
   * Failures are returned, not thrown: they must not undo or hide the rotation that came before.
   */
  private async destroyRetiredKeys(
    tenantId: string,
    records: readonly TenantKeyRecord[],
    now: number,
  ): Promise<Pick<KeyRotation, 'keysDeleted' | 'keysNotDeleted'>> {
    const keysDeleted: string[] = [];
    const keysNotDeleted: Array<{ kid: string; reason: string }> = [];
    for (const record of keysToDelete(records, now)) {
      try {
        if (formatOf(record) === 'es256') await this.scheduleDeletion(record);
        await this.registry.markTenantKeyDeletionScheduled(tenantId, record.kid, now);
        keysDeleted.push(record.kid);
      } catch (error) {
        keysNotDeleted.push({ kid: record.kid, reason: `${(error as Error).name}: ${(error as Error).message}` });
      }
    }
    if (keysDeleted.length > 0) this.options.onKeysChanged?.(tenantId, keysDeleted);
    return { keysDeleted, keysNotDeleted };
  }

  private async scheduleDeletion(record: TenantKeyRecord): Promise<void> {
    try {
      await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: record.keyId, PendingWindowInDays: RETIRED_KEY_DELETION_WINDOW_DAYS }));
    } catch (error) {
      // Gone, or already pending deletion (an earlier attempt that could not record it): done either way.
      if (isKmsError(error, 'NotFoundException')) return;
      if (isKmsError(error, 'KMSInvalidStateException') && (await describeIfExists(this.kms, record.keyId))?.KeyState === 'PendingDeletion') return;
      throw error;
    }
  }
}
