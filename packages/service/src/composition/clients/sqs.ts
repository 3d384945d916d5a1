import { SQSClient } from '@aws-sdk/client-sqs';
import { clientOptions, withDependencyErrors, type ClientSettings } from './settings';

export function sqsClient(settings: ClientSettings): SQSClient {
  return withDependencyErrors(new SQSClient(clientOptions(settings, 'sqs')), 'sqs');
}
