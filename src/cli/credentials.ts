/**
 * Which credential signs admin requests. Against the local cloud it is the credential the local
 * cloud wrote to its data directory; against AWS it is whatever the AWS default chain finds
 * (environment, profile, SSO, instance role), exactly as the AWS CLI would.
 */
import { localDataDir, readAdminCredentials } from '../../local/admin-credentials';
import { CliError, oneLine } from './errors';

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

export function resolveCredentials(endpoint: URL, env: NodeJS.ProcessEnv, cwd: string): ResolvedCredentials {
  if (isLocalEndpoint(endpoint)) {
    const dir = localDataDir(env, cwd);
    const local = readAdminCredentials(dir);
    if (!local) throw new CliError(`no local admin credential in ${dir}: start the service with \`npm start\` first`);
    return { credentials: { accessKeyId: local.accessKeyId, secretAccessKey: local.secretAccessKey }, region: local.region };
  }
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'] || endpoint.hostname.match(EXECUTE_API_HOST)?.[1];
  if (!region) throw new CliError(`cannot tell the AWS region of ${endpoint.origin}: set AWS_REGION to the region the service is deployed in`);
  return { credentials: awsDefaultChain(), region };
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
        `no usable AWS credentials${detail ? ` (${detail})` : ''}: configure them as for the AWS CLI (AWS_PROFILE, \`aws sso login\` or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`,
      );
    }
  };
}
