import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Tests read only these copies, so that CI needs nothing outside the repository. */
export const VECTORS = join(__dirname, '..', 'vectors');
export const ANDROID_VECTORS = join(VECTORS, 'android-key-attestation');
export const APPLE_VECTORS = join(VECTORS, 'apple-app-attest');

const DAY = 24 * 60 * 60 * 1000;

export function readPemChain(path: string): Uint8Array[] {
  const pems = readFileSync(path, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return pems.map((pem) => new Uint8Array(new X509Certificate(pem).raw));
}

/** The record JSON; some files carry `//` comment lines, which the Kotlin side's Gson tolerates. */
export function readRecordJson(path: string): unknown {
  const text = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('//'))
    .join('\n');
  return JSON.parse(text);
}

export interface AndroidVector {
  readonly name: string;
  readonly chain: Uint8Array[];
  readonly record: unknown;
}

/** Every `<model>/sdk<N>/<case>.pem` with its `.json`, as android/keyattestation's tests find them. */
export function androidDeviceVectors(): AndroidVector[] {
  const vectors: AndroidVector[] = [];
  for (const model of readdirSync(ANDROID_VECTORS)) {
    const modelDir = join(ANDROID_VECTORS, model);
    if (!statSync(modelDir).isDirectory() || model === 'invalid') continue;
    for (const sdk of readdirSync(modelDir).filter((entry) => /^sdk\d+$/.test(entry))) {
      for (const file of readdirSync(join(modelDir, sdk)).filter((entry) => entry.endsWith('.pem'))) {
        const pem = join(modelDir, sdk, file);
        vectors.push({
          name: relative(ANDROID_VECTORS, pem),
          chain: readPemChain(pem),
          record: readRecordJson(pem.replace(/\.pem$/, '.json')),
        });
      }
    }
  }
  return vectors.sort((a, b) => a.name.localeCompare(b.name));
}

export function androidRoots(): string[] {
  return JSON.parse(readFileSync(join(ANDROID_VECTORS, 'roots.json'), 'utf8')) as string[];
}

/** A time inside every certificate's validity, ignoring the last one (a root, trusted by key). */
export function timeInside(chain: readonly Uint8Array[]): Date {
  const certs = chain.slice(0, -1).map((der) => new X509Certificate(der));
  const from = Math.max(...certs.map((cert) => Date.parse(cert.validFrom)));
  const to = Math.min(...certs.map((cert) => Date.parse(cert.validTo)));
  if (!(from < to)) throw new Error('the chain has no common validity window');
  return new Date(from + Math.min(DAY, (to - from) / 2));
}

/** The earliest expiry among the certificates below the root. */
export function firstExpiry(chain: readonly Uint8Array[]): Date {
  return new Date(Math.min(...chain.slice(0, -1).map((der) => Date.parse(new X509Certificate(der).validTo))));
}

export interface AppleVector {
  readonly file: string;
  readonly teamIdentifier: string;
  readonly bundleIdentifier: string;
  readonly keyId: Buffer;
  readonly clientDataHash: Buffer;
  readonly attestation: Buffer;
  readonly attestedAt: Date;
  readonly assertion: Buffer;
  readonly assertionCounter: number;
  readonly publicKeyPem: string;
}

interface YamlEntry {
  type?: string;
  [key: string]: unknown;
}

/** One vector per iOS version: the attestation and the first assertion made with its key. */
export function appleVectors(): AppleVector[] {
  return readdirSync(APPLE_VECTORS)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const entries = parseAllDocuments(readFileSync(join(APPLE_VECTORS, file), 'utf8'))
        .map((doc) => doc.toJS() as YamlEntry | null)
        .filter((entry): entry is YamlEntry => entry !== null);
      const attestation = entries.find((entry) => entry.type === 'attestation');
      const assertion = entries.find((entry) => entry.type === 'assertion');
      if (!attestation || !assertion) throw new Error(`${file} lacks an attestation or an assertion`);
      const clientDataHash = Buffer.from(String(attestation.clientDataHashSha256Base64), 'base64');
      return {
        file,
        teamIdentifier: String(attestation.teamIdentifier),
        bundleIdentifier: String(attestation.bundleIdentifier),
        keyId: Buffer.from(String(attestation.keyIdBase64), 'base64'),
        clientDataHash,
        attestation: Buffer.from(String(attestation.attestationBase64), 'base64'),
        attestedAt: new Date(String(attestation.timestamp)),
        assertion: Buffer.from(String(assertion.assertionBase64), 'base64'),
        assertionCounter: Number(assertion.counter),
        publicKeyPem: String(assertion.publicKey),
      };
    });
}
