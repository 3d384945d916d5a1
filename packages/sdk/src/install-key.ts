import type { InstallPublicJwk } from '@attestor/contracts/protocol';
import { decodeB64u, installProofMessage, subtle } from './protocol';

/**
 * An install key as persisted: the private EC P-256 JWK (`d` included). Whoever can read it can
 * attest as this install, so a KeyStore should keep it in private storage (Keychain, Keystore,
 * an app-private file with mode 0600).
 * @example
 * ```ts
 * const stored: StoredInstallKey = { kty: 'EC', crv: 'P-256', x: '…', y: '…', d: '…' };
 * ```
 */
export interface StoredInstallKey {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly d: string;
}

/**
 * Persistence of the install key. `load` returns undefined when nothing is stored; a value that
 * is not a usable key is treated the same (the client makes a new key rather than failing).
 * `load` should throw only when storage itself is unreachable, so a transient I/O error does not
 * silently replace the install's identity.
 * @example
 * ```ts
 * const store: KeyStore = {
 *   load: async () => JSON.parse((await SecureStore.getItemAsync('attestor-key')) ?? 'null') ?? undefined,
 *   save: async (key) => SecureStore.setItemAsync('attestor-key', JSON.stringify(key)),
 * };
 * ```
 */
export interface KeyStore {
  load(): Promise<StoredInstallKey | undefined>;
  save(key: StoredInstallKey): Promise<void>;
}

/**
 * A KeyStore that lives as long as the object: a new process gets a new install key. Useful for
 * tests and short-lived tools; apps should persist the key.
 * @example
 * ```ts
 * const keyStore = memoryKeyStore();
 * const client = new AttestorClient({ endpoint, appId, appVersion, packageSource, keyStore });
 * ```
 */
export function memoryKeyStore(initial?: StoredInstallKey): KeyStore {
  let stored = initial;
  return {
    load: async () => stored,
    save: async (key) => {
      stored = key;
    },
  };
}

/**
 * Type guard for the persisted form: EC P-256 with x, y, d each base64url of 32 bytes.
 * @example
 * ```ts
 * const key = isStoredInstallKey(parsed) ? parsed : undefined;
 * ```
 */
export function isStoredInstallKey(value: unknown): value is StoredInstallKey {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const coord = (x: unknown) => typeof x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(x);
  return v['kty'] === 'EC' && v['crv'] === 'P-256' && coord(v['x']) && coord(v['y']) && coord(v['d']);
}

/**
 * An install key ready to sign with.
 * @example
 * ```ts
 * const key = await loadOrCreateInstallKey(memoryKeyStore());
 * key.publicJwk; // sent as `installKey`
 * ```
 */
export interface InstallKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: InstallPublicJwk;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ES256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/**
 * Imports a stored key and proves it works: a JWK whose d does not match x/y would import fine on
 * some platforms and then make every attestation fail silently (the service answers with a decoy
 * token), so one sign/verify round trip is worth its sub-millisecond cost.
 */
async function importStored(stored: unknown): Promise<InstallKey | undefined> {
  if (!isStoredInstallKey(stored)) return undefined;
  try {
    const { kty, crv, x, y, d } = stored;
    const privateKey = await subtle().importKey('jwk', { kty, crv, x, y, d }, ECDSA_P256, false, ['sign']);
    const publicKey = await subtle().importKey('jwk', { kty, crv, x, y }, ECDSA_P256, false, ['verify']);
    const probe = installProofMessage(new Uint8Array(32), new Uint8Array(32));
    const signature = await subtle().sign(ES256, privateKey, probe);
    if (!(await subtle().verify(ES256, publicKey, signature, probe))) return undefined;
    return { privateKey, publicJwk: { kty, crv, x, y } };
  } catch {
    return undefined;
  }
}

/**
 * Generates a P-256 key pair with WebCrypto. Extractable only so the private JWK can be handed to
 * the KeyStore; the CryptoKey the client signs with is re-imported as non-extractable.
 */
async function generateStored(): Promise<StoredInstallKey> {
  const pair = await subtle().generateKey(ECDSA_P256, true, ['sign', 'verify']);
  const jwk = await subtle().exportKey('jwk', pair.privateKey);
  if (!isStoredInstallKey(jwk)) throw new Error('WebCrypto exported an unexpected JWK for a P-256 key');
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d };
}

/**
 * How the client came by its install key.
 * - `loaded`: the key store held a usable key.
 * - `created`: the store was empty; a new key was generated and saved.
 * - `replaced`: the store held something unusable (corrupt, truncated, a mismatched pair); a new
 *   key was generated and saved over it.
 * - `ephemeral`: the store could not be read, or the new key could not be saved; the client signs
 *   with a key that lives only in memory (the backend sees a new `did`) and does not overwrite the
 *   store, so a transient storage problem cannot replace the install's identity.
 * @example
 * ```ts
 * client.onEvent((e) => { if (e.type === 'install_key' && e.outcome === 'ephemeral') log.warn(e.message); });
 * ```
 */
