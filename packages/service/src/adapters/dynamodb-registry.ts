/**
 * The registry in one DynamoDB table (layout REGISTRY_TABLE in tables.ts):
 *   APP#<appId>       / APP            app record
 *   APP#<appId>       / VER#<version>  registration
 *   APP#<appId>       / POLICY         policy
 *   APP#<appId>       / DEVICE#<id>    allow-listed device (install key or debug secret digest)
 *   UPLOAD#<uploadId> / UPLOAD         upload status
 *   KEYS#<tenantId>   / KEY#<kid>      tenant signing key (a partition of its own: see REGISTRY_PARTITIONS)
 *   TENANT#<tenantId> / APP#<appId>    index: the tenant's apps
 *   TENANT#<tenantId> / PRINCIPAL#<arn> index: the tenant's principals
 *   TENANTS           / TENANT#<tenantId> tenant record (one partition, so listing is one Query)
 *   PRINCIPAL#<arn>   / PRINCIPAL      which tenant an IAM principal administers
 * Every write that must not clobber existing state is a conditional write, so two Lambdas racing
 * on the same record (a redelivered S3 event, two admins) settle on one stored value.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DEFAULT_POLICY, SIGNAL_NAMES, type Policy, type SignalName } from '../core/policy';
import { TOKEN_FORMATS } from '@attestor/contracts/protocol';
import type {
  AppRecord,
  AppRemoval,
  AppSnapshot,
  DeviceKind,
  DeviceRecord,
  PrincipalRecord,
  RegistrationRecord,
  Registry,
  TenantDirectory,
  TenantKeyRecord,
  TenantKeyStatus,
  TenantRecord,
  UploadRecord,
  UploadStatus,
} from '../core/ports';
import { isConditionalCheckFailed } from './dynamodb-nonce-store';
import { REGISTRY_PARTITIONS, REGISTRY_TABLE } from '@attestor/contracts/tables';

/** putTenantKey found a record for the same (tenantId, kid): the caller decides whether that is a race or a bug. */
export class KeyConflictError extends Error {
  override readonly name = 'KeyConflictError';
  constructor(
    readonly tenantId: string,
    readonly kid: string,
  ) {
    super(`a key record for kid ${kid} of tenant ${tenantId} already exists`);
  }
}

/** A stored item that does not have the shape this code writes: corrupt or written by something else. */
export class MalformedItemError extends Error {
  override readonly name = 'MalformedItemError';
}

export type Item = Record<string, AttributeValue>;
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

const PK = REGISTRY_TABLE.partitionKey;
const SK = REGISTRY_TABLE.sortKey ?? 'sk';

const { app: APP, upload: UPLOAD, tenantKeys: KEYS, tenant: TENANT, principal: PRINCIPAL } = REGISTRY_PARTITIONS;

export const registryKeys = {
  app: (appId: string): ItemKey => ({ pk: `${APP}${appId}`, sk: 'APP' }),
  registration: (appId: string, version: string): ItemKey => ({ pk: `${APP}${appId}`, sk: `VER#${version}` }),
  policy: (appId: string): ItemKey => ({ pk: `${APP}${appId}`, sk: 'POLICY' }),
  upload: (uploadId: string): ItemKey => ({ pk: `${UPLOAD}${uploadId}`, sk: 'UPLOAD' }),
  tenantKey: (tenantId: string, kid: string): ItemKey => ({ pk: `${KEYS}${tenantId}`, sk: `KEY#${kid}` }),
  device: (appId: string, deviceId: string): ItemKey => ({ pk: `${APP}${appId}`, sk: `DEVICE#${deviceId}` }),
  tenantApp: (tenantId: string, appId: string): ItemKey => ({ pk: `${TENANT}${tenantId}`, sk: `APP#${appId}` }),
  tenantPrincipal: (tenantId: string, principal: string): ItemKey => ({ pk: `${TENANT}${tenantId}`, sk: `PRINCIPAL#${principal}` }),
  tenant: (tenantId: string): ItemKey => ({ pk: 'TENANTS', sk: `TENANT#${tenantId}` }),
  principal: (principal: string): ItemKey => ({ pk: `${PRINCIPAL}${principal}`, sk: 'PRINCIPAL' }),
};

