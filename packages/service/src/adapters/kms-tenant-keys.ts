/**
 * Tenant token keys in KMS, as the core's TokenKeys (attest) and VerificationKeySource (authorizer);
 * creating, rotating, destroying and publishing them is the admin functions' KmsKeyProvisioner
 * (kms-key-provisioner.ts). The registry records each key of a tenant (KEYS#<tenant>); KMS holds
 * the key material:
 *
 * - hs256 (the default): a 256-bit secret made by KMS (GenerateDataKeyWithoutPlaintext) under the
 *   tenant's secrets key (alias `<prefix><tenant>/secrets`) and stored only wrapped, with an
 *   encryption context naming tenant and secret. The functions that mint and verify unwrap it once
 *   (Decrypt) and keep it in memory, unwrapping it again in the background every
 *   SECRET_REFRESH_SECONDS, so minting and verifying cost no KMS call. The admin functions make
 *   secrets and never see one.
 * - es256 (opt-in): a P-256 KMS signing key per rotation; every token is one KMS Sign.
 *
 * Several containers may create a tenant's secrets key at once: KMS's CreateAlias arbitrates (it
 * fails with AlreadyExistsException when the alias exists), the loser discards its key and uses the
 * winner's. Two containers may also record a tenant's first secret at once; the later-activating
 * one (ties by kid, the same answer everywhere) signs, and the other retires as after a rotation.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { KeyObject } from 'node:crypto';
import type {
  Clock,
  TenantKeyRecord,
  TenantKeyStore,
  TokenKeys,
  TokenSigningKey,
  VerificationKeys,
  VerificationKeySource,
} from '../core/ports';
import { formatOf, SECRET_REFRESH_SECONDS, signingKeyAt, trustedKeysAt } from '../core/tenant-keys';
import { secretEncryptionContext } from '@attestor/contracts/admin-api';
import { SECRET_CACHE_SECONDS } from '@attestor/contracts/protocol';
import type { TenantKeyPolicyRoles } from './kms-key-policy';
import { kmsSign, PublicKeyCache, SigningKeyUnavailableError, TenantKeyIntegrityError, unwrapSecret } from './kms-keys';
import { TenantKeyMissingError } from '../core/errors';

export { ensureDecoyKey, SigningKeyUnavailableError, TenantKeyIntegrityError } from './kms-keys';
export { SECRET_CACHE_SECONDS, SECRET_REFRESH_SECONDS };
export { InvalidTenantIdError, TenantKeyMissingError } from '../core/errors';

export interface KmsTenantKeysOptions {
  /** Key id, ARN or alias of the decoy key that signs es256 tokens of failed attestations. */
  readonly decoyKeyId: string;
  /** e.g. `alias/attestor/tenant/` */
  readonly aliasPrefix: string;
  readonly clock: Clock;
  /**
   * Roles named in the key policy of every key this creates (kms-key-policy.ts): it works the
   * moment the key exists, where IAM conditions on a new key's aliases or tags take up to five
   * minutes. Absent: KMS's default policy (IAM decides).
   */
  readonly keyPolicyRoles?: TenantKeyPolicyRoles;
}

/**
 * Age at which an instance reads a tenant's key records again, in the background: shorter than
 * KEY_PUBLICATION_SECONDS, so an instance under traffic has seen a rotated-in key before it
 * activates, and all switch to it at its activation time.
 */
export const SIGNING_KEY_CACHE_SECONDS = 30;

export interface CachedKeyRecords {
  readonly records: readonly TenantKeyRecord[];
  readonly fetchedAt: number;
}

export interface UnwrappedSecret {
  readonly key: Promise<KeyObject>;
  /** When the Decrypt behind `key` was asked for. */
  readonly unwrappedAt: number;
  /** The background unwrap under way, if any; it replaces this entry when it succeeds. */
  refreshing?: Promise<UnwrappedSecret>;
  /** Why the last refresh of this entry failed: past SECRET_CACHE_SECONDS the entry is then refused. */
  refreshError?: unknown;
}

/**
 * A tenant's keys as attest and verifiers use them: the signing key and its signatures, and the
 * trusted keys. Creating, rotating, destroying and publishing keys is KmsKeyProvisioner's
 * (kms-key-provisioner.ts), so the functions that only read keys (the authorizer, attest) carry no
 * code that creates one, and the admin functions none that signs or unwraps.
 */