export type InstallKeyOutcome = 'loaded' | 'created' | 'replaced' | 'ephemeral';

/**
 * An install key and how it was obtained.
 * @example
 * ```ts
 * const { key, outcome } = await resolveInstallKey(memoryKeyStore());
 * ```
 */
export interface ResolvedInstallKey {
  readonly key: InstallKey;
  readonly outcome: InstallKeyOutcome;
  /** What went wrong with the store, for `replaced` and `ephemeral`. Never contains key material. */
  readonly problem?: string;
  /** The persisted form, for a key not (yet) saved, so a later attempt can save this same key. */
  readonly unsaved?: StoredInstallKey;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Returns the install key from `store`; never throws because of the store. An empty store or an
 * unusable value leads to a new key that is saved; a store that throws leads to an in-memory key
 * (`previous`, if given, so one process keeps one identity while its storage is broken).
 * @example
 * ```ts
 * const { key, outcome } = await resolveInstallKey(fileKeyStore('/data/attestor-key.json'));
 * ```
 */
export async function resolveInstallKey(store: KeyStore, previous?: StoredInstallKey): Promise<ResolvedInstallKey> {
  let stored: unknown;
  try {
    stored = await store.load();
  } catch (error) {
    const candidate = previous ?? (await generateStored());
    return { key: await selfTested(candidate), outcome: 'ephemeral', problem: `key store could not be read: ${describe(error)}`, unsaved: candidate };
  }
  const existing = await importStored(stored);
  if (existing) return { key: existing, outcome: 'loaded' };
  const candidate = previous ?? (await generateStored());
  const key = await selfTested(candidate);
  try {
    await store.save(candidate);
  } catch (error) {
    return { key, outcome: 'ephemeral', problem: `key store could not save the new key: ${describe(error)}`, unsaved: candidate };
  }
  return stored === undefined || stored === null ? { key, outcome: 'created' } : { key, outcome: 'replaced', problem: 'the stored key was unusable' };
}

async function selfTested(stored: StoredInstallKey): Promise<InstallKey> {
  const imported = await importStored(stored);
  if (!imported) throw new Error('a freshly generated install key failed its self-test');
  return imported;
}

/**
 * Returns the install key from `store`, or generates, saves and returns a new one when the store
 * is empty or holds something unusable; see resolveInstallKey for a store that fails.
 * @example
 * ```ts
 * const { privateKey, publicJwk } = await loadOrCreateInstallKey(fileKeyStore('/data/attestor-key.json'));
 * ```
 */
export async function loadOrCreateInstallKey(store: KeyStore): Promise<InstallKey> {
  return (await resolveInstallKey(store)).key;
}

/**
 * An install key the platform keeps and signs with, so the SDK never sees its private half: a
 * CryptoKit Secure Enclave key on iOS, bridged by the app (docs/SDK.md, "Hardware attestation").
 * Pass it as the client's `installKey` instead of a `keyStore`. (On Android with a hardware
 * provider the Keystore key the provider attests is the install key; no `installKey` is needed.)
 *
 * - `publicKey()` returns the public half, creating and persisting the key on its first call; the
 *   client asks once per process. Creating a new key gives the install a new `did`.
 * - `sign(message)` signs with ECDSA P-256 and SHA-256 over `message` (the platform hashes), as DER
 *   or IEEE P1363 r‖s; the SDK converts and checks each signature against the public half.
 *
 * A call that throws fails the attestation with `local_error` (`cause` has the error).
 * @example
 * ```ts
 * const installKey: PlatformInstallKey = {
 *   publicKey: async () => NativeAttestor.installPublicKey(), // { kty: 'EC', crv: 'P-256', x, y }
 *   sign: async (message) => base64ToBytes(await NativeAttestor.installSign(bytesToBase64(message))),
 * };
 * ```
 */
export interface PlatformInstallKey {
  publicKey(): Promise<InstallPublicJwk>;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * Type guard for an EC P-256 public JWK as the protocol sends it: x and y base64url of 32 bytes.
 * (Whether the point is on the curve is for WebCrypto to say.)
 * @example
 * ```ts
 * if (!isInstallPublicJwk(await bridge.publicKey())) throw new Error('the bridge returned no P-256 key');
 * ```
 */
export function isInstallPublicJwk(value: unknown): value is InstallPublicJwk {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const coord = (x: unknown) => typeof x === 'string' && decodeB64u(x)?.length === 32;
  return v['kty'] === 'EC' && v['crv'] === 'P-256' && coord(v['x']) && coord(v['y']);
}
