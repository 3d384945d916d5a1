/**
 * In-memory implementations of the core's ports, for unit tests of the protocol logic.
 * Integration tests use the real adapters against the local cloud instead.
 */
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { jwkThumbprint, type InstallPublicJwk } from '../../src/core/install-key';
import type { Policy } from '../../src/core/policy';
import type {
  AppRecord,
  AppRemoval,
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
  SigningKeyChoice,
  TenantKeyRecord,
  TokenSigner,
  UploadRecord,
  VerificationKeySource,
} from '../../src/core/ports';
import { generateP256KeyPair } from '../../src/core/p256';

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

export class MemoryRegistry implements Registry, TenantDirectory {
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
    if (i >= 0 && this.tenantKeys[i]!.deletionScheduledAt === undefined) this.tenantKeys[i] = { ...this.tenantKeys[i]!, deletionScheduledAt: at };
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

/** Signs like the KMS adapter (P1363 output) with keys held in memory; records which key it used. */
export class MemorySigner implements TokenSigner, VerificationKeySource {
  readonly tenant = new Map<string, TestKey>();
  readonly decoy: TestKey = generateTestKey();
  readonly calls: SigningKeyChoice[] = [];

  keyFor(tenantId: string): TestKey {
    let key = this.tenant.get(tenantId);
    if (!key) {
      key = generateTestKey();
      this.tenant.set(tenantId, key);
    }
    return key;
  }
  async signingKid(tenantId: string) {
    return this.keyFor(tenantId).kid;
  }
  async sign(tenantId: string, input: Uint8Array, key: SigningKeyChoice) {
    this.calls.push(key);
    const privateKey = key === 'tenant' ? this.keyFor(tenantId).privateKey : this.decoy.privateKey;
    return sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  }
  async keys(tenantId: string): Promise<ReadonlyMap<string, KeyObject>> {
    const key = this.keyFor(tenantId);
    return new Map([[key.kid, createPublicKey(key.privateKey)]]);
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
