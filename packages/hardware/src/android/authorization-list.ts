import { AsnConvert } from '@peculiar/asn1-schema';
import { bytesOf } from '../bytes';
import { attempt, refuse } from '../errors';
import { AttestationApplicationId, type AuthorizationEntries } from './key-description-schema';
import {
  ORIGINS,
  VERIFIED_BOOT_STATES,
  type AttestationApplicationIdRecord,
  type AuthorizationListRecord,
  type RootOfTrustRecord,
} from './record';

type Kind =
  | 'integer'
  | 'integers'
  | 'flag'
  | 'bytes'
  | 'text'
  | 'origin'
  | 'rootOfTrust'
  | 'patchLevel'
  | 'application';
type Field = readonly [tag: number, json: keyof AuthorizationListRecord, kind: Kind];

/** asn1-android property name -> KeyMint tag, record name and value kind (Tag.aidl numbering). */
const FIELDS: Readonly<Record<string, Field>> = {
  purpose: [1, 'purposes', 'integers'],
  algorithm: [2, 'algorithms', 'integer'],
  keySize: [3, 'keySize', 'integer'],
  blockMode: [4, 'blockModes', 'integers'],
  digest: [5, 'digests', 'integers'],
  padding: [6, 'paddings', 'integers'],
  ecCurve: [10, 'ecCurve', 'integer'],
  mlDsaVariant: [11, 'mlDsaVariant', 'integer'],
  rsaPublicExponent: [200, 'rsaPublicExponent', 'integer'],
  mgfDigest: [203, 'rsaOaepMgfDigests', 'integers'],
  rollbackResistance: [303, 'rollbackResistance', 'flag'],
  earlyBootOnly: [305, 'earlyBootOnly', 'flag'],
  activeDateTime: [400, 'activeDateTime', 'integer'],
  originationExpireDateTime: [401, 'originationExpireDateTime', 'integer'],
  usageExpireDateTime: [402, 'usageExpireDateTime', 'integer'],
  usageCountLimit: [405, 'usageCountLimit', 'integer'],
  noAuthRequired: [503, 'noAuthRequired', 'flag'],
  userAuthType: [504, 'userAuthType', 'integer'],
  authTimeout: [505, 'authTimeout', 'integer'],
  allowWhileOnBody: [506, 'allowWhileOnBody', 'flag'],
  trustedUserPresenceRequired: [507, 'trustedUserPresenceRequired', 'flag'],
  trustedConfirmationRequired: [508, 'trustedConfirmationRequired', 'flag'],
  unlockedDeviceRequired: [509, 'unlockedDeviceRequired', 'flag'],
  allApplications: [600, 'allApplications', 'flag'],
  applicationId: [601, 'applicationId', 'bytes'],
  creationDateTime: [701, 'creationDateTime', 'integer'],
  origin: [702, 'origin', 'origin'],
  rollbackResistant: [703, 'rollbackResistant', 'flag'],
  rootOfTrust: [704, 'rootOfTrust', 'rootOfTrust'],
  osVersion: [705, 'osVersion', 'integer'],
  osPatchLevel: [706, 'osPatchLevel', 'patchLevel'],
  attestationApplicationId: [709, 'attestationApplicationId', 'application'],
  attestationIdBrand: [710, 'attestationIdBrand', 'text'],
  attestationIdDevice: [711, 'attestationIdDevice', 'text'],
  attestationIdProduct: [712, 'attestationIdProduct', 'text'],
  attestationIdSerial: [713, 'attestationIdSerial', 'text'],
  attestationIdImei: [714, 'attestationIdImei', 'text'],
  attestationIdMeid: [715, 'attestationIdMeid', 'text'],
  attestationIdManufacturer: [716, 'attestationIdManufacturer', 'text'],
  attestationIdModel: [717, 'attestationIdModel', 'text'],
  vendorPatchLevel: [718, 'vendorPatchLevel', 'patchLevel'],
  bootPatchLevel: [719, 'bootPatchLevel', 'patchLevel'],
  deviceUniqueAttestation: [720, 'deviceUniqueAttestation', 'flag'],
  attestationIdSecondImei: [723, 'attestationIdSecondImei', 'text'],
  moduleHash: [724, 'moduleHash', 'bytes'],
};

interface ConvertedField {
  readonly json: keyof AuthorizationListRecord;
  readonly value: unknown;
  readonly canonical: boolean;
}

export interface DecodedAuthorizationList {
  readonly record: AuthorizationListRecord;
  /** False when a nested structure (attestationApplicationId) is not canonical DER. */
  readonly canonical: boolean;
}

/**
 * Turns the parsed entries into the record, fields in tag order whatever order the device sent
 * them in; `areTagsOrdered` reports that order, which DER requires to be ascending.
 */
