/**
 * In-memory implementations of the core's ports, for unit tests of the protocol logic.
 * Integration tests use the real adapters against the local cloud instead.
 */
import { createPublicKey, createSecretKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { jwkThumbprint, type InstallPublicJwk } from '../../packages/verify/src/core/install-key';
import type { Policy } from '../../packages/service/src/core/policy';
import type {
  AppRecord,
  AppRemoval,
  AppSnapshot,
  AttestationCatalog,
  BuildObject,
  DeviceRecord,
  PrincipalRecord,
  TenantDirectory,
  TenantRecord,
  BuildStore,
  Clock,
  NonceRecord,
  NonceStore,
  RegistrationRecord,
  Registry,
  TenantKeyRecord,
  TokenKeys,
  TokenSecret,
  TokenSigningKey,
  UploadRecord,
  VerificationKeys,
  VerificationKeySource,
} from '../../packages/service/src/core/ports';
import type { TokenFormat } from '../../packages/contracts/src/protocol';
import { generateP256KeyPair } from '../../packages/local/src/kms/p256';

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
  async consume(nonceId: string, appId: string, nowSeconds: number): Promise<boolean> {
    const record = this.records.get(nonceId);
    if (!record || record.appId !== appId || record.expiresAt <= nowSeconds) return false;
    this.records.delete(nonceId);
    return true;
  }
}

export class MemoryRegistry implements Registry, TenantDirectory, AttestationCatalog {
  readonly apps = new Map<string, AppRecord>();
  readonly registrations = new Map<string, RegistrationRecord>();
  readonly policies = new Map<string, Policy>();
  readonly uploads = new Map<string, UploadRecord>();
  readonly tenantKeys: TenantKeyRecord[] = [];
  /** Keyed by `${appId}\0${deviceId}`. */
  readonly devices = new Map<string, DeviceRecord>();
  readonly tenants = new Map<string, TenantRecord>();
  readonly principals = new Map<string, PrincipalRecord>();