export class KmsTenantKeys implements TokenKeys, VerificationKeySource {
  /** Key records by tenant; the manager forgets a tenant's after changing them. */
  protected readonly current = new Map<string, CachedKeyRecords>();
  private readonly currentLoads = new Map<string, Promise<CachedKeyRecords>>();
  /** Public keys never change, so they are cached for the life of the process. */
  private readonly publicKeys: PublicKeyCache;
  /** By kid. */
  protected readonly secrets = new Map<string, UnwrappedSecret>();

  constructor(
    protected readonly kms: KMSClient,
    protected readonly registry: TenantKeyStore,
    protected readonly options: KmsTenantKeysOptions,
  ) {
    this.publicKeys = new PublicKeyCache(kms);
  }

  // ----- TokenKeys (attest) -------------------------------------------------------------------

  /**
   * Once a tenant's records and secret are in memory, never waits on AWS: both are refreshed in the
   * background, so a tenant's attestation after a pause costs what an unknown app id's does (attest
   * asks for a stand-in tenant's key for those, through these same calls; PROTOCOL.md §9).
   */
  async signingKey(tenantId: string): Promise<TokenSigningKey> {
    const now = this.options.clock.nowSeconds();
    const chosen = signingKeyAt((await this.keyRecords(tenantId, now)).records, now);
    if (!chosen) throw new TenantKeyMissingError(tenantId);
    if (formatOf(chosen) === 'es256') return { format: 'es256', kid: chosen.kid };
    try {
      const entry = this.secretEntry(chosen, now);
      // Past its lifetime a secret is still used while its first refresh is under way (after a pause,
      // so that the pause does not show in the answer's timing), never once a refresh has failed:
      // a revoked Decrypt or a disabled key stops minting.
      if (now - entry.unwrappedAt >= SECRET_CACHE_SECONDS && entry.refreshError !== undefined) throw entry.refreshError;
      return { format: 'hs256', kid: chosen.kid, secret: await entry.key };
    } catch (error) {
      // Drop the cached records so that a repaired or rotated registry is seen on the next call.
      if (error instanceof SigningKeyUnavailableError) this.current.delete(tenantId);
      throw error;
    }
  }

  async signEs256(tenantId: string, kid: string, signingInput: Uint8Array, key: 'tenant' | 'decoy'): Promise<Uint8Array> {
    // Both choices do the same work (a cached registry lookup, then one KMS Sign) so that timing
    // does not tell a genuine token from a decoy.
    const now = this.options.clock.nowSeconds();
    const { records } = await this.keyRecords(tenantId, now);
    const chosen = trustedKeysAt(records, now).find((r) => r.kid === kid) ?? signingKeyAt(records, now);
    if (!chosen || formatOf(chosen) !== 'es256') throw new TenantKeyMissingError(tenantId);
    try {
      return await kmsSign(this.kms, key === 'tenant' ? chosen.keyId : this.options.decoyKeyId, signingInput);
    } catch (error) {
      if (error instanceof SigningKeyUnavailableError && key === 'tenant') this.current.delete(tenantId);
      throw error;
    }
  }

  // ----- VerificationKeySource (authorizer) -----------------------------------------------------

  /**
   * Read fresh from the registry (the verifier's KeyRing decides how often). A cached secret is
   * handed out only within SECRET_REFRESH_SECONDS of its Decrypt, else this waits for a new one
   * (and fails with it), and `confirmedAt` tells the ring how old the oldest one is: a verifier
   * whose Decrypt was revoked stops within SECRET_CACHE_SECONDS of its last successful Decrypt.
   */
  async keys(tenantId: string): Promise<VerificationKeys> {
    const now = this.options.clock.nowSeconds();
    const records = await this.registry.listTenantKeys(tenantId);
    const trusted = trustedKeysAt(records, now);
    const signing = signingKeyAt(records, now);
    const es256 = trusted.filter((r) => formatOf(r) === 'es256');
    // The key signing now first: hs256 tokens name no key, so verifiers try the likeliest first.
    const hs256 = trusted.filter((r) => formatOf(r) === 'hs256').sort((a, b) => Number(b.kid === signing?.kid) - Number(a.kid === signing?.kid));
    const [publicKeys, secrets] = await Promise.all([
      Promise.all(es256.map(async (r): Promise<[string, KeyObject]> => [r.kid, await this.publicKeys.verified(r)])),
      Promise.all(
        hs256.map(async (r) => {
          const cached = this.secretEntry(r, now);
          // Verifiers load in the background, so waiting here costs no request; a secret handed out
          // with less than a minute of its lifetime left would be stale by the verifier's next load.
          const entry = now - cached.unwrappedAt < SECRET_REFRESH_SECONDS ? cached : await (cached.refreshing ?? this.refreshSecret(r, cached, now));
          return { kid: r.kid, key: await entry.key, unwrappedAt: entry.unwrappedAt };
        }),
      ),
    ]);
    const retiresAt = new Map(trusted.flatMap((r): Array<[string, number]> => (r.retiresAt !== undefined ? [[r.kid, r.retiresAt]] : [])));
    return {
      publicKeys: new Map(publicKeys),
      secrets: secrets.map(({ kid, key }) => ({ kid, key })),
      ...(retiresAt.size > 0 ? { retiresAt } : {}),
      ...(secrets.length > 0 ? { confirmedAt: Math.min(...secrets.map((s) => s.unwrappedAt)) } : {}),
    };
  }

