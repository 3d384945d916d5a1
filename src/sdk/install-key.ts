import { installProofMessage, subtle, type InstallPublicJwk } from './protocol';

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
 * Returns the install key from `store`, or generates, saves and returns a new one when the store
 * is empty or holds something unusable. Errors thrown by `store.load`/`store.save` propagate.
 * @example
 * ```ts
 * const { privateKey, publicJwk } = await loadOrCreateInstallKey(fileKeyStore('/data/attestor-key.json'));
 * ```
 */
export async function loadOrCreateInstallKey(store: KeyStore): Promise<InstallKey> {
  const existing = await importStored(await store.load());
  if (existing) return existing;
  const fresh = await generateStored();
  await store.save(fresh);
  const imported = await importStored(fresh);
  if (!imported) throw new Error('a freshly generated install key failed its self-test');
  return imported;
}
