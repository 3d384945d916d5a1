/**
 * Which credential signs admin requests. Against the local cloud it is the credential the local
 * cloud wrote to its data directory; against AWS it is whatever the AWS default chain finds
 * (environment, profile, SSO, instance role), exactly as the AWS CLI would.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ADMIN_CREDENTIALS_FILE, LOCAL_REGION, readAdminCredentials, TENANT_CREDENTIALS_DIR } from '@attestor/contracts/local-state';
import { CliError, oneLine } from './errors';
import { locateLocalService, searched } from './local-service';

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A fixed credential or a provider the signer calls (and the SDK chain caches) per request. */
export type CredentialSource = SigningCredentials | (() => Promise<SigningCredentials>);

export interface ResolvedCredentials {
  readonly credentials: CredentialSource;
  readonly region: string;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function isLocalEndpoint(endpoint: URL): boolean {
  return LOCAL_HOSTS.has(endpoint.hostname.toLowerCase());
}

/** `<id>.execute-api.<region>.amazonaws.com[.cn]`: lets a default API Gateway URL work without AWS_REGION. */
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export interface CredentialChoice {
  /** `--tenant` / ATTESTOR_TENANT: act as this tenant with the credential saved for it. */
  readonly tenant?: string;
  /** `--credentials FILE` / ATTESTOR_CREDENTIALS: sign with the access key in this file. */
  readonly credentialsFile?: string;
}

/** Saved tenant credentials live beside the admin credential, in the local service's data directory: `credentials/<tenant>.json`. */
export function tenantCredentialsPath(env: NodeJS.ProcessEnv, cwd: string, tenant: string): string {
  return join(locateLocalService(env, cwd).dir, TENANT_CREDENTIALS_DIR, `${tenant}.json`);
}

/**
 * Picks the credential that signs admin requests, in this order: an explicit file; the saved
 * credential of `--tenant` (local endpoints); the local admin credential (local endpoints); the
 * AWS default chain (anything else).
 */
export function resolveCredentials(endpoint: URL, env: NodeJS.ProcessEnv, cwd: string, choice: CredentialChoice = {}): ResolvedCredentials {
  const local = isLocalEndpoint(endpoint);
  if (choice.credentialsFile !== undefined) {
    const path = resolve(cwd, choice.credentialsFile);
    const file = readCredentialFile(path, `check the path given to --credentials`);
    const region = file.region ?? (local ? LOCAL_REGION : awsRegion(endpoint, env));
    return { credentials: file.credentials, region };
  }
  if (choice.tenant !== undefined) {
    if (!local) {
      throw new CliError(
        `--tenant works against the local service only: against AWS, use AWS credentials that belong to tenant ${choice.tenant} (AWS_PROFILE) or pass ` +
          `--credentials FILE`,
      );
    }
    const path = tenantCredentialsPath(env, cwd, choice.tenant);
    if (!existsSync(path)) {
      throw new CliError(
        `no saved credential for tenant ${choice.tenant} in ${dirname(path)}: create it with \`attestor tenants create ${choice.tenant}\` or pass ` +
          `--credentials FILE`,
      );
    }
    const file = readCredentialFile(path, `delete it and create the tenant's credential again`);
    return { credentials: file.credentials, region: file.region ?? LOCAL_REGION };
  }
  if (local) {
    const located = locateLocalService(env, cwd);
    const admin = readAdminCredentials(located.dir);
    if (!admin) {
      throw new CliError(
        located.source === 'stopped'
          ? `no local admin credential in ${located.dir}: start the service with \`npm start\` first`
          : `no local admin credential (${searched(located, cwd, ADMIN_CREDENTIALS_FILE)}): start the service with \`npm start\` in your project first`,
      );
    }
    return { credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey }, region: admin.region };
  }
  return { credentials: awsDefaultChain(), region: awsRegion(endpoint, env) };
}

function awsRegion(endpoint: URL, env: NodeJS.ProcessEnv): string {
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || endpoint.hostname.match(EXECUTE_API_HOST)?.[1];
  if (!region) throw new CliError(`cannot tell the AWS region of ${endpoint.origin}: set AWS_REGION to the region the service is deployed in`);
  return region;
}

/** A credential file: `{"accessKeyId": "..", "secretAccessKey": "..", "sessionToken"?: "..", "region"?: ".."}`. */
function readCredentialFile(path: string, fix: string): { credentials: SigningCredentials; region?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read credential file ${path} (${code ?? 'unknown error'}): ${fix}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`credential file ${path} is not JSON: ${fix}`);
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const { accessKeyId, secretAccessKey, sessionToken, region } = record;
  if (typeof accessKeyId !== 'string' || !accessKeyId || typeof secretAccessKey !== 'string' || !secretAccessKey) {
    throw new CliError(`credential file ${path} has no accessKeyId and secretAccessKey: ${fix}`);
  }
  return {
    credentials: { accessKeyId, secretAccessKey, ...(typeof sessionToken === 'string' && sessionToken ? { sessionToken } : {}) },
    ...(typeof region === 'string' && region ? { region } : {}),
  };
}

/**
 * The AWS default provider chain, loaded on first use: it pulls in most of the SDK's credential
 * code, which local use and `--help` should not pay for at startup.
 */
function awsDefaultChain(): () => Promise<SigningCredentials> {
  let provider: (() => Promise<SigningCredentials>) | undefined;
  return async () => {
    if (!provider) {
      // `defaultProvider` is the chain that `fromNodeProviderChain` (from @aws-sdk/credential-providers,
      // which is not a dependency) wraps: environment, SSO, ini profiles, process, web identity, IMDS.
      const { defaultProvider } = require('@aws-sdk/credential-provider-node') as typeof import('@aws-sdk/credential-provider-node');
      const chain = defaultProvider();
      provider = () => chain();
    }
    try {
      return await provider();
    } catch (error) {
      // The chain's messages list every source it tried over several lines; one line is enough to act on.
      const detail = oneLine((error as Error)?.message ?? '').slice(0, 200);
      throw new CliError(
        `no usable AWS credentials${detail ? ` (${detail})` : ''}: ` +
          'configure them as for the AWS CLI (AWS_PROFILE, `aws sso login` or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)',
      );
    }
  };
}
