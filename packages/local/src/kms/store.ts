/**
 * The keys and aliases of one local KMS, and their persistence under the data directory
 * (`keys/<key id>.json`, `aliases.json`). Every check-and-change runs synchronously on the
 * in-memory maps (one event-loop turn, so concurrent requests cannot interleave inside it); the
 * files then catch up through a per-file write queue before the response is sent. Nothing
 * coordinates two processes: one server owns a data directory at a time.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KmsError } from './errors';
import { atomicWrite, isInterruptedWrite, parseAliasFile, WriteQueue, type StoredAlias } from './files';
import type { Output } from './input';
import { KEY_ID, LiveKey, newKeyMaterial, parseKeyFile, serializeKey, type KeyAttributes, type KeySpec } from './key';

const KMS_ARN = /^arn:aws[a-z-]*:kms:([^:]*):([^:]*):(key|alias)\/(.+)$/;

export class LocalKms {
  private readonly keys = new Map<string, LiveKey>();
  private readonly aliases = new Map<string, StoredAlias>();
  private readonly writes = new WriteQueue();

  private constructor(
    private readonly dataDir: string,
    readonly region: string,
    readonly accountId: string,
  ) {}

  static async load(dataDir: string, region: string, accountId: string): Promise<LocalKms> {
    const kms = new LocalKms(dataDir, region, accountId);
    await mkdir(kms.keysDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(kms.keysDir)) {
      const path = join(kms.keysDir, name);
      if (isInterruptedWrite(name)) await rm(path, { force: true });
      if (!name.endsWith('.json')) continue;
      const key = parseKeyFile(await readFile(path, 'utf8'), path);
      kms.keys.set(key.keyId, key);
    }
    let aliasText: string | undefined;
    try {
      aliasText = await readFile(kms.aliasesPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const alias of aliasText === undefined ? [] : parseAliasFile(aliasText, kms.aliasesPath)) kms.aliases.set(alias.name, alias);
    await kms.purgeDeletedKeys();
    return kms;
  }

  private get keysDir(): string {
    return join(this.dataDir, 'keys');
  }

  private get aliasesPath(): string {
    return join(this.dataDir, 'aliases.json');
  }

  arn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:key/${keyId}`;
  }

  aliasArn(name: string): string {
    return `arn:aws:kms:${this.region}:${this.accountId}:${name}`;
  }

  /** Accepts a key id or key ARN, and where AWS does (`allowAlias`) an alias name or alias ARN. */
  resolve(keyRef: string, allowAlias: boolean): LiveKey {
    let keyId: string | undefined;
    let alias: string | undefined;
    const arn = KMS_ARN.exec(keyRef);
    if (arn) {
      const [, region, account, kind, rest] = arn;
      if (region !== this.region || account !== this.accountId)
        throw new KmsError('NotFoundException', `Invalid arn ${keyRef}: not in ${this.region}/${this.accountId}`);
      if (kind === 'key') keyId = rest;
      else alias = `alias/${rest}`;
    } else if (keyRef.startsWith('alias/')) {
      alias = keyRef;
    } else if (keyRef.startsWith('arn:')) {
      throw new KmsError('NotFoundException', `Invalid arn ${keyRef}`);
    } else {
      keyId = keyRef;
    }
    if (alias !== undefined) {
      if (!allowAlias) throw new KmsError('ValidationException', `${keyRef} is an alias; this operation accepts only a key ID or key ARN`);
      const entry = this.aliases.get(alias);
      if (!entry) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(alias)} is not found.`);
      keyId = entry.targetKeyId;
    }
    if (keyId === undefined || !KEY_ID.test(keyId)) throw new KmsError('NotFoundException', `Invalid keyId ${keyRef}`);
    const key = this.keys.get(keyId);
    if (!key) throw new KmsError('NotFoundException', `Key '${this.arn(keyId)}' does not exist`);
    return key;
  }

  /** The key a ciphertext names, if it still exists. */
  find(keyId: string): LiveKey | undefined {
    return this.keys.get(keyId);
  }

  requireNotPendingDeletion(key: LiveKey): void {
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${this.arn(key.keyId)} is pending deletion.`);
  }

  /** For cryptographic operations: the key must be enabled. */
  requireUsable(key: LiveKey): void {
    this.requireNotPendingDeletion(key);
    if (key.state === 'Disabled') throw new KmsError('DisabledException', `${this.arn(key.keyId)} is disabled.`);
  }

  metadata(key: LiveKey): Output {
    const a = key.attributes;
    const { keySpec, keyUsage } = key.material;
    return {
      AWSAccountId: this.accountId,
      KeyId: a.keyId,
      Arn: this.arn(a.keyId),
      CreationDate: a.createdAt / 1000,
      Enabled: a.state === 'Enabled',
      Description: a.description,
      KeyUsage: keyUsage,
      KeyState: a.state,
      ...(a.deletionDate !== undefined ? { DeletionDate: a.deletionDate / 1000, PendingDeletionWindowInDays: a.pendingWindowInDays } : {}),
      Origin: 'AWS_KMS',
      KeyManager: 'CUSTOMER',
      CustomerMasterKeySpec: keySpec,
      KeySpec: keySpec,
      ...(keySpec === 'ECC_NIST_P256' ? { SigningAlgorithms: ['ECDSA_SHA_256'] } : { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] }),
      MultiRegion: false,
    };
  }

  async createKey(keySpec: KeySpec, description: string, tags: ReadonlyMap<string, string>, policy: string | undefined): Promise<LiveKey> {
    const attributes: KeyAttributes = {
      keyId: randomUUID(),
      createdAt: Date.now(),
      description,
      state: 'Enabled',
      tags: Object.fromEntries(tags),
      ...(policy !== undefined ? { policy } : {}),
    };
    const key = new LiveKey(attributes, newKeyMaterial(keySpec));
    this.keys.set(key.keyId, key);
    await this.persistKey(key.keyId);
    return key;
  }

  async updateKey(key: LiveKey, change: (attributes: KeyAttributes) => KeyAttributes): Promise<KeyAttributes> {
    key.attributes = change(key.attributes);
    await this.persistKey(key.keyId);
    return key.attributes;
  }

  keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  async createAlias(name: string, targetKeyId: string): Promise<void> {
    if (this.aliases.has(name)) throw new KmsError('AlreadyExistsException', `An alias with the name ${this.aliasArn(name)} already exists`);
    const now = Date.now();
    this.aliases.set(name, { name, targetKeyId, createdAt: now, updatedAt: now });
    await this.persistAliases();
  }

  async updateAlias(name: string, targetKeyId: string): Promise<void> {
    const alias = this.aliases.get(name);
    if (!alias) throw new KmsError('NotFoundException', `Alias ${this.aliasArn(name)} is not found.`);
    this.aliases.set(name, { ...alias, targetKeyId, updatedAt: Date.now() });
    await this.persistAliases();
  }

  /** Keys whose deletion date has passed are gone, and so are their aliases, as in AWS. */
  async purgeDeletedKeys(now = Date.now()): Promise<void> {
    const expired = [...this.keys.values()].filter((k) => k.state === 'PendingDeletion' && (k.attributes.deletionDate ?? Infinity) <= now);
    if (expired.length === 0) return;
    for (const key of expired) this.keys.delete(key.keyId);
    for (const [name, alias] of this.aliases) if (!this.keys.has(alias.targetKeyId)) this.aliases.delete(name);
    await Promise.all([...expired.map((key) => this.persistKey(key.keyId)), this.persistAliases()]);
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }

  /**
   * Writes every key and the aliases again, for a data directory deleted while the server ran:
   * the maps hold everything the files did. Returns how many keys it wrote.
   */
  async persistAll(): Promise<number> {
    await mkdir(this.keysDir, { recursive: true, mode: 0o700 });
    await Promise.all([...[...this.keys.keys()].map((keyId) => this.persistKey(keyId)), this.persistAliases()]);
    return this.keys.size;
  }

  /** Writes the key's current state, or removes its file if the key is gone. */
  private persistKey(keyId: string): Promise<void> {
    const path = join(this.keysDir, `${keyId}.json`);
    return this.writes.enqueue(path, async () => {
      const key = this.keys.get(keyId);
      if (key) await atomicWrite(path, serializeKey(key));
      else await rm(path, { force: true });
    });
  }

  private persistAliases(): Promise<void> {
    const aliases = () => [...this.aliases.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return this.writes.enqueue(this.aliasesPath, () => atomicWrite(this.aliasesPath, `${JSON.stringify(aliases(), null, 2)}\n`));
  }
}
