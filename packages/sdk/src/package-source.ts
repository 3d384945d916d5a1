import { sha256 } from './protocol';

/**
 * Where the SDK gets the SHA-256 of the app's own package (the exact bytes registered with
 * `attestor` at release time). The client calls `digest()` once and reuses the result, so an
 * implementation may be slow (hashing a large bundle) without slowing later attestations.
 * @example
 * ```ts
 * const source: PackageSource = { digest: async () => nativeModule.sha256OfInstalledApk() };
 * ```
 */
export interface PackageSource {
  /** The 32-byte SHA-256 of the package. */
  digest(): Promise<Uint8Array>;
}

/**
 * A PackageSource over package bytes already in memory, hashed with WebCrypto on first use and
 * then remembered.
 * For files on disk prefer `filePackageSource` from `attestor/sdk/node`, which streams.
 * @example
 * ```ts
 * const source = bytesPackageSource(await readBundleBytes());
 * ```
 */
export function bytesPackageSource(bytes: Uint8Array): PackageSource {
  // Copied so a caller reusing its buffer cannot change what gets measured.
  const copy = new Uint8Array(bytes);
  let digest: Promise<Uint8Array> | undefined;
  return {
    digest: async () => {
      const pending = (digest ??= sha256(copy));
      pending.catch(() => {
        if (digest === pending) digest = undefined;
      });
      return new Uint8Array(await pending);
    },
  };
}
