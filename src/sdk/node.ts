/**
 * Node-only helpers of the SDK (Node 20+, Electron main process). Kept apart from ./index so the
 * portable core never reaches a `node:` module.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isStoredInstallKey, type KeyStore, type StoredInstallKey } from './install-key';
import type { PackageSource } from './package-source';

/**
 * A PackageSource over a file: SHA-256 computed by streaming, so memory stays flat however large
 * the package is (an Electron app.asar, a bundled executable).
 * @example
 * ```ts
 * import { app } from 'electron';
 * const packageSource = filePackageSource(path.join(process.resourcesPath, 'app.asar'));
 * ```
 */
export function filePackageSource(path: string): PackageSource {
  return {
    digest: () =>
      new Promise<Uint8Array>((resolve, reject) => {
        const hash = createHash('sha256');
        createReadStream(path)
          .on('data', (chunk) => hash.update(chunk))
          .on('error', reject)
          .on('end', () => resolve(new Uint8Array(hash.digest())));
      }),
  };
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * A KeyStore in a JSON file, readable by the owner only (mode 0600). Writes go to a temporary
 * file in the same directory that is fsynced and renamed over the old one, so a crash mid-write
 * leaves either the old key or the new one, never half a file. A missing or corrupt file loads
 * as undefined (the client then makes a new key); other read errors, such as EACCES, are thrown
 * so a transient problem does not replace the install's identity.
 * @example
 * ```ts
 * const keyStore = fileKeyStore(path.join(app.getPath('userData'), 'attestor-install-key.json'));
 * ```
 */
export function fileKeyStore(path: string): KeyStore {
  return {
    async load(): Promise<StoredInstallKey | undefined> {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
      try {
        const value: unknown = JSON.parse(text);
        return isStoredInstallKey(value) ? value : undefined;
      } catch {
        return undefined;
      }
    },

    async save(key: StoredInstallKey): Promise<void> {
      const dir = dirname(path);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      const { kty, crv, x, y, d } = key;
      try {
        // 'wx': never follow or reuse a file someone else put at the temporary name.
        const handle = await open(temp, 'wx', 0o600);
        try {
          await handle.writeFile(`${JSON.stringify({ kty, crv, x, y, d })}\n`, 'utf8');
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, path);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      // Make the rename itself durable; not every platform can fsync a directory, which is harmless.
      try {
        const dirHandle = await open(dir, 'r');
        try {
          await dirHandle.sync();
        } finally {
          await dirHandle.close();
        }
      } catch {
        // best effort
      }
    },
  };
}
