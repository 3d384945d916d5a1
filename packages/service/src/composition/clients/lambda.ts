import { LambdaClient } from '@aws-sdk/client-lambda';
import { clientOptions, withDependencyErrors, type ClientSettings } from './settings';

export function lambdaClient(settings: ClientSettings): LambdaClient {
  return withDependencyErrors(new LambdaClient(clientOptions(settings, 'lambda')), 'lambda');
}
