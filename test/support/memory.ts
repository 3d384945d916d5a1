/**
 * In-memory implementations of the core's ports, for unit tests of the protocol logic.
 * Integration tests use the real adapters against the local cloud instead.
 */
import { createPublicKey, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { signEs256 } from './es256';
import { jwkThumbprint, type InstallPublicJwk } from '../../packages/verify/src/core/install-key';
import type { Policy } from '../../packages/service/src/core/policy';
import { KeyConflictError } from '../../packages/service/src/core/errors';
import type { AppIdentity } from '../../packages/contracts/src/admin-api';
import type {
  AppIdentityStore,
  AppRecord,
  AppRemoval,
  AppSnapshot,
  AttestationCatalog,
  BuildObject,
  DeviceRecord,
  DeviceStore,
  PolicyStore,
  PrincipalRecord,
  RegistrationStore,
  TenantApps,
  TenantDirectory,
  TenantKeyStore,
  TenantRecord,
  BuildStore,
  Clock,
  NonceRecord,
  NonceStore,
  RegistrationRecord,
  TenantKeyManager,
  TenantKeyRecord,
  TokenKeys,
  TokenSecret,
  TokenSigningKey,
  UploadRecord,
  UploadStore,
  UploadUrlIssuer,
  VerificationKeys,
  VerificationKeySource,
} from '../../packages/service/src/core/ports';
import type { TokenFormat } from '../../packages/contracts/src/protocol';
import { generateP256KeyPair } from '../../packages/local/src/kms/p256';
import {
  recordRef,
  type HardwareDeviceRecord,
  type HardwareDeviceRecords,
  type HardwareRecordRef,
  type RevocationList,
} from '../../packages/service/src/core/hardware/ports';

export class ManualClock implements Clock {
  constructor(public now = 1_800_000_000) {}
  nowSeconds(): number {
    return this.now;
  }
  advance(seconds: number): void {
    this.now += seconds;
  }
}

export class MemoryNonceStore implements NonceStore {
  readonly records = new Map<string, NonceRecord>();
  async put(record: NonceRecord): Promise<void> {
    this.records.set(record.nonceId, record);
  }
  async consume(nonceId: string, appId: string, nowSeconds: number): Promise<NonceRecord | undefined> {
    const record = this.records.get(nonceId);
    if (!record || record.appId !== appId || record.expiresAt <= nowSeconds) return undefined;
    this.records.delete(nonceId);
    return record;
  }
  async restore(record: NonceRecord): Promise<void> {
    if (!this.records.has(record.nonceId)) this.records.set(record.nonceId, record);
  }
}

/**
 * The registry's items in memory: one store that the small fakes below share, so that a test
 * arranges and inspects state through its maps while the code under test sees only the ports it
 * uses. Each fake can also stand alone over a store of its own (`new MemoryTenantKeyStore()`).
 */
export class MemoryRegistry {
  readonly apps = new Map<string, AppRecord>();
  /** Keyed by `${appId}\0${version}`. */
  readonly registrations = new Map<string, RegistrationRecord>();
  readonly policies = new Map<string, Policy>();
  readonly uploads = new Map<string, UploadRecord>();
  readonly tenantKeys: TenantKeyRecord[] = [];
  /** Keyed by `${appId}\0${deviceId}`. */
  readonly devices = new Map<string, DeviceRecord>();
  readonly tenants = new Map<string, TenantRecord>();
  readonly principals = new Map<string, PrincipalRecord>();
  /** Store identities, by appId. */
  readonly identities = new Map<string, AppIdentity>();

  /** The ports, each a view of the maps above. */
  readonly appStore: MemoryTenantApps = new MemoryTenantApps(this);
  readonly registrationStore: MemoryRegistrationStore = new MemoryRegistrationStore(this);
  readonly policyStore: MemoryPolicyStore = new MemoryPolicyStore(this);
  readonly deviceStore: MemoryDeviceStore = new MemoryDeviceStore(this);
  readonly catalog: MemoryAttestationCatalog = new MemoryAttestationCatalog(this);
  readonly uploadStore: MemoryUploadStore = new MemoryUploadStore(this);
  readonly keyStore: MemoryTenantKeyStore = new MemoryTenantKeyStore(this);
  readonly directory: MemoryTenantDirectory = new MemoryTenantDirectory(this);
  readonly identityStore: MemoryAppIdentityStore = new MemoryAppIdentityStore(this);
}

/** A fake of one port over a registry store (its own unless one is given). */
abstract class MemoryPort {
  constructor(readonly store: MemoryRegistry = new MemoryRegistry()) {}
}

export class MemoryTenantApps extends MemoryPort implements TenantApps {
  async getApp(appId: string) {
    return this.store.apps.get(appId);
  }
  async ensureApp(app: AppRecord) {
    const created = !this.store.apps.has(app.appId);
    if (created) this.store.apps.set(app.appId, app);
    return { app: this.store.apps.get(app.appId)!, created };
  }
  async listApps(tenantId: string) {
    return [...this.store.apps.values()].filter((a) => a.tenantId === tenantId).sort((a, b) => (a.appId < b.appId ? -1 : 1));
  }
  async deleteApp(appId: string): Promise<AppRemoval | undefined> {
    const app = this.store.apps.get(appId);
    if (!app) return undefined;
    this.store.apps.delete(appId);
    const removeUnder = (map: Map<string, unknown>) => {
      let n = 0;
      for (const key of [...map.keys()]) if (key.startsWith(`${appId}\0`) && map.delete(key)) n++;
      return n;
    };
    const registrations = removeUnder(this.store.registrations);
    const devices = removeUnder(this.store.devices);
    const policy = this.store.policies.delete(appId);
    this.store.identities.delete(appId);
    return { app, registrations, devices, policy };
  }
}

export class MemoryRegistrationStore extends MemoryPort implements RegistrationStore {
  async getRegistration(appId: string, version: string) {
    return this.store.registrations.get(`${appId}\0${version}`);
  }
  async putRegistrationIfAbsent(record: RegistrationRecord) {
    const key = `${record.appId}\0${record.version}`;
    if (!this.store.registrations.has(key)) this.store.registrations.set(key, record);
    return this.store.registrations.get(key)!;
  }
  async listRegistrations(appId: string) {
    return [...this.store.registrations.values()].filter((r) => r.appId === appId).sort((a, b) => b.registeredAt - a.registeredAt);
  }
  async deleteRegistration(appId: string, version: string) {
    const key = `${appId}\0${version}`;
    const old = this.store.registrations.get(key);
    this.store.registrations.delete(key);
    return old;
  }
  async setRegistrationExpiry(appId: string, version: string, expiresAt: number) {
    const key = `${appId}\0${version}`;
    const old = this.store.registrations.get(key);
    if (!old) return undefined;
    const updated = { ...old, expiresAt };
    this.store.registrations.set(key, updated);
    return updated;
  }
}

export class MemoryPolicyStore extends MemoryPort implements PolicyStore {
  async getPolicy(appId: string) {
    return this.store.policies.get(appId);
  }
  async putPolicy(appId: string, policy: Policy) {
    this.store.policies.set(appId, policy);
  }
}

export class MemoryDeviceStore extends MemoryPort implements DeviceStore {
  async listDevices(appId: string) {
    return [...this.store.devices.values()].filter((d) => d.appId === appId).sort((a, b) => b.createdAt - a.createdAt);
  }
  async getDevice(appId: string, deviceId: string) {
    return this.store.devices.get(`${appId}\0${deviceId}`);
  }
  async putDeviceIfAbsent(record: DeviceRecord) {
    const key = `${record.appId}\0${record.deviceId}`;
    if (this.store.devices.has(key)) return false;
    this.store.devices.set(key, record);
    return true;
  }
  async deleteDevice(appId: string, deviceId: string) {
    const key = `${appId}\0${deviceId}`;
    const old = this.store.devices.get(key);
    this.store.devices.delete(key);
    return old;
  }
}

export class MemoryAttestationCatalog extends MemoryPort implements AttestationCatalog {
  async appSnapshot(appId: string): Promise<AppSnapshot> {
    const app = this.store.apps.get(appId);
    const policy = this.store.policies.get(appId);
    const registrations = new Map([...this.store.registrations.values()].filter((r) => r.appId === appId).map((r) => [r.version, r]));
    const devices = new Map([...this.store.devices.values()].filter((d) => d.appId === appId).map((d) => [d.deviceId, d]));
    const identity = this.store.identities.get(appId);
    return { ...(app ? { app } : {}), ...(policy ? { policy } : {}), registrations, devices, ...(identity ? { identity } : {}) };
  }
}

export class MemoryAppIdentityStore extends MemoryPort implements AppIdentityStore {
  async getAppIdentity(appId: string) {
    return this.store.identities.get(appId);
  }
  async putAppIdentity(appId: string, identity: AppIdentity) {
    this.store.identities.set(appId, identity);
  }
  async deleteAppIdentity(appId: string) {
    return this.store.identities.delete(appId);
  }
}

export class MemoryUploadStore extends MemoryPort implements UploadStore {
  async putUpload(record: UploadRecord) {
    this.store.uploads.set(record.uploadId, record);
  }
  async getUpload(uploadId: string) {
    return this.store.uploads.get(uploadId);
  }
  async settleUpload(uploadId: string, update: Pick<UploadRecord, 'status' | 'reason' | 'sha256' | 'size'>) {
    const upload = this.store.uploads.get(uploadId);
    if (upload && upload.status === 'pending') this.store.uploads.set(uploadId, { ...upload, ...update });
  }
  async markUploadCompleted(uploadId: string, completedAt: number) {
    const upload = this.store.uploads.get(uploadId);
    if (upload && upload.completedAt === undefined) this.store.uploads.set(uploadId, { ...upload, completedAt });
  }
}

export class MemoryTenantKeyStore extends MemoryPort implements TenantKeyStore {
  async listTenantKeys(tenantId: string) {
    return this.store.tenantKeys.filter((k) => k.tenantId === tenantId).sort((a, b) => b.createdAt - a.createdAt);
  }
  async putTenantKey(record: TenantKeyRecord) {
    if (this.store.tenantKeys.some((k) => k.tenantId === record.tenantId && k.kid === record.kid)) throw new KeyConflictError(record.tenantId, record.kid);
    this.store.tenantKeys.push(record);
  }
  async retireTenantKey(tenantId: string, kid: string, retiresAt: number) {
    const keys = this.store.tenantKeys;
    const i = keys.findIndex((k) => k.tenantId === tenantId && k.kid === kid);
    if (i >= 0 && keys[i]!.retiresAt === undefined) keys[i] = { ...keys[i]!, retiresAt };
  }
  async markTenantKeyDeletionScheduled(tenantId: string, kid: string, at: number) {
    const keys = this.store.tenantKeys;
    const i = keys.findIndex((k) => k.tenantId === tenantId && k.kid === kid);
    if (i >= 0 && keys[i]!.deletionScheduledAt === undefined) {
      const { wrappedSecret: _erased, ...rest } = keys[i]!;
      keys[i] = { ...rest, deletionScheduledAt: at };
    }
  }
  /** When each tenant last claimed a rotation. */
  readonly rotations = new Map<string, number>();
  async claimRotation(tenantId: string, now: number, intervalSeconds: number) {
    const standing = this.rotations.get(tenantId);
    if (standing !== undefined && standing > now - intervalSeconds) return standing;
    this.rotations.set(tenantId, now);
    return undefined;
  }
  async releaseRotation(tenantId: string, claimedAt: number) {
    if (this.rotations.get(tenantId) === claimedAt) this.rotations.delete(tenantId);
  }
}

export class MemoryTenantDirectory extends MemoryPort implements TenantDirectory {
  async getTenant(tenantId: string) {
    return this.store.tenants.get(tenantId);
  }
  async deleteTenant(tenantId: string) {
    this.store.tenants.delete(tenantId);
  }
  async markTenantFinished(tenantId: string) {
    const tenant = this.store.tenants.get(tenantId);
    if (tenant) this.store.tenants.set(tenantId, { ...tenant, finished: true });
  }
  async putTenantIfAbsent(record: TenantRecord) {
    if (this.store.tenants.has(record.tenantId)) return false;
    this.store.tenants.set(record.tenantId, record);
    return true;
  }
  async listTenants() {
    return [...this.store.tenants.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
  }
  async getPrincipal(principal: string) {
    return this.store.principals.get(principal);
  }
  async putPrincipalIfAbsent(record: PrincipalRecord) {
    if (this.store.principals.has(record.principal)) return false;
    this.store.principals.set(record.principal, record);
    return true;
  }
  async putPrincipalOfTenant(record: PrincipalRecord) {
    const existing = this.store.principals.get(record.principal);
    if (existing && (existing.tenantId !== record.tenantId || existing.operator)) return false;
    this.store.principals.set(record.principal, record);
    return true;
  }
  async removePrincipalOfTenant(principal: string, tenantId: string) {
    const existing = this.store.principals.get(principal);
    if (!existing || existing.tenantId !== tenantId || existing.operator) return undefined;
    this.store.principals.delete(principal);
    return existing;
  }
  async listPrincipals(tenantId: string) {
    return [...this.store.principals.values()].filter((p) => p.tenantId === tenantId);
  }
}

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
}

export function generateTestKey(): TestKey {
  const { privateKey, publicKey } = generateP256KeyPair();
  const jwk = publicKey.export({ format: 'jwk' }) as unknown as InstallPublicJwk;
  return { privateKey, publicKey, kid: jwkThumbprint(jwk) };
}

/**
 * Token keys held in memory, like the KMS adapter's: per tenant an hs256 secret (the default) or,
 * after useFormat(tenant, 'es256'), a P-256 key that signs in P1363 form. Records what it was asked.
 */
export class MemoryTokenKeys implements TokenKeys, VerificationKeySource {
  private readonly formats = new Map<string, TokenFormat>();
  private readonly secretKeys = new Map<string, TokenSecret>();
  private readonly signingKeys = new Map<string, TestKey>();
  readonly decoy: TestKey = generateTestKey();
  /** es256 signatures made, by choice. */
  readonly es256Calls: Array<'tenant' | 'decoy'> = [];
  /** Tenants whose signing key was asked for. */
  readonly signingKeyCalls: string[] = [];

  useFormat(tenantId: string, format: TokenFormat): void {
    this.formats.set(tenantId, format);
  }
  formatOf(tenantId: string): TokenFormat {
    return this.formats.get(tenantId) ?? 'hs256';
  }
  secretFor(tenantId: string): TokenSecret {
    let secret = this.secretKeys.get(tenantId);
    if (!secret) {
      secret = { kid: `secret-${tenantId}`, key: createSecretKey(randomBytes(32)) };
      this.secretKeys.set(tenantId, secret);
    }
    return secret;
  }
  keyFor(tenantId: string): TestKey {
    let key = this.signingKeys.get(tenantId);
    if (!key) {
      key = generateTestKey();
      this.signingKeys.set(tenantId, key);
    }
    return key;
  }
  async signingKey(tenantId: string): Promise<TokenSigningKey> {
    this.signingKeyCalls.push(tenantId);
    if (this.formatOf(tenantId) === 'es256') return { format: 'es256', kid: this.keyFor(tenantId).kid };
    const { kid, key } = this.secretFor(tenantId);
    return { format: 'hs256', kid, secret: key };
  }
  async signEs256(tenantId: string, _kid: string, input: Uint8Array, key: 'tenant' | 'decoy') {
    this.es256Calls.push(key);
    const privateKey = key === 'tenant' ? this.keyFor(tenantId).privateKey : this.decoy.privateKey;
    return signEs256(input, privateKey);
  }
  async keys(tenantId: string): Promise<VerificationKeys> {
    if (this.formatOf(tenantId) === 'hs256') return { publicKeys: new Map(), secrets: [this.secretFor(tenantId)] };
    const key = this.keyFor(tenantId);
    return { publicKeys: new Map([[key.kid, createPublicKey(key.privateKey)]]), secrets: [] };
  }
}

export class MemoryBuildStore implements BuildStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly discarded: string[] = [];
  async open(objectKey: string): Promise<BuildObject> {
    const bytes = this.objects.get(objectKey);
    if (!bytes) throw new Error(`no object ${objectKey}`);
    return {
      size: bytes.length,
      discard: () => this.discarded.push(objectKey),
      body: (async function* () {
        for (let i = 0; i < bytes.length; i += 64 * 1024) yield bytes.subarray(i, i + 64 * 1024);
      })(),
    };
  }
}