function keyAttributes(key: ItemKey): Item {
  return { [PK]: { S: key.pk }, [SK]: { S: key.sk } };
}

/** Key attributes plus the record's fields; absent optional fields are left out, not stored as NULL. */
function toItem(key: ItemKey, fields: object): Item {
  return { ...marshall(fields, { removeUndefinedValues: true }), ...keyAttributes(key) };
}

/** Typed field access over an unmarshalled item, failing loudly on a shape this code never writes. */
class Fields {
  private readonly values: Record<string, unknown>;
  constructor(item: Item) {
    this.values = unmarshall(item);
  }
  private fail(name: string, expected: string): never {
    throw new MalformedItemError(`registry item ${String(this.values[PK])}/${String(this.values[SK])}: ${name} is not ${expected}`);
  }
  str(name: string): string {
    const value = this.values[name];
    return typeof value === 'string' ? value : this.fail(name, 'a string');
  }
  num(name: string): number {
    const value = this.values[name];
    return typeof value === 'number' && Number.isFinite(value) ? value : this.fail(name, 'a number');
  }
  optStr(name: string): string | undefined {
    return this.values[name] === undefined ? undefined : this.str(name);
  }
  optNum(name: string): number | undefined {
    return this.values[name] === undefined ? undefined : this.num(name);
  }
  optOneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.values[name] === undefined ? undefined : this.oneOf(name, allowed);
  }
  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const value = this.str(name);
    return (allowed as readonly string[]).includes(value) ? (value as T) : this.fail(name, `one of ${allowed.join(', ')}`);
  }
  raw(name: string): unknown {
    return this.values[name];
  }
}

/** Spreads only defined optional fields, so records compare equal to what was written. */
function defined<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

export function appToItem(record: AppRecord): Item {
  return toItem(registryKeys.app(record.appId), { appId: record.appId, tenantId: record.tenantId, createdAt: record.createdAt });
}
export function appFromItem(item: Item): AppRecord {
  const f = new Fields(item);
  return { appId: f.str('appId'), tenantId: f.str('tenantId'), createdAt: f.num('createdAt') };
}

export function registrationToItem(record: RegistrationRecord): Item {
  return toItem(registryKeys.registration(record.appId, record.version), {
    appId: record.appId,
    version: record.version,
    sha256: record.sha256,
    size: record.size,
    objectKey: record.objectKey,
    registeredAt: record.registeredAt,
    expiresAt: record.expiresAt,
    note: record.note,
  });
}
export function registrationFromItem(item: Item): RegistrationRecord {
  const f = new Fields(item);
  return {
    appId: f.str('appId'),
    version: f.str('version'),
    sha256: f.str('sha256'),
    size: f.num('size'),
    objectKey: f.str('objectKey'),
    registeredAt: f.num('registeredAt'),
    ...defined({ expiresAt: f.optNum('expiresAt'), note: f.optStr('note') }),
  };
}

export function policyToItem(appId: string, policy: Policy): Item {
  return toItem(registryKeys.policy(appId), {
    appId,
    reject: { ...policy.reject },
    minSdkVersion: policy.minSdkVersion,
  });
}
/**
 * A signal missing from a stored `reject` map (say, one added after the policy was written) takes
 * the default's value rather than failing every attestation of the app.
 */
export function policyFromItem(item: Item): Policy {
  const f = new Fields(item);
  const stored = f.raw('reject');
  const storedReject = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  const reject = Object.fromEntries(
    SIGNAL_NAMES.map((name) => {
      const value = storedReject[name];
      return [name, typeof value === 'boolean' ? value : DEFAULT_POLICY.reject[name]];
    }),
  ) as Record<SignalName, boolean>;
  // A tokenTtlSeconds stored by protocol 1 is ignored: token lifetimes are the deployment's now.
  return {
    reject,
    ...defined({ minSdkVersion: f.optStr('minSdkVersion') }),
  };
}

const UPLOAD_STATUSES: readonly UploadStatus[] = ['pending', 'registered', 'rejected'];

