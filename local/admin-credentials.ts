/**
 * The local cloud's admin credentials. In AWS the admin API uses IAM (SigV4 with the caller's AWS
 * credentials); locally the gateway verifies SigV4 against the operator credential created on
 * first start and the tenant credentials `POST /v1/admin/tenants` creates, so the CLI signs
 * requests the same way in both places. The gateway needs each secret to recompute signatures
 * (SigV4 is an HMAC), so they are kept in mode-0600 files under the data directory, as the AWS
 * CLI keeps ~/.aws/credentials.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AdminCredentialIssuer, IssuedAdminCredential } from '../src/core/ports';

export interface AdminCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Region in the SigV4 credential scope. */
  readonly region: string;
  readonly tenantId: string;
}

export const ADMIN_CREDENTIALS_FILE = 'admin-credentials.json';
/** Credentials of tenants created through the admin API. */
export const TENANT_CREDENTIALS_FILE = 'tenant-credentials.json';
/** The account id the local gateway reports (API Gateway's identity.accountId). */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** SigV4 service name API Gateway uses for IAM-authorized routes. */
export const ADMIN_SIGNING_SERVICE = 'execute-api';
export const LOCAL_REGION = 'us-east-1';

/** Where local data lives: $ATTESTOR_HOME or ./.attestor. */
export function localDataDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env['ATTESTOR_HOME'] ?? '.attestor');
}

export function readAdminCredentials(dataDir: string): AdminCredentials | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, ADMIN_CREDENTIALS_FILE), 'utf8')) as Partial<AdminCredentials>;
    if (typeof parsed.accessKeyId !== 'string' || typeof parsed.secretAccessKey !== 'string') return undefined;
    return {
      accessKeyId: parsed.accessKeyId,
      secretAccessKey: parsed.secretAccessKey,
      region: parsed.region ?? LOCAL_REGION,
      tenantId: parsed.tenantId ?? 'default',
    };
  } catch {
    return undefined;
  }
}

function newCredentials(tenantId: string): AdminCredentials {
  return {
    accessKeyId: `AKLOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    region: LOCAL_REGION,
    tenantId,
  };
}

/** Write-then-rename, so a crash never leaves half a credentials file behind. */
function writePrivateJson(file: string, value: unknown): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function loadOrCreateAdminCredentials(dataDir: string, tenantId = 'default'): AdminCredentials {
  const existing = readAdminCredentials(dataDir);
  if (existing) return existing;
  const credentials = newCredentials(tenantId);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writePrivateJson(join(dataDir, ADMIN_CREDENTIALS_FILE), credentials);
  return credentials;
}

/**
 * The IAM principal the local gateway reports for a credential (API Gateway's identity.userArn);
 * the admin API maps it to a tenant like any IAM user.
 */
export function localPrincipal(accessKeyId: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/attestor/${accessKeyId}`;
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
      typeof c === 'object' && c !== null && typeof c.accessKeyId === 'string' && typeof c.secretAccessKey === 'string' && typeof c.region === 'string' && typeof c.tenantId === 'string',
  );
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

  find(accessKeyId: string): AdminCredentials | undefined {
    return this.byAccessKey.get(accessKeyId);
  }

  async issue(tenantId: string): Promise<IssuedAdminCredential> {
    const credentials = newCredentials(tenantId);
    this.tenantCredentials.push(credentials);
    writePrivateJson(join(this.dataDir, TENANT_CREDENTIALS_FILE), { credentials: this.tenantCredentials });
    this.byAccessKey.set(credentials.accessKeyId, credentials);
    return {
      principal: localPrincipal(credentials.accessKeyId),
      credential: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, region: credentials.region },
    };
  }
}
