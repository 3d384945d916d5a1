/**
 * The local KMS's symmetric ciphertext blob. Like KMS's own, it is opaque to clients but names the
 * key that made it, so Decrypt needs no KeyId:
 *
 *   offset 0        1 byte    format version, 0x01
 *   offset 1        16 bytes  key id (the UUID's bytes)
 *   offset 17       12 bytes  random IV
 *   offset 29       n bytes   AES-256-GCM ciphertext
 *   offset 29 + n   16 bytes  GCM tag
 *
 * The additional authenticated data is the 17-byte header followed by the canonical encryption
 * context, so a changed byte anywhere, another key's id or another context fails authentication.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KmsError } from './errors';
import type { EncryptionContext } from './input';

const FORMAT_VERSION = 0x01;
const KEY_ID_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
const OVERHEAD_BYTES = HEADER_BYTES + IV_BYTES + TAG_BYTES;

/**
 * Entries sorted by key (UTF-8 byte order, as the AWS Encryption SDK serializes contexts), each
 * length-prefixed, so no two different contexts share an encoding and entry order never matters.
 */
function canonicalEncryptionContext(context: EncryptionContext): Buffer {
  const entries = Object.entries(context)
    .map(([key, value]) => [Buffer.from(key, 'utf8'), Buffer.from(value, 'utf8')] as const)
    .sort(([a], [b]) => Buffer.compare(a, b));
  const parts: Buffer[] = [uint16(entries.length)];
  for (const [key, value] of entries) parts.push(uint16(key.length), key, uint16(value.length), value);
  return Buffer.concat(parts);
}

function uint16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

const keyIdBytes = (keyId: string): Buffer => Buffer.from(keyId.replace(/-/g, ''), 'hex');

function keyIdOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function seal(keyId: string, secret: Buffer, plaintext: Buffer, context: EncryptionContext): Buffer {
  const header = Buffer.concat([Buffer.of(FORMAT_VERSION), keyIdBytes(keyId)]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', secret, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([header, canonicalEncryptionContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, iv, body, cipher.getAuthTag()]);
}

/** A parsed blob; nothing in it is authenticated until `open` succeeds. */
export interface Envelope {
  readonly keyId: string;
  readonly blob: Buffer;
}

export const invalidCiphertext = (): KmsError =>
  new KmsError('InvalidCiphertextException', 'The ciphertext is invalid, or was not made with this encryption context');

export function parseEnvelope(blob: Buffer): Envelope {
  if (blob.length <= OVERHEAD_BYTES || blob[0] !== FORMAT_VERSION) throw invalidCiphertext();
  return { keyId: keyIdOf(blob.subarray(1, HEADER_BYTES)), blob };
}

/** The plaintext, if the blob is intact and was sealed with `secret` under exactly `context`. */
export function open(envelope: Envelope, secret: Buffer, context: EncryptionContext): Buffer {
  const { blob } = envelope;
  const iv = blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const body = blob.subarray(HEADER_BYTES + IV_BYTES, blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', secret, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.concat([blob.subarray(0, HEADER_BYTES), canonicalEncryptionContext(context)]));
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
}
