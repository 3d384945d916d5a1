import { S3Client } from '@aws-sdk/client-s3';
import { clientOptions, withDependencyErrors, type ClientSettings } from './settings';

export function s3Client(settings: ClientSettings): S3Client {
  const client = new S3Client({
    ...clientOptions(settings, 's3'),
    // Presigned uploads must not carry a checksum of an empty body, which newer SDKs add by default.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    // s3rver serves buckets by path only.
    ...(settings.endpoints?.s3 !== undefined ? { forcePathStyle: true } : {}),
  });
  return withDependencyErrors(client, 's3');
}
