/**
 * What every AWS SDK client of the service is built from. Each client has its own factory module
 * (./dynamodb, ./kms, ./s3) so that a Lambda bundles and loads only the SDK packages it calls.
 */
export interface ClientSettings {
  readonly region: string;
  /** Local cloud only: endpoints of the stand-ins; a client without one talks to AWS. */
  readonly endpoints?: { readonly dynamodb?: string; readonly s3?: string; readonly kms?: string };
  /** Local cloud only: static credentials; absent, the SDK's default chain (the Lambda's role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Options every client shares: region, credentials and (locally) the service's endpoint. */
export function clientOptions(settings: ClientSettings, service: 'dynamodb' | 's3' | 'kms') {
  const endpoint = settings.endpoints?.[service];
  return {
    region: settings.region,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
  };
}
