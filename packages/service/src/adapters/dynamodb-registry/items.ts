/**
 * The registry's items: one DynamoDB table (layout REGISTRY_TABLE in tables.ts), its key layout and
 * the mapping between items and the core's records, shared by every registry adapter beside this
 * module (one per port of core/ports.ts), so that all of them read and write the same shapes.
 *   APP#<appId>       / APP            app record
 *   APP#<appId>       / VER#<version>  registration
 *   APP#<appId>       / POLICY         policy
 *   APP#<appId>       / DEVICE#<id>    allow-listed device (install key or debug secret digest)
 *   APP#<appId>       / IDENTITY       store identity (App Attest team and bundle id, Android package and certificates)
 *   UPLOAD#<uploadId> / UPLOAD         upload status
 *   KEYS#<tenantId>   / KEY#<kid>      tenant signing key (a partition of its own: see REGISTRY_PARTITIONS)
 *   KEYS#<tenantId>   / ROTATION       when the tenant last rotated its keys (the once-an-hour limit)
 *   TENANT#<tenantId> / APP#<appId>    index: the tenant's apps
 *   TENANT#<tenantId> / PRINCIPAL#<arn> index: the tenant's principals
 *   TENANTS           / TENANT#<tenantId> tenant record (one partition, so listing is one Query)
 *   PRINCIPAL#<arn>   / PRINCIPAL      which tenant an IAM principal administers
 * Pure: no client. An adapter that maps only apps bundles only what it calls of this module.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { TOKEN_FORMATS } from '@attestor/contracts/protocol';
import { PRINCIPAL_ROLES } from '@attestor/contracts/routes';
import { REGISTRY_PARTITIONS, REGISTRY_TABLE, TENANT_LIST_PARTITION } from '@attestor/contracts/tables';
import { ServiceError } from '../../core/errors';
import {
  ANDROID_SECURITY_LEVELS,
  DEFAULT_HARDWARE_POLICY,
  HARDWARE_MODES,
  type AppAttestEnvironment,
  type AppIdentity,
  type HardwarePolicy,
} from '@attestor/contracts/admin-api';
import { DEFAULT_POLICY, SIGNAL_NAMES, type Policy, type SignalName } from '../../core/policy';
import type {
  AppRecord,
  DeviceKind,
  DeviceRecord,
  PrincipalRecord,
  RegistrationRecord,
  TenantKeyRecord,
  TenantKeyStatus,
  TenantRecord,
  UploadRecord,
  UploadStatus,
} from '../../core/ports';

/** A stored item that does not have the shape this code writes: corrupt or written by something else. */
export class MalformedItemError extends ServiceError {
  override readonly name = 'MalformedItemError';
  override readonly code = 'registry_item_malformed';
}

export type Item = Record<string, AttributeValue>;
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

/** Names of the table's key attributes. */
export const PK = REGISTRY_TABLE.partitionKey;
export const SK = REGISTRY_TABLE.sortKey ?? 'sk';

const { app: APP, upload: UPLOAD, tenantKeys: KEYS, tenant: TENANT, principal: PRINCIPAL } = REGISTRY_PARTITIONS;
const TENANTS = TENANT_LIST_PARTITION;

/** Sort keys and sort-key prefixes, by what the item holds. */
const SORT = {
  app: 'APP',
  registration: 'VER#',
  policy: 'POLICY',
  device: 'DEVICE#',
  identity: 'IDENTITY',
  upload: 'UPLOAD',
  tenantKey: 'KEY#',
  keyRotation: 'ROTATION',
  tenantApp: 'APP#',
  tenantPrincipal: 'PRINCIPAL#',
  tenant: 'TENANT#',
  principal: 'PRINCIPAL',
} as const;

