import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clientOptions, type ClientSettings } from './settings';

export function dynamoDbClient(settings: ClientSettings): DynamoDBClient {
  return new DynamoDBClient(clientOptions(settings, 'dynamodb'));
}
