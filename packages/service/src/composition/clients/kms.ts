import { KMSClient } from '@aws-sdk/client-kms';
import { clientOptions, withDependencyErrors, type ClientSettings } from './settings';

export function kmsClient(settings: ClientSettings): KMSClient {
  return withDependencyErrors(new KMSClient(clientOptions(settings, 'kms')), 'kms');
}