export function uploadToItem(record: UploadRecord): Item {
  return toItem(registryKeys.upload(record.uploadId), {
    uploadId: record.uploadId,
    appId: record.appId,
    version: record.version,
    objectKey: record.objectKey,
    status: record.status,
    createdAt: record.createdAt,
    reason: record.reason,
    sha256: record.sha256,
    size: record.size,
    expireAfterSeconds: record.expireAfterSeconds,
    note: record.note,
    tenantId: record.tenantId,
    expectedSize: record.expectedSize,
    multipartUploadId: record.multipartUploadId,
    completedAt: record.completedAt,
  });
}
export function uploadFromItem(item: Item): UploadRecord {
  const f = new Fields(item);
  return {
    uploadId: f.str('uploadId'),
    appId: f.str('appId'),
    version: f.str('version'),
    objectKey: f.str('objectKey'),
    status: f.oneOf('status', UPLOAD_STATUSES),
    createdAt: f.num('createdAt'),
    ...defined({
      reason: f.optStr('reason'),
      sha256: f.optStr('sha256'),
      size: f.optNum('size'),
      expireAfterSeconds: f.optNum('expireAfterSeconds'),
      note: f.optStr('note'),
      tenantId: f.optStr('tenantId'),
      expectedSize: f.optNum('expectedSize'),
      multipartUploadId: f.optStr('multipartUploadId'),
      completedAt: f.optNum('completedAt'),
    }),
  };
}

const KEY_STATUSES: readonly TenantKeyStatus[] = ['active', 'retired'];

export function tenantKeyToItem(record: TenantKeyRecord): Item {
  return toItem(registryKeys.tenantKey(record.tenantId, record.kid), {
    tenantId: record.tenantId,
    kid: record.kid,
    keyId: record.keyId,
    format: record.format,
    wrappedSecret: record.wrappedSecret,
    createdAt: record.createdAt,
    status: record.status,
    activatesAt: record.activatesAt,
    retiresAt: record.retiresAt,
    deletionScheduledAt: record.deletionScheduledAt,
  });
}
export function tenantKeyFromItem(item: Item): TenantKeyRecord {
  const f = new Fields(item);
  return {
    tenantId: f.str('tenantId'),
    kid: f.str('kid'),
    keyId: f.str('keyId'),
    createdAt: f.num('createdAt'),
    status: f.oneOf('status', KEY_STATUSES),
    ...defined({
      format: f.optOneOf('format', TOKEN_FORMATS),
      wrappedSecret: f.optStr('wrappedSecret'),
      activatesAt: f.optNum('activatesAt'),
      retiresAt: f.optNum('retiresAt'),
      deletionScheduledAt: f.optNum('deletionScheduledAt'),
    }),
  };
}

const DEVICE_KINDS: readonly DeviceKind[] = ['install', 'debug'];

export function deviceToItem(record: DeviceRecord): Item {
  return toItem(registryKeys.device(record.appId, record.deviceId), {
    appId: record.appId,
    deviceId: record.deviceId,
    kind: record.kind,
    did: record.did,
    secretSha256: record.secretSha256,
    note: record.note,
    createdAt: record.createdAt,
  });
}
export function deviceFromItem(item: Item): DeviceRecord {
  const f = new Fields(item);
  return {
    appId: f.str('appId'),
    deviceId: f.str('deviceId'),
    kind: f.oneOf('kind', DEVICE_KINDS),
    createdAt: f.num('createdAt'),
    ...defined({ did: f.optStr('did'), secretSha256: f.optStr('secretSha256'), note: f.optStr('note') }),
  };
}

export function tenantFromItem(item: Item): TenantRecord {
  const f = new Fields(item);
  return { tenantId: f.str('tenantId'), createdAt: f.num('createdAt') };
}

export function principalFromItem(item: Item): PrincipalRecord {
  const f = new Fields(item);
  const operator = f.raw('operator');
  return { principal: f.str('principal'), tenantId: f.str('tenantId'), operator: operator === true };
}

/** Newest first; equal times order by kid so every reader sees the same "newest". */
export function compareTenantKeysNewestFirst(a: TenantKeyRecord, b: TenantKeyRecord): number {
  return b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);
}

const ABSENT = 'attribute_not_exists(#pk)';

