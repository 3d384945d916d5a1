/**
 * The client half of the protocol (PROTOCOL.md §4, and the hardware challenges of §5.5) as pure
 * functions over WebCrypto.
 *
 * Portability rule for this file and everything `index.ts` imports: only `globalThis.crypto.subtle`,
 * TextEncoder/TextDecoder and plain JavaScript. No Node modules, no npm packages, so the same code
 * runs on Node 20+, Electron and React Native (with a WebCrypto polyfill). The constants come from
 * @attestor/contracts/protocol, which the server uses too and which the SDK's build bundles in
 * (the published SDK has no dependencies); the cryptography is the SDK's own (async WebCrypto), kept
 * in step with the server's (node:crypto) by the known-answer vectors in test/vectors/protocol-v2.json.
 */
import { HARDWARE_LABEL, INSTALL_PROOF_LABEL, MEASUREMENT_LABEL, MESSAGE_SEPARATOR, P256_ORDER, type InstallPublicJwk } from '@attestor/contracts/protocol';

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64U_LOOKUP: Readonly<Record<string, number>> = Object.fromEntries([...B64U_ALPHABET].map((c, i) => [c, i]));

/**
 * Base64url without padding (RFC 4648 §5), the only binary encoding of protocol v1.
 * @example
 * ```ts
 * encodeB64u(new Uint8Array([0xfb, 0xff])); // '-_8'
 * ```
 */
