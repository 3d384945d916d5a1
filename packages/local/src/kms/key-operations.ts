/** Key lifecycle: CreateKey, DescribeKey, ListKeys, ListResourceTags, DisableKey, ScheduleKeyDeletion, EnableKeyRotation. */
import { KmsError } from './errors';
import { listResult, optBoolean, optEnum, optInteger, optString, optTags, paginate, reqString } from './input';
import type { KeySpec } from './key';
import type { Operation } from './operation';

const KEY_SPECS = [
  'ECC_NIST_EDWARDS25519',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ML_KEM_1024',
  'ML_KEM_512',
  'ML_KEM_768',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'SM2',
  'SYMMETRIC_DEFAULT',
] as const;
const KEY_USAGES = ['ENCAPSULATE_DECAPSULATE', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'SIGN_VERIFY'] as const;
const ORIGINS = ['AWS_CLOUDHSM', 'AWS_KMS', 'EXTERNAL', 'EXTERNAL_KEY_STORE'] as const;
/** The usages KMS allows for each spec this endpoint can create; anything else is a ValidationException there too. */
const VALID_USAGES: Readonly<Record<KeySpec, readonly string[]>> = {
  ECC_NIST_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
};
const SERVED: Readonly<Record<KeySpec, string>> = { ECC_NIST_P256: 'SIGN_VERIFY', SYMMETRIC_DEFAULT: 'ENCRYPT_DECRYPT' };
const DAY_MS = 86_400_000;

const createKey: Operation = (kms, input) => {
  const policy = optString(input, 'Policy', 1, 32768);
  optBoolean(input, 'BypassPolicyLockoutSafetyCheck');
  const description = optString(input, 'Description', 0, 8192) ?? '';
  const keySpec = optEnum(input, 'KeySpec', KEY_SPECS);
  const legacySpec = optEnum(input, 'CustomerMasterKeySpec', KEY_SPECS);
  if (keySpec && legacySpec && keySpec !== legacySpec) throw new KmsError('ValidationException', 'KeySpec and CustomerMasterKeySpec must not differ');
  const spec = keySpec ?? legacySpec ?? 'SYMMETRIC_DEFAULT';
  const keyUsage = optEnum(input, 'KeyUsage', KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
  const origin = optEnum(input, 'Origin', ORIGINS) ?? 'AWS_KMS';
  const tags = optTags(input, 'Tags') ?? new Map<string, string>();
  const multiRegion = optBoolean(input, 'MultiRegion');
  const externalStore = optString(input, 'CustomKeyStoreId') ?? optString(input, 'XksKeyId');
  if (spec !== 'ECC_NIST_P256' && spec !== 'SYMMETRIC_DEFAULT') {
    throw new KmsError(
      'UnsupportedOperationException',
      `This local KMS creates only ECC_NIST_P256 (SIGN_VERIFY) and SYMMETRIC_DEFAULT (ENCRYPT_DECRYPT) keys, not ${spec}`,
    );
  }
  if (!VALID_USAGES[spec].includes(keyUsage)) throw new KmsError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec ${spec}`);
  if (keyUsage !== SERVED[spec])
    throw new KmsError('UnsupportedOperationException', `This local KMS supports KeySpec ${spec} only with KeyUsage ${SERVED[spec]}`);
  if (origin !== 'AWS_KMS' || multiRegion || externalStore !== undefined) {
    throw new KmsError('UnsupportedOperationException', 'This local KMS supports only single-Region keys with origin AWS_KMS');
  }
  return { execute: async () => ({ KeyMetadata: kms.metadata(await kms.createKey(spec, description, tags, policy)) }) };
};

const describeKey: Operation = (kms, input) => {
  const key = kms.resolve(reqString(input, 'KeyId'), true);
  return { key, execute: () => ({ KeyMetadata: kms.metadata(key) }) };
};

const listKeys: Operation = (kms, input) => {
  const limit = optInteger(input, 'Limit', 1, 1000) ?? 100;
  const marker = optString(input, 'Marker', 1, 1024);
  return {
    execute: () => {
      const result = paginate(kms.keyIds(), (id) => id, limit, marker);
      return listResult('Keys', { ...result, page: result.page.map((id) => ({ KeyId: id, KeyArn: kms.arn(id) })) });
    },
  };
};

const listResourceTags: Operation = (kms, input) => {
  const keyRef = reqString(input, 'KeyId');
  const limit = optInteger(input, 'Limit', 1, 50) ?? 50;
  const marker = optString(input, 'Marker', 1, 1024);
  const key = kms.resolve(keyRef, false);
  return {
    key,
    execute: () => {
      const tags = Object.entries(key.attributes.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const result = paginate(tags, ([k]) => k, limit, marker);
      return listResult('Tags', { ...result, page: result.page.map(([TagKey, TagValue]) => ({ TagKey, TagValue })) });
    },
  };
};

/** Kept so that tests can make a key unavailable; there is no EnableKey to undo it. */
const disableKey: Operation = (kms, input) => {
  const key = kms.resolve(reqString(input, 'KeyId'), false);
  return {
    key,
    execute: async () => {
      kms.requireNotPendingDeletion(key);
      await kms.updateKey(key, (a) => ({ ...a, state: 'Disabled' }));
      return {};
    },
  };
};

const scheduleKeyDeletion: Operation = (kms, input) => {
  const keyRef = reqString(input, 'KeyId');
  const days = optInteger(input, 'PendingWindowInDays', 7, 30) ?? 30;
  const key = kms.resolve(keyRef, false);
  return {
    key,
    execute: async () => {
      kms.requireNotPendingDeletion(key);
      const deletionDate = Date.now() + days * DAY_MS;
      await kms.updateKey(key, (a) => ({ ...a, state: 'PendingDeletion', deletionDate, pendingWindowInDays: days }));
      return { KeyId: kms.arn(key.keyId), DeletionDate: deletionDate / 1000, KeyState: 'PendingDeletion', PendingWindowInDays: days };
    },
  };
};

const enableKeyRotation: Operation = (kms, input) => {
  const keyRef = reqString(input, 'KeyId');
  const days = optInteger(input, 'RotationPeriodInDays', 90, 2560) ?? 365;
  const key = kms.resolve(keyRef, false);
  return {
    key,
    execute: async () => {
      if (key.material.keySpec !== 'SYMMETRIC_DEFAULT') {
        throw new KmsError(
          'UnsupportedOperationException',
          `${kms.arn(key.keyId)} is an asymmetric key; automatic rotation is only for symmetric encryption keys`,
        );
      }
      kms.requireUsable(key);
      await kms.updateKey(key, (a) => ({ ...a, rotationPeriodInDays: days }));
      return {};
    },
  };
};

export const KEY_OPERATIONS: ReadonlyArray<readonly [string, Operation]> = [
  ['CreateKey', createKey],
  ['DescribeKey', describeKey],
  ['ListKeys', listKeys],
  ['ListResourceTags', listResourceTags],
  ['DisableKey', disableKey],
  ['ScheduleKeyDeletion', scheduleKeyDeletion],
  ['EnableKeyRotation', enableKeyRotation],
];
