/**
 * The local cloud's state on disk, which `npm start` (@attestor/local) writes and the CLI reads: where
 * it lives, the admin credentials and the running service's endpoints.
 *
 * The local cloud's admin credentials. In AWS the admin API uses IAM (SigV4 with the caller's AWS
 * credentials); locally the gateway verifies SigV4 against the operator credential created on
 * first start and the tenant credentials `POST /v1/admin/tenants` creates, so the CLI signs
 * requests the same way in both places. The gateway needs each secret to recompute signatures
 * (SigV4 is an HMAC), so they are kept in mode-0600 files under the data directory, as the AWS
 * CLI keeps ~/.aws/credentials.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

/**
 * The IAM principal the local gateway reports for a credential (API Gateway's identity.userArn);
 * the admin API maps it to a tenant like any IAM user.
 */
export function localPrincipal(accessKeyId: string): string {
  return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/attestor/${accessKeyId}`;
}

/** What `npm start` records about the running local cloud, for the CLI (its KMS endpoint). */
export const LOCAL_CLOUD_FILE = 'local-cloud.json';
