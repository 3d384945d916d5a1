/**
 * The local cloud's admin credential. In AWS the admin API uses IAM (SigV4 with the caller's AWS
 * credentials); locally the gateway verifies SigV4 against this one credential, created on first
 * start, so the CLI signs requests the same way in both places.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface AdminCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Region in the SigV4 credential scope. */
  readonly region: string;
  readonly tenantId: string;
}

export const ADMIN_CREDENTIALS_FILE = 'admin-credentials.json';
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

export function loadOrCreateAdminCredentials(dataDir: string, tenantId = 'default'): AdminCredentials {
  const existing = readAdminCredentials(dataDir);
  if (existing) return existing;
  const credentials: AdminCredentials = {
    accessKeyId: `AKLOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    region: LOCAL_REGION,
    tenantId,
  };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, ADMIN_CREDENTIALS_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return credentials;
}
