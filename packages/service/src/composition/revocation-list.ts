/**
 * The revocation function (PROTOCOL.md §5.6): fetches Google's attestation status list over HTTPS and
 * writes the copy attest reads into the builds bucket. S3 only, no DynamoDB, no KMS: its record
 * (REVOCATION_LIST_CONFIG in @attestor/contracts/config) names the bucket and the URL, nothing else.
 */
import type { RevocationListConfig } from '@attestor/contracts/config';
import type { S3Client } from '@aws-sdk/client-s3';
import { HttpStatusList } from '../adapters/http-status-list';
import { S3StatusList } from '../adapters/s3-status-list';
import type { RevocationRefreshDeps } from '../core/hardware/status-refresh';
import { s3Client } from './clients/s3';
import type { ClientSettings } from './clients/settings';

export function revocationListDeps(
  config: RevocationListConfig & ClientSettings,
  options: { readonly s3?: S3Client; readonly fetch?: typeof fetch } = {},
): RevocationRefreshDeps {
  return {
    fetcher: new HttpStatusList(config.url, options.fetch ? { fetch: options.fetch } : {}),
    store: new S3StatusList(options.s3 ?? s3Client(config), config.bucket),
  };
}