/** The registry's ports as admin and register dependencies name them, all over `registry`. */
export function registryPorts(registry: MemoryRegistry) {
  return {
    apps: registry.appStore,
    registrations: registry.registrationStore,
    policies: registry.policyStore,
    devices: registry.deviceStore,
    identities: registry.identityStore,
    uploads: registry.uploadStore,
    tenants: registry.directory,
    rotations: registry.keyStore,
  };
}

// ---------- Hardware evidence (packages/service/src/core/hardware/ports.ts) ----------

/** Device records in memory, keyed like the DynamoDB adapter; the conditional writes are atomic (one turn of the event loop). */
export class MemoryHardwareDeviceRecords implements HardwareDeviceRecords {
  readonly records = new Map<string, HardwareDeviceRecord>();
  /** Every call, in order, for tests of what attest read and wrote. */
  readonly calls: Array<{ readonly op: 'get' | 'create' | 'advanceCounter'; readonly key: string; readonly ok?: boolean }> = [];

  static key(ref: HardwareRecordRef): string {
    return `${ref.platform}#${ref.appId}#${ref.id}`;
  }

  async get(ref: HardwareRecordRef): Promise<HardwareDeviceRecord | undefined> {
    this.calls.push({ op: 'get', key: MemoryHardwareDeviceRecords.key(ref) });
    return this.records.get(MemoryHardwareDeviceRecords.key(ref));
  }
  async create(record: HardwareDeviceRecord): Promise<boolean> {
    const key = MemoryHardwareDeviceRecords.key(recordRef(record));
    const ok = !this.records.has(key);
    if (ok) this.records.set(key, record);
    this.calls.push({ op: 'create', key, ok });
    return ok;
  }
  async advanceCounter(ref: HardwareRecordRef, from: number, to: number): Promise<boolean> {
    const key = MemoryHardwareDeviceRecords.key(ref);
    const record = this.records.get(key);
    const ok = record?.platform === 'ios' && record.counter === from;
    if (ok) this.records.set(key, { ...record, counter: to });
    this.calls.push({ op: 'advanceCounter', key, ok });
    return ok;
  }
}

