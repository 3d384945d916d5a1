import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clientOptions, withDependencyErrors, type ClientSettings } from './settings';

export function dynamoDbClient(settings: ClientSettings): DynamoDBClient {
  return withDependencyErrors(new DynamoDBClient(clientOptions(settings, 'dynamodb')), 'dynamodb');
}
