/**
 * The local cloud's state on disk, which `npm start` (@attestor/local) writes and the CLI reads: where
 * it lives (and how the CLI finds it from anywhere in the project), the admin credentials and the
 * running service's endpoints.
 *
 * The local cloud's admin credentials. In AWS the admin API uses IAM (SigV4 with the caller's AWS
 * credentials); locally the gateway verifies SigV4 against the operator credential created on
 * first start and the tenant credentials `POST /v1/admin/tenants` creates, so the CLI signs
 * requests the same way in both places. The gateway needs each secret to recompute signatures
 * (SigV4 is an HMAC), so they are kept in mode-0600 files under the data directory, as the AWS
 * CLI keeps ~/.aws/credentials.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface AdminCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Region in the SigV4 credential scope. */
  readonly region: string;
  readonly tenantId: string;
  /** The role it was minted with by `attestor tenants grant`; absent: the tenant's own credential (an admin) from `tenants create`. */
  readonly role?: 'register' | 'read' | 'admin';
}

export const ADMIN_CREDENTIALS_FILE = 'admin-credentials.json';
/** Credentials of tenants created through the admin API. */
export const TENANT_CREDENTIALS_FILE = 'tenant-credentials.json';
/** Where `attestor tenants create` saves each tenant's credential (`<dir>/<tenant>.json`), which `--tenant` reads. */
export const TENANT_CREDENTIALS_DIR = 'credentials';

/**
 * A saved credential's file name in TENANT_CREDENTIALS_DIR: `<tenant>.json` for the tenant's own
 * credential (what `--tenant` reads), `<tenant>.<role>.json` for one `attestor tenants grant` minted
 * with a role, so that such a credential never stands in for the tenant's own.
 */
export function tenantCredentialFileName(tenantId: string, role?: 'register' | 'read' | 'admin'): string {
  return role === undefined ? `${tenantId}.json` : `${tenantId}.${role}.json`;
}
/** The account id the local gateway reports (API Gateway's identity.accountId). */
export const LOCAL_ACCOUNT_ID = '000000000000';
/** SigV4 service name API Gateway uses for IAM-authorized routes. */
export const ADMIN_SIGNING_SERVICE = 'execute-api';
export const LOCAL_REGION = 'us-east-1';

/** The data directory's name inside a project, unless ATTESTOR_HOME says otherwise. */
export const LOCAL_DATA_DIR_NAME = '.attestor';

/** Where `npm start` keeps its data: $ATTESTOR_HOME or ./.attestor (npm runs scripts in the project root). */
export function localDataDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return resolve(cwd, env['ATTESTOR_HOME'] ?? LOCAL_DATA_DIR_NAME);
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

/**
 * The IAM principal the local gateway reports for a credential (API Gateway's identity.userArn);
 * the admin API maps it to a tenant like any IAM user.
 */
export function localPrincipal(accessKeyId: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/attestor/${accessKeyId}`;
}

/** What `npm start` records about the running local cloud, for the CLI (its endpoint and its KMS). */
export const LOCAL_CLOUD_FILE = 'local-cloud.json';

/** The content of LOCAL_CLOUD_FILE: written when the service is ready, removed when it stops. */
export interface LocalCloudState {
  /** The local API gateway, e.g. http://127.0.0.1:3000: the CLI's endpoint when none is given. */
  readonly endpoint: string;
  /** The local KMS endpoint, where `attestor keys secret` unwraps secrets. */
  readonly kms: string;
  /** The process serving it. */
  readonly pid: number;
  /** When the data directory, deleted while the service ran, was restored from the service's memory. */
  readonly restoredAt?: string;
}

/** The state file of `dataDir`: undefined when there is none or it is not one the service wrote. */
export function readLocalCloudState(dataDir: string): LocalCloudState | undefined {
  let parsed: Partial<LocalCloudState>;
  try {
    parsed = JSON.parse(readFileSync(join(dataDir, LOCAL_CLOUD_FILE), 'utf8')) as Partial<LocalCloudState>;
  } catch {
    return undefined;
  }
  const pid = parsed.pid;
  if (typeof parsed.endpoint !== 'string' || typeof parsed.kms !== 'string' || typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  return {
    endpoint: parsed.endpoint,
    kms: parsed.kms,
    pid,
    ...(typeof parsed.restoredAt === 'string' ? { restoredAt: parsed.restoredAt } : {}),
  };
}

/** Whether a process runs (EPERM: it does, as another user). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The data directory a command run in `cwd` means, and how it was found:
 * - `ATTESTOR_HOME`: the variable names it, and nothing else is looked at;
 * - `running`: the nearest `.attestor` holding a LOCAL_CLOUD_FILE, in `cwd` or a directory above it,
 *   so the CLI finds `npm start`'s service from anywhere inside the project (npm runs `start` in
 *   the project root, the CLI runs where the user is);
 * - `stopped`: no state file on the way up, but a `.attestor` (a service that is not running);
 * - `none`: neither; `dir` is then ./.attestor, where `npm start` would put it.
 */
export interface LocalDataDirLookup {
  readonly dir: string;
  readonly source: 'ATTESTOR_HOME' | 'running' | 'stopped' | 'none';
}

export function findLocalDataDir(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LocalDataDirLookup {
  const home = env['ATTESTOR_HOME'];
  if (home) return { dir: resolve(cwd, home), source: 'ATTESTOR_HOME' };
  let stopped: string | undefined;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, LOCAL_DATA_DIR_NAME);
    if (isFile(join(candidate, LOCAL_CLOUD_FILE))) return { dir: candidate, source: 'running' };
    if (stopped === undefined && isDirectory(candidate)) stopped = candidate;
    if (dirname(dir) === dir) break;
  }
  return stopped !== undefined ? { dir: stopped, source: 'stopped' } : { dir: resolve(cwd, LOCAL_DATA_DIR_NAME), source: 'none' };
}

/** An unreadable directory on the way up (EACCES) counts as holding nothing, like a missing one. */
function statOf(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

const isFile = (path: string): boolean => statOf(path)?.isFile() ?? false;
const isDirectory = (path: string): boolean => statOf(path)?.isDirectory() ?? false;
