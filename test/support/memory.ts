/**
 * In-memory implementations of the core's ports, for unit tests of the protocol logic.
 * Integration tests use the real adapters against the local cloud instead.
 */
import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { jwkThumbprint, type InstallPublicJwk } from '../../src/core/install-key';
import type { Policy } from '../../src/core/policy';
import type {
  AppRecord,
  BuildObject,
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

export class MemoryRegistry implements Registry {
  readonly apps = new Map<string, AppRecord>();
  readonly registrations = new Map<string, RegistrationRecord>();
  readonly policies = new Map<string, Policy>();
  readonly uploads = new Map<string, UploadRecord>();
  readonly tenantKeys: TenantKeyRecord[] = [];

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
}

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
}

export function generateTestKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
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