/** A revocation list a test sets directly (serials lower-case hex, no leading zeros). */
export class MemoryRevocationList implements RevocationList {
  readonly serials = new Set<string>();
  reads = 0;
  async revokedSerials(): Promise<ReadonlySet<string>> {
    this.reads++;
    return this.serials;
  }
}

/** A tenant key manager for handler tests that do not look at keys: no key, and a rotation to kid `k`. */
export function inertKeyManager(): TenantKeyManager {
  return {
    ensureSigningKey: async () => undefined,
    jwks: async () => ({ keys: [] }),
    rotateSigningKey: async () => ({ kid: 'k', format: 'hs256', activatesAt: 0, keysDeleted: [], keysNotDeleted: [] }),
    wrappedSecrets: async () => ({ keys: [] }),
    describeKeys: async () => [],
  };
}

/** Upload URLs for handler tests that do not upload: fixed URLs, and `completeMultipart` as given. */
export function inertUploadUrls(completeMultipart: UploadUrlIssuer['completeMultipart'] = async () => undefined): UploadUrlIssuer {
  return {
    issue: async () => ({ url: 'https://s3.example/put', expiresAt: 0 }),
    issueMultipart: async () => ({ multipartUploadId: 'mp-1', parts: [], expiresAt: 0 }),
    completeMultipart,
  };
}
