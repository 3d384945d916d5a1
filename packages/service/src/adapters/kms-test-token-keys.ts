/**
 * A tenant's test secrets (PROTOCOL.md §5.7) in KMS: made like its production hs256 secrets (a
 * 256-bit data key KMS generates under the tenant's secrets key, GenerateDataKeyWithoutPlaintext, and
 * stored only wrapped), but under the test encryption context ({tenant, secret, purpose: test-token}).
 * The roles that unwrap production secrets may use no context but {tenant, secret}, so none of them
 * can unwrap a test secret; the role that mints test tokens may unwrap only under the test purpose, so
 * it cannot unwrap a production secret. A test secret is random, so knowing it says nothing of any
 * production secret.
 *
 * Minting unwraps the secret for each mint (a rare, administrative call: revoking the minting role's
 * Decrypt stops minting at once); verifiers keep it, as they keep production secrets, and unwrap it
 * again every SECRET_REFRESH_SECONDS.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { randomBytes, type KeyObject } from 'node:crypto';
import { encodeB64u } from '@attestor/contracts/base64url';
import type { WrappedTokenSecret } from '@attestor/contracts/admin-api';
import { TEST_KID_PREFIX, testSecretEncryptionContext, type TestSecretRotation } from '@attestor/contracts/test-tokens';
import type { Clock, TokenSecret, VerificationKeys, VerificationKeySource } from '../core/ports';
import type { TestSigningSecret, TestTokenKeys } from '../core/test-tokens';
import { SECRET_REFRESH_SECONDS } from '../core/tenant-keys';
import type { TestKeyRecord, TestKeyStore } from './dynamodb-registry/test-key-store';
import { generateWrappedSecret, unwrapSecret } from './kms-keys';

export interface KmsTestTokenKeysOptions {
  /** The tenant's secrets key, created on first use (KmsTenantKeys.secretsKey): only minting needs it. */
  readonly secretsKey?: (tenantId: string) => Promise<string>;
  readonly clock: Clock;
}

interface Unwrapped {
  readonly key: KeyObject;
  readonly unwrappedAt: number;
}

export class KmsTestTokenKeys implements TestTokenKeys {
  /** Verifiers' unwrapped test secrets, by kid. */
  private readonly unwrapped = new Map<string, Unwrapped>();

  constructor(
    private readonly kms: KMSClient,
    private readonly store: TestKeyStore,
    private readonly options: KmsTestTokenKeysOptions,
  ) {}

  /** The newest test secret of the tenant, made on its first mint; unwrapped for this mint only. */
  async testSigningSecret(tenantId: string): Promise<TestSigningSecret> {
    const record = (await this.store.listTestKeys(tenantId))[0] ?? (await this.create(tenantId));
    return { kid: record.kid, secret: await this.unwrap(record) };
  }

  /**
   * A new test secret for the tenant, then the ones it had before retired: the new one exists before
   * they go, so minting never finds none. Only the secrets listed before the new one was made are
   * retired, so two rotations at once each retire the old ones and neither retires the other's new
   * one (both stay in use, both fresh). A mint racing the rotation may sign with a secret retired a
   * moment later; its token then stops verifying at the verifiers' next refresh, as the rest.
   */
  async rotateTestSecret(tenantId: string): Promise<TestSecretRotation> {
    const before = await this.store.listTestKeys(tenantId);
    const created = await this.newRecord(tenantId);
    const now = this.options.clock.nowSeconds();
    await Promise.all(before.map((r) => this.store.retireTestKey(tenantId, r.kid, now)));
    for (const r of before) this.unwrapped.delete(r.kid);
    return { kid: created.kid, createdAt: created.createdAt, retired: before.map((r) => r.kid) };
  }

  /** Every test secret of the tenant, wrapped: what `attestor token secret` unwraps with the operator's own KMS permission. */
  async wrappedTestSecrets(tenantId: string): Promise<{ readonly keys: readonly WrappedTokenSecret[] }> {
    const records = await this.store.listTestKeys(tenantId);
    return {
      keys: records.map((r) => ({
        kid: r.kid,
        status: 'active' as const,
        activatesAt: r.createdAt,
        ciphertext: r.wrappedSecret,
        keyId: r.keyId,
        encryptionContext: testSecretEncryptionContext(tenantId, r.kid),
      })),
    };
  }

  /** Every test secret of the tenant, unwrapped (cached up to SECRET_REFRESH_SECONDS): for verifiers that accept test tokens. */
  async testSecrets(tenantId: string): Promise<{ readonly secrets: readonly TokenSecret[]; readonly confirmedAt?: number }> {
    const now = this.options.clock.nowSeconds();
    const records = await this.store.listTestKeys(tenantId);
    const entries = await Promise.all(
      records.map(async (r) => {
        const cached = this.unwrapped.get(r.kid);
        if (cached && now >= cached.unwrappedAt && now - cached.unwrappedAt < SECRET_REFRESH_SECONDS) return { kid: r.kid, ...cached };
        const entry = { key: await this.unwrap(r), unwrappedAt: now };
        this.unwrapped.set(r.kid, entry);
        return { kid: r.kid, ...entry };
      }),
    );
    return {
      secrets: entries.map(({ kid, key }) => ({ kid, key })),
      ...(entries.length > 0 ? { confirmedAt: Math.min(...entries.map((e) => e.unwrappedAt)) } : {}),
    };
  }

  private async create(tenantId: string): Promise<TestKeyRecord> {
    const record = await this.newRecord(tenantId);
    // Two first mints at once each record a secret: both are trusted, and the newest signs from now on.
    return (await this.store.listTestKeys(tenantId))[0] ?? record;
  }

  private async newRecord(tenantId: string): Promise<TestKeyRecord> {
    if (!this.options.secretsKey) throw new Error('this component does not make test secrets');
    const keyId = await this.options.secretsKey(tenantId);
    const kid = `${TEST_KID_PREFIX}${encodeB64u(randomBytes(16))}`;
    const wrapped = await generateWrappedSecret(this.kms, keyId, testSecretEncryptionContext(tenantId, kid));
    const record: TestKeyRecord = { tenantId, kid, keyId, wrappedSecret: Buffer.from(wrapped).toString('base64'), createdAt: this.options.clock.nowSeconds() };
    await this.store.putTestKey(record);
    return record;
  }

  private unwrap(record: TestKeyRecord): Promise<KeyObject> {
    return unwrapSecret(this.kms, record.keyId, Buffer.from(record.wrappedSecret, 'base64'), testSecretEncryptionContext(record.tenantId, record.kid));
  }
}

/**
 * A verifier's key source plus the tenant's test secrets: for an authorizer configured to accept test
 * tokens. The two load together; a failure of either fails the load (the verifier keeps what it had
 * for as long as it may, and then denies).
 */
export function withTestSecrets(source: VerificationKeySource, test: Pick<KmsTestTokenKeys, 'testSecrets'>): VerificationKeySource {
  return {
    async keys(tenantId: string): Promise<VerificationKeys> {
      const [production, testKeys] = await Promise.all([source.keys(tenantId), test.testSecrets(tenantId)]);
      const confirmed = [production.confirmedAt, testKeys.confirmedAt].filter((t): t is number => t !== undefined);
      return { ...production, testSecrets: testKeys.secrets, ...(confirmed.length > 0 ? { confirmedAt: Math.min(...confirmed) } : {}) };
    },
  };
}