export function encodeB64u(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64U_ALPHABET[(n >> 18) & 63]! + B64U_ALPHABET[(n >> 12) & 63]! + B64U_ALPHABET[(n >> 6) & 63]! + B64U_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64U_ALPHABET[(n >> 18) & 63]! + B64U_ALPHABET[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64U_ALPHABET[(n >> 18) & 63]! + B64U_ALPHABET[(n >> 12) & 63]! + B64U_ALPHABET[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * Strict base64url decoding: returns undefined for padding, whitespace, foreign characters or
 * non-canonical trailing bits, exactly like the server, so the client never accepts a value the
 * server would reject.
 * @example
 * ```ts
 * decodeB64u('-_8');  // Uint8Array [0xfb, 0xff]
 * decodeB64u('-_8='); // undefined (padding)
 * ```
 */
export function decodeB64u(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    const v = B64U_LOOKUP[c];
    if (v === undefined) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, otherwise two different strings would decode to the same bytes.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/**
 * UTF-8 bytes of a string.
 * @example
 * ```ts
 * utf8('é'); // Uint8Array [0xc3, 0xa9]
 * ```
 */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text);
}

/**
 * Concatenates byte strings.
 * @example
 * ```ts
 * concatBytes(utf8('a'), new Uint8Array([0])); // Uint8Array [0x61, 0x00]
 * ```
 */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * WebCrypto's typings want a view over a plain ArrayBuffer; copy only when the input is something
 * else (a SharedArrayBuffer view, or an ArrayBuffer from another realm).
 */
function plain(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/**
 * The platform's WebCrypto, or a clear error naming the fix when there is none (React Native
 * without a polyfill), instead of a TypeError deep inside a hash call.
 * @example
 * ```ts
 * const key = await subtle().generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
 * ```
 */
export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto (globalThis.crypto.subtle) is not available; install a WebCrypto polyfill');
  return s;
}

/**
 * SHA-256 of `bytes`.
 * @example
 * ```ts
 * const packageDigest = await sha256(packageBytes); // 32 bytes
 * ```
 */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', plain(bytes)));
}

/**
 * The message the measurement HMAC covers:
 * "attestor-measurement-v1" 0x00 appId 0x00 appVersion 0x00 packageDigest (strings UTF-8, digest raw).
 * @example
 * ```ts
 * const message = measurementMessage('com.example.app', '1.0.0', packageDigest);
 * ```
 */
export function measurementMessage(appId: string, appVersion: string, packageDigest: Uint8Array): Uint8Array<ArrayBuffer> {
  const sep = new Uint8Array([MESSAGE_SEPARATOR]);
  return concatBytes(utf8(MEASUREMENT_LABEL), sep, utf8(appId), sep, utf8(appVersion), sep, packageDigest);
}

/**
 * measurement = HMAC-SHA256(key = nonce bytes, measurementMessage(...)). Keyed by the fresh nonce so
 * a measurement observed once is useless for the next challenge.
 * @example
 * ```ts
 * const measurement = await computeMeasurement(nonce, 'com.example.app', '1.0.0', packageDigest);
 * ```
 */
export async function computeMeasurement(nonce: Uint8Array, appId: string, appVersion: string, packageDigest: Uint8Array): Promise<Uint8Array> {
  const key = await subtle().importKey('raw', plain(nonce), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', key, measurementMessage(appId, appVersion, packageDigest)));
}

/**
 * The bytes the install key signs: "attestor-install-v1" 0x00 nonce measurement.
 * @example
 * ```ts
 * const message = installProofMessage(nonce, measurement); // 20 + 32 + 32 = 84 bytes
 * ```
 */
export function installProofMessage(nonce: Uint8Array, measurement: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes(utf8(INSTALL_PROOF_LABEL), new Uint8Array([MESSAGE_SEPARATOR]), nonce, measurement);
}

const HALF_ORDER = P256_ORDER >> 1n;

function scalarOf(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/**
 * True when a 64-byte r‖s ES256 signature has 1 ≤ s ≤ n/2: the only form the service and verifiers
 * accept (PROTOCOL.md §4.4), since (r, n − s) would verify as well.
 * @example
 * ```ts
 * isLowS(await signer.sign(message)); // always true for the SDK's own signatures
 * ```
 */
export function isLowS(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const s = scalarOf(signature.subarray(32));
  return s >= 1n && s <= HALF_ORDER;
}

/**
 * The low-s form of a 64-byte r‖s signature (s replaced by n − s when above n/2). WebCrypto, Java,
 * SecKey and CryptoKit all return either form; every signature the SDK sends passes through this.
 * @example
 * ```ts
 * const proof = toLowS(new Uint8Array(await crypto.subtle.sign(ES256, key, message)));
 * ```
 */
export function toLowS(signature: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(signature);
  if (signature.length !== 64) return out;
  const s = scalarOf(signature.subarray(32));
  if (s <= HALF_ORDER) return out;
  let rest = P256_ORDER - s;
  for (let i = 63; i >= 32; i--, rest >>= 8n) out[i] = Number(rest & 0xffn);
  return out;
}

/**
 * ES256 over installProofMessage(nonce, measurement), as IEEE P1363 r||s (64 bytes, WebCrypto's own
 * form) with s in its low form.
 * @example
 * ```ts
 * const proof = await signInstallProof(installKey.privateKey, nonce, measurement);
 * ```
 */
export async function signInstallProof(privateKey: CryptoKey, nonce: Uint8Array, measurement: Uint8Array): Promise<Uint8Array> {
  return toLowS(new Uint8Array(await subtle().sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, installProofMessage(nonce, measurement))));
}

/**
 * Checks an install proof against the public install key. Never throws.
 * @example
 * ```ts
 * const ok = await verifyInstallProof(publicJwk, nonce, measurement, proof);
 * ```
 */
export async function verifyInstallProof(publicJwk: InstallPublicJwk, nonce: Uint8Array, measurement: Uint8Array, proof: Uint8Array): Promise<boolean> {
  // The service refuses the high-s twin of a valid proof, so this does too.
  if (!isLowS(proof)) return false;
  try {
    const key = await subtle().importKey(
      'jwk',
      { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y },
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['verify'],
    );
    return await subtle().verify({ name: 'ECDSA', hash: 'SHA-256' }, key, plain(proof), installProofMessage(nonce, measurement));
  } catch {
    return false;
  }
}

/**
 * RFC 7638 thumbprint of an EC public JWK: SHA-256 over `{"crv","kty","x","y"}` in that order,
 * no whitespace, base64url. It is the token's `did` and `cnf.jkt`.
 * @example
 * ```ts
 * const did = await jwkThumbprint({ kty: 'EC', crv: 'P-256', x, y });
 * ```
 */
export async function jwkThumbprint(jwk: InstallPublicJwk): Promise<string> {
  // Built by hand rather than JSON.stringify so member order never depends on the input object.
  const canonical = `{"crv":${JSON.stringify(jwk.crv)},"kty":${JSON.stringify(jwk.kty)},"x":${JSON.stringify(jwk.x)},"y":${JSON.stringify(jwk.y)}}`;
  return encodeB64u(await sha256(utf8(canonical)));
}

/**
 * The message whose SHA-256 is the Android attestation challenge: "attestor-hardware-v1" 0x00 nonce.
 * @example
 * ```ts
 * androidChallengeMessage(nonce).length; // 21 + 32 = 53
 * ```
 */
export function androidChallengeMessage(nonce: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes(utf8(HARDWARE_LABEL), new Uint8Array([MESSAGE_SEPARATOR]), nonce);
}

/**
 * androidChallenge = SHA-256("attestor-hardware-v1" 0x00 nonce) (PROTOCOL.md §5.5): what an Android
 * app passes to `KeyGenParameterSpec.Builder.setAttestationChallenge` for the key whose certificate
 * chain goes with the attestation of `nonce`. Hashed so the challenge is 32 bytes whatever the label.
 * @example
 * ```ts
 * const challenge = await androidAttestationChallenge(nonce); // 32 bytes
 * ```
 */
export async function androidAttestationChallenge(nonce: Uint8Array): Promise<Uint8Array> {
  return sha256(androidChallengeMessage(nonce));
}

/**
 * The App Attest client data: "attestor-hardware-v1" 0x00 nonce thumbprint, where thumbprint is
 * the 32 bytes `did` (the install key's RFC 7638 thumbprint) encodes. Covering the install key is
 * what lets the App Attest key vouch for it at every attestation.
 * @example
 * ```ts
 * const clientData = appAttestClientData(nonce, await jwkThumbprint(installKey)); // 85 bytes
 * ```
 */
export function appAttestClientData(nonce: Uint8Array, did: string): Uint8Array<ArrayBuffer> {
  const thumbprint = decodeB64u(did);
  if (thumbprint?.length !== 32) throw new TypeError('did must be base64url of 32 bytes (an RFC 7638 thumbprint)');
  return concatBytes(utf8(HARDWARE_LABEL), new Uint8Array([MESSAGE_SEPARATOR]), nonce, thumbprint);
}

/**
 * clientDataHash = SHA-256(appAttestClientData(nonce, did)) (PROTOCOL.md §5.5): what an iOS app passes
 * to `DCAppAttestService.attestKey` and `generateAssertion` for the attestation of `nonce`.
 * @example
 * ```ts
 * const clientDataHash = await appAttestClientDataHash(nonce, await jwkThumbprint(installKey));
 * ```
 */
export async function appAttestClientDataHash(nonce: Uint8Array, did: string): Promise<Uint8Array> {
  return sha256(appAttestClientData(nonce, did));
}
