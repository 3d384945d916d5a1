/** The Node helpers of the SDK: streaming file digests and the file key store. */
import { createHash } from 'node:crypto';
import type * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { arch, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStoredInstallKey, loadOrCreateInstallKey } from '../../../packages/sdk/src/install-key';
import { fileKeyStore, filePackageSource, nodeDeviceInfo } from '../../../packages/sdk/src/node';
import vectors from '../../vectors/protocol-v2.json';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'attestor-sdk-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('filePackageSource', () => {
  it('streams the file into SHA-256 without reading it whole', async () => {
    const path = join(dir, 'app.bin');
    // Several of the reader's 1 MiB chunks and not a multiple of them, each chunk different.
    const content = Buffer.alloc(3 * 1024 * 1024 + 17, 0xab);
    for (let at = 0; at < content.length; at += 4096) content.writeUInt32BE(at, at);
    content.write('header', 0);
    await fsp.writeFile(path, content);
    // The module objects node.ts sees (an `import * as` binding is only a copy of them).
    const realFs = jest.requireActual<typeof fs>('node:fs');
    const realFsp = jest.requireActual<typeof fsp>('node:fs/promises');
    const readWhole = [jest.spyOn(realFsp, 'readFile'), jest.spyOn(realFs, 'readFileSync'), jest.spyOn(realFs, 'readFile')];

    const digest = await filePackageSource(path).digest();
    expect(Buffer.from(digest).toString('hex')).toBe(createHash('sha256').update(content).digest('hex'));
    for (const spy of readWhole) expect(spy).not.toHaveBeenCalled();
  });

  it('rejects for a missing file, and does not remember the failure', async () => {
    const path = join(dir, 'late.bin');
    await expect(filePackageSource(path).digest()).rejects.toMatchObject({ code: 'ENOENT' });
    await fsp.writeFile(path, 'arrived');
    expect(Buffer.from(await filePackageSource(path).digest()).toString('hex')).toBe(createHash('sha256').update('arrived').digest('hex'));
  });

  it('hashes a path once per process, shared by every source over it, each caller getting its own copy', async () => {
    const path = join(dir, 'app.bin');
    await fsp.writeFile(path, 'package v1');
    const opens = jest.spyOn(jest.requireActual<typeof fsp>('node:fs/promises'), 'open');
    const [a, b] = await Promise.all([filePackageSource(path).digest(), filePackageSource(join(dir, '.', 'app.bin')).digest()]);
    expect(a).toEqual(b);
    a[0] = a[0]! ^ 0xff;
    const again = await filePackageSource(path).digest();
    expect(Buffer.from(again).toString('hex')).toBe(createHash('sha256').update('package v1').digest('hex'));
    expect(opens).toHaveBeenCalledTimes(1);
  });
});

describe('fileKeyStore', () => {
  const key = vectors.cases[0]!.input.installKey as Parameters<ReturnType<typeof fileKeyStore>['save']>[0];

  it('saves into a new directory with mode 0600 and loads it back, leaving no temporary file', async () => {
    const path = join(dir, 'nested', 'key.json');
    const store = fileKeyStore(path);
    await store.save(key);
    expect(await store.load()).toEqual(key);
    expect((await fsp.stat(path)).mode & 0o777).toBe(0o600);
    expect(await fsp.readdir(join(dir, 'nested'))).toEqual(['key.json']);
  });

  it('replaces an existing key by rename, keeping mode 0600', async () => {
    const path = join(dir, 'key.json');
    await fsp.writeFile(path, 'old', { mode: 0o644 });
    const store = fileKeyStore(path);
    const fresh = await loadOrCreateInstallKey(store);
    const saved = await store.load();
    expect(saved && isStoredInstallKey(saved)).toBe(true);
    expect(saved!.x).toBe(fresh.publicJwk.x);
    expect((await fsp.stat(path)).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['missing', undefined],
    ['not JSON', '{"kty":"EC",'],
    ['JSON of the wrong shape', JSON.stringify({ ...key, d: 'short' })],
    ['empty', ''],
  ])('loads undefined when the file is %s', async (_what, content) => {
    const path = join(dir, 'key.json');
    if (content !== undefined) await fsp.writeFile(path, content);
    expect(await fileKeyStore(path).load()).toBeUndefined();
  });

  it('throws on read errors other than a missing file, so the key is not replaced', async () => {
    await fsp.mkdir(join(dir, 'key.json'));
    await expect(fileKeyStore(join(dir, 'key.json')).load()).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('a failed save removes its temporary file and leaves the old state', async () => {
    const path = join(dir, 'key.json');
    await fsp.mkdir(path); // rename onto a directory fails
    await expect(fileKeyStore(path).save(key)).rejects.toThrow();
    expect(await fsp.readdir(dir)).toEqual(['key.json']);
    expect((await fsp.stat(path)).isDirectory()).toBe(true);
  });
});

describe('nodeDeviceInfo', () => {
  it('names the runtime, the OS release and the architecture', () => {
    const info = nodeDeviceInfo();
    expect(info).toEqual({ platform: 'node', osVersion: expect.stringContaining(release()), model: arch() });
  });
});