/** Item keys, by what the item holds. */
export const appItemKey = (appId: string): ItemKey => ({ pk: `${APP}${appId}`, sk: SORT.app });
export const registrationItemKey = (appId: string, version: string): ItemKey => ({ pk: `${APP}${appId}`, sk: `${SORT.registration}${version}` });
export const policyItemKey = (appId: string): ItemKey => ({ pk: `${APP}${appId}`, sk: SORT.policy });
export const identityItemKey = (appId: string): ItemKey => ({ pk: `${APP}${appId}`, sk: SORT.identity });
export const uploadItemKey = (uploadId: string): ItemKey => ({ pk: `${UPLOAD}${uploadId}`, sk: SORT.upload });
export const tenantKeyItemKey = (tenantId: string, kid: string): ItemKey => ({ pk: `${KEYS}${tenantId}`, sk: `${SORT.tenantKey}${kid}` });
/** When the tenant last rotated its keys; beside the key records, outside their KEY# range, so no key reader sees it. */
export const keyRotationItemKey = (tenantId: string): ItemKey => ({ pk: `${KEYS}${tenantId}`, sk: SORT.keyRotation });
export const deviceItemKey = (appId: string, deviceId: string): ItemKey => ({ pk: `${APP}${appId}`, sk: `${SORT.device}${deviceId}` });
export const tenantAppItemKey = (tenantId: string, appId: string): ItemKey => ({ pk: `${TENANT}${tenantId}`, sk: `${SORT.tenantApp}${appId}` });
export const tenantPrincipalItemKey = (tenantId: string, principal: string): ItemKey => ({
  pk: `${TENANT}${tenantId}`,
  sk: `${SORT.tenantPrincipal}${principal}`,
});
export const tenantItemKey = (tenantId: string): ItemKey => ({ pk: TENANTS, sk: `${SORT.tenant}${tenantId}` });
export const principalItemKey = (principal: string): ItemKey => ({ pk: `${PRINCIPAL}${principal}`, sk: SORT.principal });

/** The items of partition `pk` whose sort key starts with `prefix` ('' for the whole partition): what one Query reads. */
export interface ItemRange {
  readonly pk: string;
  readonly prefix: string;
}

/** Everything of an app: the app record, registrations, policy, devices and identity. */
export const appPartitionRange = (appId: string): ItemRange => ({ pk: `${APP}${appId}`, prefix: '' });
export const registrationsRange = (appId: string): ItemRange => ({ pk: `${APP}${appId}`, prefix: SORT.registration });
export const devicesRange = (appId: string): ItemRange => ({ pk: `${APP}${appId}`, prefix: SORT.device });
export const tenantKeysRange = (tenantId: string): ItemRange => ({ pk: `${KEYS}${tenantId}`, prefix: SORT.tenantKey });
export const tenantAppsRange = (tenantId: string): ItemRange => ({ pk: `${TENANT}${tenantId}`, prefix: SORT.tenantApp });
export const tenantPrincipalsRange = (tenantId: string): ItemRange => ({ pk: `${TENANT}${tenantId}`, prefix: SORT.tenantPrincipal });
export const tenantsRange = (): ItemRange => ({ pk: TENANTS, prefix: SORT.tenant });

export function keyAttributes(key: ItemKey): Item {
  return { [PK]: { S: key.pk }, [SK]: { S: key.sk } };
}

/** The key of a stored item (as read by a Query). */
export function itemKey(item: Item): ItemKey {
  return { pk: item[PK]?.S ?? '', sk: item[SK]?.S ?? '' };
}

/** What an item of an app's partition holds, by its sort key; undefined for anything else. */
export function appItemKind(item: Item): 'app' | 'registration' | 'policy' | 'device' | 'identity' | undefined {
  const { sk } = itemKey(item);
  if (sk === SORT.app) return 'app';
  if (sk === SORT.policy) return 'policy';
  if (sk === SORT.identity) return 'identity';
  if (sk.startsWith(SORT.registration)) return 'registration';
  if (sk.startsWith(SORT.device)) return 'device';
  return undefined;
}

/** Key attributes plus the record's fields; absent optional fields are left out, not stored as NULL. */
function toItem(key: ItemKey, fields: object): Item {
  return { ...marshall(fields, { removeUndefinedValues: true }), ...keyAttributes(key) };
}

