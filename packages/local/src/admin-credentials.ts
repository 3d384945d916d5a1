/**
 * Creates and stores the local cloud's admin credentials (their format and location:
 * @attestor/contracts/local-state). The gateway needs each secret to recompute signatures (SigV4 is
 * an HMAC), so they are kept in mode-0600 files under the data directory, as the AWS CLI keeps
 * ~/.aws/credentials.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ADMIN_CREDENTIALS_FILE,
  LOCAL_REGION,
  localPrincipal,
  readAdminCredentials,
  TENANT_CREDENTIALS_DIR,
  TENANT_CREDENTIALS_FILE,
  tenantCredentialFileName,
  type AdminCredentials,
} from '@attestor/contracts/local-state';
import { PRINCIPAL_ROLES, type PrincipalRole } from '@attestor/contracts/routes';
import type { AdminCredentialIssuer, IssuedAdminCredential } from '@attestor/service/core/ports';

function newCredentials(tenantId: string, role?: PrincipalRole): AdminCredentials {
  return {
    accessKeyId: `AKLOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    region: LOCAL_REGION,
    tenantId,
    ...(role ? { role } : {}),
  };
}

/** Write-then-rename, so a crash never leaves half a credentials file behind. */
function writePrivateJson(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Writes the operator credential (again: the data directory may have been deleted while the service ran). */
export function writeAdminCredentials(dataDir: string, credentials: AdminCredentials): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writePrivateJson(join(dataDir, ADMIN_CREDENTIALS_FILE), credentials);
}

export function loadOrCreateAdminCredentials(dataDir: string, tenantId = 'default'): AdminCredentials {
  const existing = readAdminCredentials(dataDir);
  if (existing) return existing;
  const credentials = newCredentials(tenantId);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writePrivateJson(join(dataDir, ADMIN_CREDENTIALS_FILE), credentials);
  return credentials;
}

function readTenantCredentials(dataDir: string): AdminCredentials[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, TENANT_CREDENTIALS_FILE), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${join(dataDir, TENANT_CREDENTIALS_FILE)} is not valid JSON: fix or delete it`);
  }
  const list = (parsed as { credentials?: unknown }).credentials;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (c): c is AdminCredentials =>
      typeof c === 'object' &&
      c !== null &&
      typeof c.accessKeyId === 'string' &&
      typeof c.secretAccessKey === 'string' &&
      typeof c.region === 'string' &&
      typeof c.tenantId === 'string',
  ).map(({ role, ...c }) => ({ ...c, ...(role !== undefined && PRINCIPAL_ROLES.includes(role) ? { role } : {}) }));
}

/**
 * Every credential the local gateway accepts: the operator's, and those minted for tenants, which
 * it persists so they keep working across restarts.
 */
export class LocalCredentialStore implements AdminCredentialIssuer {
  private readonly byAccessKey = new Map<string, AdminCredentials>();
  private readonly tenantCredentials: AdminCredentials[];

  constructor(
    private readonly dataDir: string,
    readonly operator: AdminCredentials,
  ) {
    this.tenantCredentials = readTenantCredentials(dataDir);
    for (const c of [operator, ...this.tenantCredentials]) this.byAccessKey.set(c.accessKeyId, c);
  }

  /**
   * Writes every credential this store holds to the data directory again, after it was deleted
   * while the service ran: the operator's, the tenants' list, and for each tenant the copy
   * `attestor tenants create` saves under credentials/ (its latest), so `--tenant` keeps working,
   * and the latest of each narrower role under the name `attestor tenants grant` saves it by.
   * Returns how many tenant credentials it wrote.
   */
  persistAll(): number {
    writeAdminCredentials(this.dataDir, this.operator);
    if (this.tenantCredentials.length === 0) return 0;
    writePrivateJson(join(this.dataDir, TENANT_CREDENTIALS_FILE), { credentials: this.tenantCredentials });
    const latest = new Map(this.tenantCredentials.map((c) => [tenantCredentialFileName(c.tenantId, c.role), c]));
    mkdirSync(join(this.dataDir, TENANT_CREDENTIALS_DIR), { recursive: true, mode: 0o700 });
    for (const [name, credentials] of latest) {
      const file = join(this.dataDir, TENANT_CREDENTIALS_DIR, name);
      if (!existsSync(file)) writePrivateJson(file, credentials);
    }
    return this.tenantCredentials.length;
  }

  find(accessKeyId: string): AdminCredentials | undefined {
    return this.byAccessKey.get(accessKeyId);
  }

  async issue(tenantId: string, role?: PrincipalRole): Promise<IssuedAdminCredential> {
    const credentials = newCredentials(tenantId, role);
    this.tenantCredentials.push(credentials);
    writePrivateJson(join(this.dataDir, TENANT_CREDENTIALS_FILE), { credentials: this.tenantCredentials });
    this.byAccessKey.set(credentials.accessKeyId, credentials);
    return {
      principal: localPrincipal(credentials.accessKeyId),
      credential: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, region: credentials.region },
    };
  }
}