export class DynamoDbRegistry implements Registry, TenantDirectory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getApp(appId: string): Promise<AppRecord | undefined> {
    // Strongly consistent here and below: a removal must stop the very next attestation (docs/ADMIN_API.md §10).
    const item = await this.get(registryKeys.app(appId), true);
    return item && appFromItem(item);
  }

  async ensureApp(app: AppRecord): Promise<AppRecord> {
    await this.putIfAbsent(appToItem(app));
    // Read back whatever won: an app created earlier keeps its tenant whoever asks.
    const stored = appFromItem(await this.getWritten(registryKeys.app(app.appId)));
    // The index is written after the app, and again by every later ensureApp of the owner, so an
    // interrupted creation is repaired by the next upload.
    if (stored.tenantId === app.tenantId) {
      await this.put(toItem(registryKeys.tenantApp(stored.tenantId, stored.appId), { appId: stored.appId, tenantId: stored.tenantId, createdAt: stored.createdAt }));
    }
    return stored;
  }

  async listApps(tenantId: string): Promise<AppRecord[]> {
    const items = await this.queryPrefix(registryKeys.tenantApp(tenantId, '').pk, 'APP#');
    return items.map(appFromItem).sort((a, b) => (a.appId < b.appId ? -1 : a.appId > b.appId ? 1 : 0));
  }

  /**
   * The app record goes first, so attestations fail (app_unknown) from that moment; then
   * everything under it, then the tenant's index entry.
   */
  async deleteApp(appId: string): Promise<AppRemoval | undefined> {
    const app = await this.getApp(appId);
    if (!app) return undefined;
    await this.delete(registryKeys.app(appId));
    let registrations = 0;
    let devices = 0;
    let policy = false;
    for (const item of await this.queryPrefix(registryKeys.app(appId).pk, '')) {
      const sk = item[SK]?.S ?? '';
      if (sk.startsWith('VER#')) registrations++;
      else if (sk.startsWith('DEVICE#')) devices++;
      else if (sk === 'POLICY') policy = true;
      await this.delete({ pk: registryKeys.app(appId).pk, sk });
    }
    await this.delete(registryKeys.tenantApp(app.tenantId, appId));
    return { app, registrations, devices, policy };
  }

  async listRegistrations(appId: string): Promise<RegistrationRecord[]> {
    const items = await this.queryPrefix(registryKeys.app(appId).pk, 'VER#');
    return items.map(registrationFromItem).sort((a, b) => b.registeredAt - a.registeredAt || (a.version < b.version ? -1 : 1));
  }

  async deleteRegistration(appId: string, version: string): Promise<RegistrationRecord | undefined> {
    const old = await this.delete(registryKeys.registration(appId, version));
    return old && registrationFromItem(old);
  }

  async setRegistrationExpiry(appId: string, version: string, expiresAt: number): Promise<RegistrationRecord | undefined> {
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyAttributes(registryKeys.registration(appId, version)),
          UpdateExpression: 'SET #expiresAt = :expiresAt',
          // Without the condition UpdateItem would create a registration with no digest.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK, '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: { ':expiresAt': { N: String(expiresAt) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes && registrationFromItem(result.Attributes);
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  async putPolicy(appId: string, policy: Policy): Promise<void> {
    await this.put(policyToItem(appId, policy));
  }

  async listDevices(appId: string): Promise<DeviceRecord[]> {
    const items = await this.queryPrefix(registryKeys.app(appId).pk, 'DEVICE#');
    return items.map(deviceFromItem).sort((a, b) => b.createdAt - a.createdAt || (a.deviceId < b.deviceId ? -1 : 1));
  }

  async getDevice(appId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const item = await this.get(registryKeys.device(appId, deviceId), true);
    return item && deviceFromItem(item);
  }

  async putDeviceIfAbsent(record: DeviceRecord): Promise<boolean> {
    return this.putIfAbsent(deviceToItem(record));
  }

  async deleteDevice(appId: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const old = await this.delete(registryKeys.device(appId, deviceId));
    return old && deviceFromItem(old);
  }

  async markUploadCompleted(uploadId: string, completedAt: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyAttributes(registryKeys.upload(uploadId)),
          UpdateExpression: 'SET #completedAt = if_not_exists(#completedAt, :completedAt)',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK, '#completedAt': 'completedAt' },
          ExpressionAttributeValues: { ':completedAt': { N: String(completedAt) } },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async getTenant(tenantId: string): Promise<TenantRecord | undefined> {
    const item = await this.get(registryKeys.tenant(tenantId), true);
    return item && tenantFromItem(item);
  }

  async putTenantIfAbsent(record: TenantRecord): Promise<boolean> {
    return this.putIfAbsent(toItem(registryKeys.tenant(record.tenantId), { tenantId: record.tenantId, createdAt: record.createdAt }));
  }

  async listTenants(): Promise<TenantRecord[]> {
    const items = await this.queryPrefix(registryKeys.tenant('').pk, 'TENANT#');
    return items.map(tenantFromItem).sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
  }

  async getPrincipal(principal: string): Promise<PrincipalRecord | undefined> {
    // Eventually consistent is enough: a brand-new mapping being refused for a second fails closed.
    const item = await this.get(registryKeys.principal(principal), false);
    return item && principalFromItem(item);
  }

  /** The mapping item decides (conditional); the tenant's index entry follows it. */
  async putPrincipalIfAbsent(record: PrincipalRecord): Promise<boolean> {
    const fields = { principal: record.principal, tenantId: record.tenantId, operator: record.operator };
    if (!(await this.putIfAbsent(toItem(registryKeys.principal(record.principal), fields)))) return false;
    await this.put(toItem(registryKeys.tenantPrincipal(record.tenantId, record.principal), fields));
    return true;
  }

  async listPrincipals(tenantId: string): Promise<PrincipalRecord[]> {
    const items = await this.queryPrefix(registryKeys.tenantPrincipal(tenantId, '').pk, 'PRINCIPAL#');
    return items.map(principalFromItem).sort((a, b) => (a.principal < b.principal ? -1 : 1));
  }

  /**
   * The app's whole partition in one consistent Query (paged if it ever exceeds 1 MB): what attest
   * needs, whatever version, did or debug secret a request names. Unregistered app ids read an empty
   * partition at the same cost.
   */
  async appSnapshot(appId: string): Promise<AppSnapshot> {
    let app: AppRecord | undefined;
    let policy: Policy | undefined;
    const registrations = new Map<string, RegistrationRecord>();
    const devices = new Map<string, DeviceRecord>();
    for (const item of await this.queryPrefix(registryKeys.app(appId).pk, '')) {
      const sk = item[SK]?.S ?? '';
      if (sk === 'APP') app = appFromItem(item);
      else if (sk === 'POLICY') policy = policyFromItem(item);
      else if (sk.startsWith('VER#')) {
        const registration = registrationFromItem(item);
        registrations.set(registration.version, registration);
      } else if (sk.startsWith('DEVICE#')) {
        const device = deviceFromItem(item);
        devices.set(device.deviceId, device);
      }
    }
    return { ...(app ? { app } : {}), ...(policy ? { policy } : {}), registrations, devices };
  }

  async getRegistration(appId: string, version: string): Promise<RegistrationRecord | undefined> {
    const item = await this.get(registryKeys.registration(appId, version), true);
    return item && registrationFromItem(item);
  }

  async putRegistrationIfAbsent(record: RegistrationRecord): Promise<RegistrationRecord> {
    await this.putIfAbsent(registrationToItem(record));
    return registrationFromItem(await this.getWritten(registryKeys.registration(record.appId, record.version)));
  }

  async getPolicy(appId: string): Promise<Policy | undefined> {
    const item = await this.get(registryKeys.policy(appId), true);
    return item && policyFromItem(item);
  }

  async putUpload(record: UploadRecord): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: uploadToItem(record) }));
  }

  async getUpload(uploadId: string): Promise<UploadRecord | undefined> {
    // Consistent: the register function reads an upload the admin API has just written.
    const item = await this.get(registryKeys.upload(uploadId), true);
    return item && uploadFromItem(item);
  }

  async settleUpload(uploadId: string, update: Pick<UploadRecord, 'status' | 'reason' | 'sha256' | 'size'>): Promise<void> {
    const fields = defined({ status: update.status, reason: update.reason, sha256: update.sha256, size: update.size });
    const entries = Object.entries(fields);
    const names: Record<string, string> = { '#pk': PK };
    const values: Record<string, unknown> = { ':pending': 'pending' };
    entries.forEach(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:v${i}`] = value;
    });
    names['#status'] = 'status';
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyAttributes(registryKeys.upload(uploadId)),
          UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
          // attribute_exists keeps UpdateItem from creating a half-empty upload for an unknown id.
          ConditionExpression: 'attribute_exists(#pk) AND #status = :pending',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: marshall(values),
        }),
      );
    } catch (error) {
      // Already settled (a redelivered event) or unknown: left as it is, by contract.
      if (isConditionalCheckFailed(error)) return;
      throw error;
    }
  }

  async listTenantKeys(tenantId: string): Promise<TenantKeyRecord[]> {
    // Consistent (queryPrefix): a key is listed right after putTenantKey when a tenant is first set up.
    const items = await this.queryPrefix(registryKeys.tenantKey(tenantId, '').pk, 'KEY#');
    // The sort key orders by kid (a thumbprint), not by time, so "newest first" is sorted here.
    return items.map(tenantKeyFromItem).sort(compareTenantKeysNewestFirst);
  }

  async putTenantKey(record: TenantKeyRecord): Promise<void> {
    if (!(await this.putIfAbsent(tenantKeyToItem(record)))) throw new KeyConflictError(record.tenantId, record.kid);
  }

  async retireTenantKey(tenantId: string, kid: string, retiresAt: number): Promise<void> {
    // An earlier retirement (from a concurrent rotation) stands.
    await this.setOnceOnTenantKey(tenantId, kid, 'retiresAt', retiresAt);
  }

  async markTenantKeyDeletionScheduled(tenantId: string, kid: string, at: number): Promise<void> {
    // The wrapped secret of an hs256 key goes in the same write: once it is erased, no one can unwrap it again.
    await this.setOnceOnTenantKey(tenantId, kid, 'deletionScheduledAt', at, 'wrappedSecret');
  }

  /** Sets a number attribute of a key record unless it is already set; an unknown key stays unknown. */
  private async setOnceOnTenantKey(tenantId: string, kid: string, attribute: 'retiresAt' | 'deletionScheduledAt', value: number, remove?: 'wrappedSecret'): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyAttributes(registryKeys.tenantKey(tenantId, kid)),
          UpdateExpression: remove ? `SET #attribute = :value REMOVE ${remove}` : 'SET #attribute = :value',
          ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#attribute)',
          ExpressionAttributeNames: { '#pk': PK, '#attribute': attribute },
          ExpressionAttributeValues: { ':value': { N: String(value) } },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /** True if written, false if an item with the same key was already there. */
  private async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: ABSENT,
          ExpressionAttributeNames: { '#pk': PK },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  private async put(item: Item): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item }));
  }

  /** Deletes an item and returns what it held, if anything. */
  private async delete(key: ItemKey): Promise<Item | undefined> {
    const result = await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: keyAttributes(key), ReturnValues: 'ALL_OLD' }));
    return result.Attributes && Object.keys(result.Attributes).length > 0 ? result.Attributes : undefined;
  }

  /** Every item of partition `pk` whose sort key starts with `prefix`, all pages, consistently. */
  private async queryPrefix(pk: string, prefix: string): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: prefix ? '#pk = :pk AND begins_with(#sk, :prefix)' : '#pk = :pk',
          ExpressionAttributeNames: prefix ? { '#pk': PK, '#sk': SK } : { '#pk': PK },
          ExpressionAttributeValues: prefix ? { ':pk': { S: pk }, ':prefix': { S: prefix } } : { ':pk': { S: pk } },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  private async get(key: ItemKey, consistent: boolean): Promise<Item | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: keyAttributes(key), ConsistentRead: consistent }),
    );
    return result.Item;
  }

  /** Reads an item just written or found by a conditional put; its absence means it was deleted in between. */
  private async getWritten(key: ItemKey): Promise<Item> {
    const item = await this.get(key, true);
    if (!item) throw new Error(`registry item ${key.pk}/${key.sk} vanished after a conditional put`);
    return item;
  }
}