export function decodeAuthorizationList(entries: AuthorizationEntries, where: string): DecodedAuthorizationList {
  const found = new Map<number, ConvertedField>();
  const tagsInOrder: number[] = [];
  for (const entry of entries) {
    const present = Object.entries(entry).filter(([name, value]) => value !== undefined && name in FIELDS);
    const [only] = present;
    if (present.length !== 1 || !only) refuse('malformed', `${where} holds an entry that is not one known tag`);
    const [name, raw] = only;
    const [tag, json, kind] = FIELDS[name] as Field;
    if (found.has(tag)) refuse('malformed', `${where} repeats tag ${tag}`);
    tagsInOrder.push(tag);
    found.set(tag, { json, ...convert(kind, raw, `${where}.${json}`) });
  }

  const record: Record<string, unknown> = {};
  let canonical = true;
  for (const tag of [...found.keys()].sort((a, b) => a - b)) {
    const { json, value, canonical: fieldCanonical } = found.get(tag) as ConvertedField;
    canonical &&= fieldCanonical;
    if (value !== undefined) record[json] = value;
  }
  record.areTagsOrdered = tagsInOrder.every((tag, index) => index === 0 || tag > (tagsInOrder[index - 1] as number));
  return { record: record as unknown as AuthorizationListRecord, canonical };
}

function convert(kind: Kind, raw: unknown, where: string): { value: unknown; canonical: boolean } {
  switch (kind) {
    case 'integer':
      return { value: String(raw), canonical: true };
    case 'integers':
      // The Kotlin model holds a Set, so a repeated value is reported once.
      return { value: [...new Set((raw as unknown[]).map(String))], canonical: true };
    case 'flag':
      return { value: true, canonical: true };
    case 'bytes':
      return { value: bytesOf(raw as ArrayBuffer).toString('base64'), canonical: true };
    case 'text':
      return { value: utf8(bytesOf(raw as ArrayBuffer), where), canonical: true };
    case 'origin':
      return { value: enumName(ORIGINS, raw, where), canonical: true };
    case 'patchLevel':
      return { value: patchLevel(String(raw)), canonical: true };
    case 'rootOfTrust':
      return { value: rootOfTrust(raw as RootOfTrustFields, where), canonical: true };
    case 'application':
      return application(bytesOf(raw as ArrayBuffer), where);
  }
}

interface RootOfTrustFields {
  verifiedBootKey: ArrayBuffer;
  deviceLocked: boolean;
  verifiedBootState: number;
  verifiedBootHash?: ArrayBuffer;
}

function rootOfTrust(raw: RootOfTrustFields, where: string): RootOfTrustRecord {
  const record: RootOfTrustRecord = {
    verifiedBootKey: bytesOf(raw.verifiedBootKey).toString('base64'),
    deviceLocked: raw.deviceLocked,
    verifiedBootState: enumName(VERIFIED_BOOT_STATES, raw.verifiedBootState, `${where}.verifiedBootState`),
  };
  if (raw.verifiedBootHash !== undefined) record.verifiedBootHash = bytesOf(raw.verifiedBootHash).toString('base64');
  return record;
}

function application(der: Buffer, where: string): { value: AttestationApplicationIdRecord; canonical: boolean } {
  const parsed = attempt('malformed', `${where} is not an AttestationApplicationId`, () =>
    AsnConvert.parse(der, AttestationApplicationId),
  );
  // asn1-schema reads an empty SET OF as undefined (AndroidSystem keys have no signatures) and
  // would then leave it out when re-encoding; restore it before comparing encodings.
  parsed.packageInfos ??= [];
  parsed.signatureDigests ??= [];
  const canonical = Buffer.from(AsnConvert.serialize(parsed)).equals(der);
  const packages = parsed.packageInfos.map((info) => ({
    name: utf8(bytesOf(info.packageName), `${where}.packages`),
    version: String(info.version),
  }));
  const signatures = parsed.signatureDigests.map((digest) => bytesOf(digest).toString('base64'));
  const distinctPackages = [...new Map(packages.map((p) => [JSON.stringify(p), p])).values()];
  return { value: { packages: distinctPackages, signatures: [...new Set(signatures)] }, canonical };
}

export function enumName<T extends string>(names: readonly T[], raw: unknown, where: string): T {
  const name = typeof raw === 'number' || typeof raw === 'string' ? names[Number(raw)] : undefined;
  return name ?? refuse('malformed', `${where} has the unknown value ${String(raw)}`);
}

function utf8(bytes: Buffer, where: string): string {
  return attempt('malformed', `${where} is not UTF-8`, () => new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}

/** yyyyMM or yyyyMMdd with a real month, else undefined: the Kotlin parser's PatchLevel rule. */
function patchLevel(text: string): string | undefined {
  if (!/^\d{6}(\d{2})?$/.test(text)) return undefined;
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(4, 6));
  return year >= 1 && month >= 1 && month <= 12 ? text : undefined;
}
