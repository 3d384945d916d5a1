/**
 * Hardware attestation (PROTOCOL.md §5.5): what the host app supplies (a HardwareProvider bridged
 * to DCAppAttestService or the Android Keystore) and what the SDK remembers between runs (a
 * HardwareKeyRecord in a HardwareKeyStore). The SDK does the rest: hardware-keys.ts. Portable.
 */
import type { HardwarePlatform, InstallPublicJwk } from '@attestor/contracts/protocol';
import { decodeB64u } from './protocol';

/**
 * What `AppAttestProvider.attest` returns: a new App Attest key's id and its attestation object.
 * @example
 * ```ts
 * const { keyId, attestation } = await provider.attest(clientDataHash); // 32 bytes, CBOR
 * ```
 */
export interface AppAttestKeyAttestation {
  /** The key id `DCAppAttestService.generateKey` returned, base64-decoded: 32 bytes. */
  readonly keyId: Uint8Array;
  /** The CBOR attestation object `attestKey` returned (at most 16 KiB). */
  readonly attestation: Uint8Array;
}

/**
 * The iOS half of hardware attestation, bridged to `DCAppAttestService` by the app. The SDK computes
 * each `clientDataHash` (PROTOCOL.md §5.5: it covers the nonce and the install key) and decides when
 * a new key is due; the provider only talks to the platform.
 * - `attest(clientDataHash)`: `generateKey()`, then `attestKey(keyId, clientDataHash:)` (which asks
 *   Apple's servers); returns both. Called for the first attestation and whenever a new key is due.
 * - `assert(keyId, clientDataHash)`: `generateAssertion(keyId, clientDataHash:)`; returns the CBOR
 *   assertion (at most 2 KiB).
 *
 * Pass a provider only where `DCAppAttestService.shared.isSupported`: a provider that throws fails
 * the attestation with `hardware_error`. The install key stays the `keyStore`'s or an `installKey`
 * (a Secure Enclave key, PlatformInstallKey).
 * @example
 * ```ts
 * const appAttest: AppAttestProvider = {
 *   platform: 'ios',
 *   attest: async (clientDataHash) => {
 *     const { keyId, attestation } = await NativeAttestor.appAttestAttest(toBase64(clientDataHash));
 *     return { keyId: fromBase64(keyId), attestation: fromBase64(attestation) };
 *   },
 *   assert: async (keyId, clientDataHash) => fromBase64(await NativeAttestor.appAttestAssert(toBase64(keyId), toBase64(clientDataHash))),
 * };
 * ```
 */
export interface AppAttestProvider {
  readonly platform: 'ios';
  attest(clientDataHash: Uint8Array): Promise<AppAttestKeyAttestation>;
  assert(keyId: Uint8Array, clientDataHash: Uint8Array): Promise<Uint8Array>;
}

/**
 * What `AndroidKeyAttestationProvider.attest` returns: the new Keystore key's public half and its
 * attestation certificate chain.
 * @example
 * ```ts
 * const { publicJwk, chain } = await provider.attest(challenge); // chain[0] certifies publicJwk
 * ```
 */
export interface AndroidKeyAttestation {
  /** The new key's public half, which becomes the install key (its thumbprint the `did`). */
  readonly publicJwk: InstallPublicJwk;
  /** `KeyStore.getCertificateChain(alias)` as DER, leaf first: 2 to 10 certificates, each at most 8 KiB. */
  readonly chain: readonly Uint8Array[];
}

/**
 * The Android half of hardware attestation, bridged to the Android Keystore by the app. The
 * Keystore key **is** the install key: the SDK signs its install proofs (and `Attestor-Proof`s)
 * through `sign`, and replaces the key when a new one is due (a new key is a new `did`).
 * - `attest(challenge)`: generates a new EC P-256 signing key under the app's one alias, replacing
 *   the previous key, with `setAttestationChallenge(challenge)` (StrongBox when the device has it);
 *   returns its public half and `getCertificateChain`, leaf first.
 * - `sign(message)`: `Signature.getInstance("SHA256withECDSA")` with the current key over `message`;
 *   DER (what Java returns) or IEEE P1363.
 * - `currentKey()`: the current key's public half, or undefined when there is none (after a
 *   restart the SDK checks it against what it remembers).
 *
 * A call that throws fails the attestation with `hardware_error`.
 * @example
 * ```ts
 * const keystore: AndroidKeyAttestationProvider = {
 *   platform: 'android',
 *   attest: async (challenge) => {
 *     const { publicJwk, chain } = await NativeAttestor.keystoreAttest(toBase64(challenge));
 *     return { publicJwk, chain: chain.map(fromBase64) };
 *   },
 *   sign: async (message) => fromBase64(await NativeAttestor.keystoreSign(toBase64(message))),
 *   currentKey: async () => (await NativeAttestor.keystorePublicKey()) ?? undefined,
 * };
 * ```
 */