/** Typed field access over an unmarshalled item, failing loudly on a shape this code never writes. */
class Fields {
  private constructor(
    private readonly values: Record<string, unknown>,
    /** `pk/sk` of the item, for the error. */
    private readonly label: string,
    /** `hardware.` inside a map member, for the error. */
    private readonly prefix = '',
  ) {}
  static of(item: Item): Fields {
    const values = unmarshall(item);
    return new Fields(values, `${String(values[PK])}/${String(values[SK])}`);
  }
  private fail(name: string, expected: string): never {
    throw new MalformedItemError(`registry item ${this.label}: ${this.prefix}${name} is not ${expected}`);
  }
  /** A map member, read with the same checks. */
  sub(name: string): Fields {
    const value = this.values[name];
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Set) return this.fail(name, 'a map');
    return new Fields(value as Record<string, unknown>, this.label, `${this.prefix}${name}.`);
  }
  /** A list member whose every element passes `valid`. */
  list(name: string, valid: (value: unknown) => boolean): unknown[] {
    const value = this.values[name];
    return Array.isArray(value) && value.every(valid) ? [...(value as unknown[])] : this.fail(name, 'a list of the expected values');
  }
  str(name: string): string {
    const value = this.values[name];
    return typeof value === 'string' ? value : this.fail(name, 'a string');
  }
  num(name: string): number {
    const value = this.values[name];
    return typeof value === 'number' && Number.isFinite(value) ? value : this.fail(name, 'a number');
  }
  bool(name: string): boolean {
    const value = this.values[name];
    return typeof value === 'boolean' ? value : this.fail(name, 'a boolean');
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
export function defined<T extends object>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

export function appToItem(record: AppRecord): Item {
  return toItem(appItemKey(record.appId), { appId: record.appId, tenantId: record.tenantId, createdAt: record.createdAt });
}
export function appFromItem(item: Item): AppRecord {
  const f = Fields.of(item);
  return { appId: f.str('appId'), tenantId: f.str('tenantId'), createdAt: f.num('createdAt') };
}

export function registrationToItem(record: RegistrationRecord): Item {
  return toItem(registrationItemKey(record.appId, record.version), {
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
  const f = Fields.of(item);
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
  return toItem(policyItemKey(appId), {
    appId,
    reject: { ...policy.reject },
    minSdkVersion: policy.minSdkVersion,
    hardware: policy.hardware && { ...policy.hardware, appAttestEnvironments: [...policy.hardware.appAttestEnvironments] },
    measurement: policy.measurement,
  });
}
/**
 * A signal missing from a stored `reject` map (say, one added after the policy was written) takes
 * the default's value rather than failing every attestation of the app.
 */
export function policyFromItem(item: Item): Policy {
  const f = Fields.of(item);
  const stored = f.raw('reject');
  const storedReject = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  const reject = Object.fromEntries(
    SIGNAL_NAMES.map((name) => {
      const value = storedReject[name];
      return [name, typeof value === 'boolean' ? value : DEFAULT_POLICY.reject[name]];
    }),
  ) as Record<SignalName, boolean>;
  // A tokenTtlSeconds stored by protocol 1 is ignored: token lifetimes are the deployment's now.
  // Policies stored before hardware evidence existed have no hardware and no measurement: they stay
  // without, and readers take the defaults (core/policy.ts completePolicy).
  return {
    reject,
    ...defined({
      minSdkVersion: f.optStr('minSdkVersion'),
      hardware: f.raw('hardware') === undefined ? undefined : hardwareFrom(f.sub('hardware')),
      measurement: f.optOneOf('measurement', MEASUREMENT_MODES),
    }),
  };
}

const MEASUREMENT_MODES: readonly NonNullable<Policy['measurement']>[] = ['require', 'off'];
const OTHER_PLATFORMS: readonly HardwarePolicy['otherPlatforms'][] = ['allow', 'refuse'];
const APP_ATTEST_ENVIRONMENTS: readonly AppAttestEnvironment[] = ['production', 'development'];
const isAppAttestEnvironment = (value: unknown): boolean => (APP_ATTEST_ENVIRONMENTS as readonly unknown[]).includes(value);

/**
 * The admin API stores hardware whole (core/admin/policies.ts). A member missing was written before
 * it existed and takes its default, as a missing signal does above; a member present with a value
 * this code would not write fails loudly rather than loosen the app's policy.
 */
function hardwareFrom(f: Fields): HardwarePolicy {
  const d = DEFAULT_HARDWARE_POLICY;
  const present = (name: string) => f.raw(name) !== undefined;
  return {
    ios: f.optOneOf('ios', HARDWARE_MODES) ?? d.ios,
    android: f.optOneOf('android', HARDWARE_MODES) ?? d.android,
    otherPlatforms: f.optOneOf('otherPlatforms', OTHER_PLATFORMS) ?? d.otherPlatforms,
    minAndroidSecurityLevel: f.optOneOf('minAndroidSecurityLevel', ANDROID_SECURITY_LEVELS) ?? d.minAndroidSecurityLevel,
    requireVerifiedBoot: present('requireVerifiedBoot') ? f.bool('requireVerifiedBoot') : d.requireVerifiedBoot,
    ...defined({ minAndroidPatchLevel: f.optNum('minAndroidPatchLevel') }),
    appAttestEnvironments: present('appAttestEnvironments')
      ? (f.list('appAttestEnvironments', isAppAttestEnvironment) as AppAttestEnvironment[])
      : [...d.appAttestEnvironments],
    rememberDays: f.optNum('rememberDays') ?? d.rememberDays,
  };
}

export function identityToItem(appId: string, identity: AppIdentity): Item {
  return toItem(identityItemKey(appId), {
    appId,
    ios: identity.ios && { teamId: identity.ios.teamId, bundleId: identity.ios.bundleId },
    android: identity.android && {
      packageName: identity.android.packageName,
      signingCertificates: [...identity.android.signingCertificates],
      minVersionCode: identity.android.minVersionCode,
    },
  });
}
export function identityFromItem(item: Item): AppIdentity {
  const f = Fields.of(item);
  const ios = f.raw('ios') === undefined ? undefined : f.sub('ios');
  const android = f.raw('android') === undefined ? undefined : f.sub('android');
  return {
    ...(ios ? { ios: { teamId: ios.str('teamId'), bundleId: ios.str('bundleId') } } : {}),
    ...(android
      ? {
          android: {
            packageName: android.str('packageName'),
            signingCertificates: android.list('signingCertificates', (value) => typeof value === 'string') as string[],
            ...defined({ minVersionCode: android.optNum('minVersionCode') }),
          },
        }
      : {}),
  };
}

const UPLOAD_STATUSES: readonly UploadStatus[] = ['pending', 'registered', 'rejected'];

export function uploadToItem(record: UploadRecord): Item {
  return toItem(uploadItemKey(record.uploadId), {
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
  const f = Fields.of(item);
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
  return toItem(tenantKeyItemKey(record.tenantId, record.kid), {
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
  const f = Fields.of(item);
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
  return toItem(deviceItemKey(record.appId, record.deviceId), {
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
  const f = Fields.of(item);
  return {
    appId: f.str('appId'),
    deviceId: f.str('deviceId'),
    kind: f.oneOf('kind', DEVICE_KINDS),
    createdAt: f.num('createdAt'),
    ...defined({ did: f.optStr('did'), secretSha256: f.optStr('secretSha256'), note: f.optStr('note') }),
  };
}

/** The tenant's index entry of one of its apps, so listing a tenant's apps is one Query. */
export function tenantAppToItem(record: AppRecord): Item {
  return toItem(tenantAppItemKey(record.tenantId, record.appId), { appId: record.appId, tenantId: record.tenantId, createdAt: record.createdAt });
}

export function tenantToItem(record: TenantRecord): Item {
  return toItem(tenantItemKey(record.tenantId), { tenantId: record.tenantId, createdAt: record.createdAt, ...(record.finished ? { finished: true } : {}) });
}
export function tenantFromItem(item: Item): TenantRecord {
  const f = Fields.of(item);
  const finished = f.raw('finished') === undefined ? undefined : f.bool('finished');
  return { tenantId: f.str('tenantId'), createdAt: f.num('createdAt'), ...(finished ? { finished } : {}) };
}

/** The mapping item, which decides who administers what. */
export function principalToItem(record: PrincipalRecord): Item {
  return toItem(principalItemKey(record.principal), principalFields(record));
}
/** The tenant's index entry of one of its principals. */
export function tenantPrincipalToItem(record: PrincipalRecord): Item {
  return toItem(tenantPrincipalItemKey(record.tenantId, record.principal), principalFields(record));
}
function principalFields(record: PrincipalRecord): object {
  return { principal: record.principal, tenantId: record.tenantId, operator: record.operator, role: record.role };
}
/** Items written before roles have none: the record says so (absent), and the core reads that as admin. */
export function principalFromItem(item: Item): PrincipalRecord {
  const f = Fields.of(item);
  const operator = f.raw('operator');
  const role = f.optOneOf('role', PRINCIPAL_ROLES);
  return { principal: f.str('principal'), tenantId: f.str('tenantId'), operator: operator === true, ...(role ? { role } : {}) };
}

/** Newest first; equal times order by kid so every reader sees the same "newest". */
export function compareTenantKeysNewestFirst(a: TenantKeyRecord, b: TenantKeyRecord): number {
  return b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);
}

