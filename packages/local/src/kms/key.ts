/**
 * KMS keys as the local endpoint holds them, and their files. Two kinds exist: ECC_NIST_P256
 * signing keys (file version 1, the format every earlier version of this endpoint wrote, read and
 * written unchanged so existing data directories keep working) and SYMMETRIC_DEFAULT encryption
 * keys (file version 2). Key files hold private key material: they are written with mode 0600.
 */
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { generateP256KeyPair } from './p256';

export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

/** What operations change; the key material never changes. */
export interface KeyAttributes {
  readonly keyId: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
  readonly description: string;
  readonly state: KeyState;
  /** Unix milliseconds; set while PendingDeletion. */
  readonly deletionDate?: number;
  readonly pendingWindowInDays?: number;
  readonly tags: Readonly<Record<string, string>>;
  /** Stored as given and reported nowhere: key policies are not enforced locally. */
  readonly policy?: string;
  /** Symmetric keys only. Recorded, not performed: a key keeps its one key material. */
  readonly rotationPeriodInDays?: number;
}

export type KeyMaterial =
  | { readonly keySpec: 'ECC_NIST_P256'; readonly keyUsage: 'SIGN_VERIFY'; readonly privateKey: KeyObject; readonly spki: Buffer }
  | { readonly keySpec: 'SYMMETRIC_DEFAULT'; readonly keyUsage: 'ENCRYPT_DECRYPT'; readonly secret: Buffer };

export type KeySpec = KeyMaterial['keySpec'];

/** 256-bit AES-GCM keys, like KMS's symmetric keys. */
const SYMMETRIC_KEY_BYTES = 32;

export class LiveKey {
  constructor(
    public attributes: KeyAttributes,
    readonly material: KeyMaterial,
  ) {}

  get keyId(): string {
    return this.attributes.keyId;
  }

  get state(): KeyState {
    return this.attributes.state;
  }
}

export const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function signingMaterial(privateKey: KeyObject): KeyMaterial {
  return { keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY', privateKey, spki: createPublicKey(privateKey).export({ format: 'der', type: 'spki' }) };
}

export function newKeyMaterial(keySpec: KeySpec): KeyMaterial {
  return keySpec === 'ECC_NIST_P256'
    ? signingMaterial(generateP256KeyPair().privateKey)
    : { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', secret: randomBytes(SYMMETRIC_KEY_BYTES) };
}

// ---------------------------------------------------------------------------------------------
// Files: attributes flat at the top level, then the kind's own members.

interface SigningKeyFile extends KeyAttributes {
  readonly version: 1;
  readonly keySpec: 'ECC_NIST_P256';
  readonly keyUsage: 'SIGN_VERIFY';
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
}

interface SymmetricKeyFile extends KeyAttributes {
  readonly version: 2;
  readonly keySpec: 'SYMMETRIC_DEFAULT';
  readonly keyUsage: 'ENCRYPT_DECRYPT';
  /** Base64 of the 32 key bytes. */
  readonly keyMaterial: string;
}

export function serializeKey(key: LiveKey): string {
  const { material, attributes } = key;
  const file: SigningKeyFile | SymmetricKeyFile =
    material.keySpec === 'ECC_NIST_P256'
      ? {
          version: 1,
          ...attributes,
          keySpec: material.keySpec,
          keyUsage: material.keyUsage,
          privateKeyPem: material.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        }
      : { version: 2, ...attributes, keySpec: material.keySpec, keyUsage: material.keyUsage, keyMaterial: material.secret.toString('base64') };
  return `${JSON.stringify(file, null, 2)}\n`;
}

export function parseKeyFile(text: string, path: string): LiveKey {
  const fail = (what: string): never => {
    throw new Error(`kms-server: ${path} is not a valid key file (${what})`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  // Every member is checked before use; nothing is trusted for having been written by this code.
  const v = value as { readonly [K in keyof SigningKeyFile | keyof SymmetricKeyFile]?: unknown } | null;
  if (typeof v !== 'object' || v === null) return fail('not an object');
  if (typeof v.keyId !== 'string' || !KEY_ID.test(v.keyId) || !path.endsWith(`${v.keyId}.json`)) return fail('keyId');
  if (typeof v.createdAt !== 'number' || typeof v.description !== 'string') return fail('createdAt/description');
  if (v.state !== 'Enabled' && v.state !== 'Disabled' && v.state !== 'PendingDeletion') return fail('state');
  if (v.state === 'PendingDeletion' && typeof v.deletionDate !== 'number') return fail('deletionDate');
  if (v.deletionDate !== undefined && typeof v.deletionDate !== 'number') return fail('deletionDate');
  if (v.pendingWindowInDays !== undefined && typeof v.pendingWindowInDays !== 'number') return fail('pendingWindowInDays');
  if (typeof v.tags !== 'object' || v.tags === null || !Object.values(v.tags).every((t) => typeof t === 'string')) return fail('tags');
  if (v.policy !== undefined && typeof v.policy !== 'string') return fail('policy');
  if (v.rotationPeriodInDays !== undefined && typeof v.rotationPeriodInDays !== 'number') return fail('rotationPeriodInDays');
  const attributes: KeyAttributes = {
    keyId: v.keyId,
    createdAt: v.createdAt,
    description: v.description,
    state: v.state,
    ...(v.deletionDate !== undefined ? { deletionDate: v.deletionDate } : {}),
    ...(v.pendingWindowInDays !== undefined ? { pendingWindowInDays: v.pendingWindowInDays } : {}),
    tags: { ...(v.tags as Record<string, string>) },
    ...(v.policy !== undefined ? { policy: v.policy } : {}),
    ...(v.rotationPeriodInDays !== undefined ? { rotationPeriodInDays: v.rotationPeriodInDays } : {}),
  };
  if (v.version === 1) {
    if (v.keySpec !== 'ECC_NIST_P256' || v.keyUsage !== 'SIGN_VERIFY') return fail('keySpec/keyUsage');
    if (typeof v.privateKeyPem !== 'string') return fail('privateKeyPem');
    return new LiveKey(attributes, signingMaterial(createPrivateKey({ key: v.privateKeyPem, format: 'pem' })));
  }
  if (v.version === 2) {
    if (v.keySpec !== 'SYMMETRIC_DEFAULT' || v.keyUsage !== 'ENCRYPT_DECRYPT') return fail('keySpec/keyUsage');
    const secret = typeof v.keyMaterial === 'string' ? Buffer.from(v.keyMaterial, 'base64') : undefined;
    if (secret?.length !== SYMMETRIC_KEY_BYTES) return fail('keyMaterial');
    return new LiveKey(attributes, { keySpec: 'SYMMETRIC_DEFAULT', keyUsage: 'ENCRYPT_DECRYPT', secret });
  }
  return fail('version');
}
