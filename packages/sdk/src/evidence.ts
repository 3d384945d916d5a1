/**
 * Everything an attestation needs from the device itself: the package digest, the install key,
 * the integrity signals and the binding's hash. The digest and the key are worked out once and
 * shared by every attestation of the client.
 */
import { AttestorError, describeError } from './errors';
import type { AttestorEvent } from './events';
import type { HardwareKeys } from './hardware-keys';
import { isInstallPublicJwk, resolveInstallKey, type KeyStore, type PlatformInstallKey, type StoredInstallKey } from './install-key';
import type { PackageSource } from './package-source';
import { encodeB64u, sha256, utf8 } from './protocol';
import { platformSigner, softwareSigner, type InstallSigner } from './signer';
import { readSignals, type DeviceSignals, type SignalProvider } from './signals';

/**
 * Where the install key comes from: a KeyStore holding a WebCrypto key, a key the platform keeps
 * (PlatformInstallKey), or the Android hardware provider, whose Keystore key the hardware step picks
 * once the nonce is known (a new key is generated for a nonce).
 */
export type InstallKeySource =
  | { readonly kind: 'store'; readonly store: KeyStore }
  | { readonly kind: 'platform'; readonly key: PlatformInstallKey }
  | { readonly kind: 'hardware' };

/** What one attestation sends about the device, ready for the exchange. */
export interface Prepared {
  readonly digest: Uint8Array;
  /** The install key; undefined when the hardware step provides it (Android). */
  readonly key: InstallSigner | undefined;
  /** Hardware evidence to add once the nonce is known, when the client has a provider. */
  readonly hardware: HardwareKeys | undefined;
  readonly signals: DeviceSignals;
  readonly binding: string | undefined;
  readonly limitedUse: boolean;
}

/** Names the part of the device that failed; an AttestorError passes as it is. */
function localFailure(what: string): (error: unknown) => never {
  return (error) => {
    throw error instanceof AttestorError ? error : new AttestorError('local_error', `${what} failed: ${describeError(error)}`, { cause: error });
  };
}

/** The device's side of attestation for one client; its caches live as long as the client. */
export class LocalEvidence {
  private digest: Promise<Uint8Array> | undefined;
  private installKey: Promise<InstallSigner> | undefined;
  /** A key in use but not saved (the store failed); saved or reused on the next try, so the install keeps one identity. */
  private unsavedKey: StoredInstallKey | undefined;

  constructor(
    private readonly packageSource: PackageSource,
    private readonly keySource: InstallKeySource,
    private readonly hardware: HardwareKeys | undefined,
    private readonly signalProviders: readonly SignalProvider[],
    private readonly emit: (event: AttestorEvent) => void,
  ) {}

  /** Everything slow and local, done before the challenge so the 60 s nonce life is spent only on the exchange. */
  async prepare(binding: string | undefined, limitedUse: boolean): Promise<Prepared> {
    const [digest, key, signals, bindingHash] = await Promise.all([
      this.packageDigest().catch(localFailure('the package source')),
      this.loadInstallKey().catch(localFailure('the install key')),
      readSignals(this.signalProviders).catch(localFailure('a signal provider')),
      binding === undefined ? undefined : sha256(utf8(binding)),
    ]);
    return { digest, key, hardware: this.hardware, signals, binding: bindingHash ? encodeB64u(bindingHash) : undefined, limitedUse };
  }

  /** Hashing a package can take seconds, so it happens once per client; a failure is retried next time. */
  private packageDigest(): Promise<Uint8Array> {
    if (!this.digest) {
      const pending = Promise.resolve()
        .then(() => this.packageSource.digest())
        .then((digest) => {
          if (!(digest instanceof Uint8Array) || digest.length !== 32) {
            throw new TypeError('PackageSource.digest() must return the 32-byte SHA-256 of the package');
          }
          return digest;
        });
      this.digest = pending;
      pending.catch(() => {
        if (this.digest === pending) this.digest = undefined;
      });
    }
    return this.digest;
  }

  private async loadInstallKey(): Promise<InstallSigner | undefined> {
    const source = this.keySource;
    if (source.kind === 'hardware') return undefined;
    // Shared so two concurrent first attestations cannot each generate (and save) a different key.
    if (!this.installKey) {
      const pending = source.kind === 'platform' ? platformInstallKey(source.key) : this.storedInstallKey(source.store);
      this.installKey = pending;
      pending.catch(() => {
        if (this.installKey === pending) this.installKey = undefined;
      });
    }
    return this.installKey;
  }

  private storedInstallKey(store: KeyStore): Promise<InstallSigner> {
    const pending: Promise<InstallSigner> = resolveInstallKey(store, this.unsavedKey).then((resolved) => {
      this.emit({ type: 'install_key', outcome: resolved.outcome, ...(resolved.problem !== undefined ? { problem: resolved.problem } : {}) });
      this.unsavedKey = resolved.unsaved;
      // An in-memory key stands in only until the store works again: ask it again next time.
      if (resolved.outcome === 'ephemeral' && this.installKey === pending) this.installKey = undefined;
      return softwareSigner(resolved.key);
    });
    return pending;
  }
}

/** A platform key's public half, asked once per client; its signatures are converted and checked by platformSigner. */
async function platformInstallKey(key: PlatformInstallKey): Promise<InstallSigner> {
  const publicJwk: unknown = await key.publicKey();
  if (!isInstallPublicJwk(publicJwk)) throw new TypeError('PlatformInstallKey.publicKey() must resolve to an EC P-256 public JWK ({ kty, crv, x, y })');
  const { kty, crv, x, y } = publicJwk;
  return platformSigner({ kty, crv, x, y }, (message) => key.sign(message), { code: 'local_error', what: "the install key's sign()" });
}
