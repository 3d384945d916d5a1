import { KMSClient } from '@aws-sdk/client-kms';
import { clientOptions, type ClientSettings } from './settings';

export function kmsClient(settings: ClientSettings): KMSClient {
  return new KMSClient(clientOptions(settings, 'kms'));
}