export interface AndroidKeyAttestationProvider {
  readonly platform: 'android';
  attest(challenge: Uint8Array): Promise<AndroidKeyAttestation>;
  sign(message: Uint8Array): Promise<Uint8Array>;
  currentKey(): Promise<InstallPublicJwk | undefined>;
}

/**
 * The platform part of hardware attestation, for the client's `hardware` option: App Attest on iOS,
 * key attestation on Android.
 * @example
 * ```ts
 * const hardware: HardwareProvider | undefined = Platform.OS === 'ios' ? appAttest : Platform.OS === 'android' ? keystore : undefined;
 * ```
 */
export type HardwareProvider = AppAttestProvider | AndroidKeyAttestationProvider;

/**
 * What the SDK remembers about the current hardware key, so a restarted app goes on with assertions
 * (iOS) or with its attested Keystore key (Android) instead of making a new key.
 * - `keyId` (iOS): the App Attest key id, base64url.
 * - `did`: the install key the evidence vouches for (on Android, the hardware key's own thumbprint).
 * - `createdAtMs`: when the key was made, by the device clock; it is replaced once older than
 *   `hardwareKeyMaxAgeDays`.
 * - `attested`: whether the service answered the attestation that carried the key's evidence. Until
 *   it has, the key is useless (the evidence was bound to that attestation's nonce) and the next
 *   attestation makes a new one.
 * @example
 * ```ts
 * const record: HardwareKeyRecord = { platform: 'android', did, createdAtMs: Date.now(), attested: false };
 * ```
 */
export type HardwareKeyRecord =
  | { readonly platform: 'ios'; readonly keyId: string; readonly did: string; readonly createdAtMs: number; readonly attested: boolean }
  | { readonly platform: 'android'; readonly did: string; readonly createdAtMs: number; readonly attested: boolean };

/**
 * Persistence of the HardwareKeyRecord; back it with the app's storage (it holds no secret: key ids
 * and a thumbprint). `load` returns undefined when nothing is stored; a value that is not a record
 * counts as nothing. A store that throws does not stop attestation: the client carries on with
 * what it holds in memory (event `hardware_store`).
 * @example
 * ```ts
 * const hardwareKeyStore: HardwareKeyStore = {
 *   load: async () => JSON.parse((await AsyncStorage.getItem('attestor-hardware-key')) ?? 'null') ?? undefined,
 *   save: async (record) => AsyncStorage.setItem('attestor-hardware-key', JSON.stringify(record)),
 * };
 * ```
 */
export interface HardwareKeyStore {
  load(): Promise<HardwareKeyRecord | undefined>;
  save(record: HardwareKeyRecord): Promise<void>;
}

/**
 * A HardwareKeyStore that lives as long as the object: the default. A restarted app then makes a new
 * hardware key (on Android a new install key, so a new `did`); apps should persist the record.
 * @example
 * ```ts
 * const client = new AttestorClient({ ...options, hardware: appAttest, hardwareKeyStore: memoryHardwareKeyStore() });
 * ```
 */
export function memoryHardwareKeyStore(initial?: HardwareKeyRecord): HardwareKeyStore {
  let stored = initial;
  return {
    load: async () => stored,
    save: async (record) => {
      stored = record;
    },
  };
}

/**
 * Type guard for a stored HardwareKeyRecord.
 * @example
 * ```ts
 * const record = isHardwareKeyRecord(parsed) ? parsed : undefined;
 * ```
 */
export function isHardwareKeyRecord(value: unknown): value is HardwareKeyRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const bytes32 = (x: unknown) => typeof x === 'string' && decodeB64u(x)?.length === 32;
  const common = bytes32(v['did']) && typeof v['createdAtMs'] === 'number' && Number.isFinite(v['createdAtMs']) && typeof v['attested'] === 'boolean';
  const platform = v['platform'] as HardwarePlatform | undefined;
  return common && (platform === 'android' || (platform === 'ios' && bytes32(v['keyId'])));
}

/** The persisted form with exactly the record's members, so nothing else a store returned is saved back. */
export function canonicalRecord(record: HardwareKeyRecord): HardwareKeyRecord {
  const { did, createdAtMs, attested } = record;
  return record.platform === 'ios' ? { platform: 'ios', keyId: record.keyId, did, createdAtMs, attested } : { platform: 'android', did, createdAtMs, attested };
}