  // ----- internals -------------------------------------------------------------------------------

  /**
   * The tenant's key records: only the first call for a tenant waits for the registry; after that
   * they are read again in the background once SIGNING_KEY_CACHE_SECONDS old, and the records at
   * hand answer meanwhile (and for as long as the registry fails: they hold no secret).
   */
  private async keyRecords(tenantId: string, now: number): Promise<CachedKeyRecords> {
    const cached = this.current.get(tenantId);
    if (cached) {
      // A clock that went backwards makes the entry due rather than extending it.
      if (now < cached.fetchedAt || now - cached.fetchedAt >= SIGNING_KEY_CACHE_SECONDS) this.loadKeyRecords(tenantId, now).catch(() => undefined);
      return cached;
    }
    return this.loadKeyRecords(tenantId, now);
  }

  /** One registry read per tenant at a time, shared by whoever asks meanwhile. */
  private loadKeyRecords(tenantId: string, now: number): Promise<CachedKeyRecords> {
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

  /**
   * The in-memory entry of an hs256 record's secret. Only the first use of a secret in a container
   * waits for KMS; from SECRET_REFRESH_SECONDS on, a use starts a background unwrap that replaces
   * the entry when it succeeds. Callers decide what an entry past SECRET_CACHE_SECONDS is good for.
   */
  private secretEntry(record: TenantKeyRecord, now: number): UnwrappedSecret {
    const cached = this.secrets.get(record.kid);
    if (cached === undefined) {
      const entry: UnwrappedSecret = { key: this.unwrap(record), unwrappedAt: now };
      this.secrets.set(record.kid, entry);
      // A failed first unwrap is not remembered: the next request tries again.
      entry.key.catch(() => {
        if (this.secrets.get(record.kid) === entry) this.secrets.delete(record.kid);
      });
      return entry;
    }
    const age = now - cached.unwrappedAt;
    // A clock that went backwards makes the entry due rather than extending it.
    if ((age < 0 || age >= SECRET_REFRESH_SECONDS) && cached.refreshing === undefined) this.refreshSecret(record, cached, now).catch(() => undefined);
    return cached;
  }

  private refreshSecret(record: TenantKeyRecord, cached: UnwrappedSecret, now: number): Promise<UnwrappedSecret> {
    const refreshing = this.unwrap(record).then(
      (key): UnwrappedSecret => {
        const entry: UnwrappedSecret = { key: Promise.resolve(key), unwrappedAt: now };
        // Not if the entry was dropped meanwhile (its key destroyed by a rotation).
        if (this.secrets.get(record.kid) === cached) this.secrets.set(record.kid, entry);
        return entry;
      },
      (error: unknown) => {
        cached.refreshError = error ?? new Error('unwrap failed');
        cached.refreshing = undefined;
        throw error;
      },
    );
    cached.refreshing = refreshing;
    return refreshing;
  }

  private unwrap(record: TenantKeyRecord): Promise<KeyObject> {
    if (record.wrappedSecret === undefined)
      return Promise.reject(new TenantKeyIntegrityError(`hs256 key ${record.kid} of tenant ${record.tenantId} has no wrapped secret`));
    return unwrapSecret(this.kms, record.keyId, Buffer.from(record.wrappedSecret, 'base64'), secretEncryptionContext(record.tenantId, record.kid));
  }
}