  async getApp(appId: string) {
    return this.apps.get(appId);
  }
  async appSnapshot(appId: string): Promise<AppSnapshot> {
    const app = this.apps.get(appId);
    const policy = this.policies.get(appId);
    const registrations = new Map([...this.registrations.values()].filter((r) => r.appId === appId).map((r) => [r.version, r]));
    const devices = new Map([...this.devices.values()].filter((d) => d.appId === appId).map((d) => [d.deviceId, d]));
    return { ...(app ? { app } : {}), ...(policy ? { policy } : {}), registrations, devices };
  }
  async ensureApp(app: AppRecord) {
    if (!this.apps.has(app.appId)) this.apps.set(app.appId, app);
    return this.apps.get(app.appId)!;
  }
  async getRegistration(appId: string, version: string) {
    return this.registrations.get(`${appId}\0${version}`);
  }
  async putRegistrationIfAbsent(record: RegistrationRecord) {
    const key = `${record.appId}\0${record.version}`;
    if (!this.registrations.has(key)) this.registrations.set(key, record);
    return this.registrations.get(key)!;
  }
  async getPolicy(appId: string) {
    return this.policies.get(appId);
  }
  async putUpload(record: UploadRecord) {
    this.uploads.set(record.uploadId, record);
  }
  async getUpload(uploadId: string) {
    return this.uploads.get(uploadId);
  }
  async settleUpload(uploadId: string, update: Pick<UploadRecord, 'status' | 'reason' | 'sha256' | 'size'>) {
    const upload = this.uploads.get(uploadId);
    if (upload && upload.status === 'pending') this.uploads.set(uploadId, { ...upload, ...update });
  }
  async listTenantKeys(tenantId: string) {
    return this.tenantKeys.filter((k) => k.tenantId === tenantId).sort((a, b) => b.createdAt - a.createdAt);
  }
  async putTenantKey(record: TenantKeyRecord) {
    if (this.tenantKeys.some((k) => k.tenantId === record.tenantId && k.kid === record.kid)) throw new Error('KeyConflictError');
    this.tenantKeys.push(record);
  }
  async retireTenantKey(tenantId: string, kid: string, retiresAt: number) {
    const i = this.tenantKeys.findIndex((k) => k.tenantId === tenantId && k.kid === kid);
    if (i >= 0 && this.tenantKeys[i]!.retiresAt === undefined) this.tenantKeys[i] = { ...this.tenantKeys[i]!, retiresAt };
  }
  async markTenantKeyDeletionScheduled(tenantId: string, kid: string, at: number) {
    const i = this.tenantKeys.findIndex((k) => k.tenantId === tenantId && k.kid === kid);
    if (i >= 0 && this.tenantKeys[i]!.deletionScheduledAt === undefined) {
      const { wrappedSecret: _erased, ...rest } = this.tenantKeys[i]!;
      this.tenantKeys[i] = { ...rest, deletionScheduledAt: at };
    }
  }
  async listApps(tenantId: string) {
    return [...this.apps.values()].filter((a) => a.tenantId === tenantId).sort((a, b) => (a.appId < b.appId ? -1 : 1));
  }
  async deleteApp(appId: string): Promise<AppRemoval | undefined> {
    const app = this.apps.get(appId);
    if (!app) return undefined;
    this.apps.delete(appId);
    const removeUnder = (map: Map<string, unknown>) => {
      let n = 0;
      for (const key of [...map.keys()]) if (key.startsWith(`${appId}\0`) && map.delete(key)) n++;
      return n;
    };
    const registrations = removeUnder(this.registrations);
    const devices = removeUnder(this.devices);
    const policy = this.policies.delete(appId);
    return { app, registrations, devices, policy };
  }
  async listRegistrations(appId: string) {
    return [...this.registrations.values()].filter((r) => r.appId === appId).sort((a, b) => b.registeredAt - a.registeredAt);
  }
  async deleteRegistration(appId: string, version: string) {
    const key = `${appId}\0${version}`;
    const old = this.registrations.get(key);
    this.registrations.delete(key);
    return old;
  }
  async setRegistrationExpiry(appId: string, version: string, expiresAt: number) {
    const key = `${appId}\0${version}`;
    const old = this.registrations.get(key);
    if (!old) return undefined;
    const updated = { ...old, expiresAt };
    this.registrations.set(key, updated);
    return updated;
  }
  async putPolicy(appId: string, policy: Policy) {
    this.policies.set(appId, policy);
  }
  async listDevices(appId: string) {
    return [...this.devices.values()].filter((d) => d.appId === appId).sort((a, b) => b.createdAt - a.createdAt);
  }
  async getDevice(appId: string, deviceId: string) {
    return this.devices.get(`${appId}\0${deviceId}`);
  }
  async putDeviceIfAbsent(record: DeviceRecord) {
    const key = `${record.appId}\0${record.deviceId}`;
    if (this.devices.has(key)) return false;
    this.devices.set(key, record);
    return true;
  }
  async deleteDevice(appId: string, deviceId: string) {
    const key = `${appId}\0${deviceId}`;
    const old = this.devices.get(key);
    this.devices.delete(key);
    return old;
  }
  async markUploadCompleted(uploadId: string, completedAt: number) {
    const upload = this.uploads.get(uploadId);
    if (upload && upload.completedAt === undefined) this.uploads.set(uploadId, { ...upload, completedAt });
  }
  async getTenant(tenantId: string) {
    return this.tenants.get(tenantId);
  }
  async putTenantIfAbsent(record: TenantRecord) {
    if (this.tenants.has(record.tenantId)) return false;
    this.tenants.set(record.tenantId, record);
    return true;
  }
  async listTenants() {
    return [...this.tenants.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
  }
  async getPrincipal(principal: string) {
    return this.principals.get(principal);
  }
  async putPrincipalIfAbsent(record: PrincipalRecord) {
    if (this.principals.has(record.principal)) return false;
    this.principals.set(record.principal, record);
    return true;
  }
  async listPrincipals(tenantId: string) {
    return [...this.principals.values()].filter((p) => p.tenantId === tenantId);
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
    return sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
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
