/**
 * The revocation function (PROTOCOL.md §5.6): fetches Google's attestation status list over HTTPS and
 * writes the copy attest reads into the builds bucket. S3 only, no DynamoDB, no KMS, so its
 * environment is its own (not configFromEnv's, which requires the tables).
 */
import { GOOGLE_ATTESTATION_STATUS_URL } from '@attestor/contracts/tables';
import type { S3Client } from '@aws-sdk/client-s3';
import { HttpStatusList } from '../adapters/http-status-list';
import { S3StatusList } from '../adapters/s3-status-list';
import type { RevocationRefreshDeps } from '../core/hardware/status-refresh';
import { s3Client } from './clients/s3';
import type { ClientSettings } from './clients/settings';
import { ConfigurationError } from './environment';

export interface RevocationListConfig extends ClientSettings {
  /** REVOCATION_LIST_BUCKET: the builds bucket; the object is REVOCATION_LIST_OBJECT_KEY. */
  readonly bucket: string;
  /** ATTESTATION_STATUS_URL (https), default Google's. */
  readonly url: string;
}

export function revocationListConfigFromEnv(env: NodeJS.ProcessEnv): RevocationListConfig {
  const bucket = env['REVOCATION_LIST_BUCKET'];
  if (!bucket) throw new ConfigurationError('environment variable REVOCATION_LIST_BUCKET is required');
  const url = env['ATTESTATION_STATUS_URL'] || GOOGLE_ATTESTATION_STATUS_URL;
  if (!/^https:\/\/\S+$/.test(url)) throw new ConfigurationError(`ATTESTATION_STATUS_URL must be an https URL, got "${url}"`);
  return { region: env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? 'us-east-1', bucket, url };
}

export function revocationListDeps(
  config: RevocationListConfig,
  options: { readonly s3?: S3Client; readonly fetch?: typeof fetch } = {},
): RevocationRefreshDeps {
  return {
    fetcher: new HttpStatusList(config.url, options.fetch ? { fetch: options.fetch } : {}),
    store: new S3StatusList(options.s3 ?? s3Client(config), config.bucket),
  };
}
