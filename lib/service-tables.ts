import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { NONCES_TABLE, REGISTRY_TABLE, type TableLayout } from '../src/adapters/tables';

/** Key schema (and TTL) straight from the shared layout, so the stack and the local cloud agree. */
function layoutProps(layout: TableLayout): Pick<dynamodb.TableProps, 'partitionKey' | 'sortKey' | 'timeToLiveAttribute'> {
  return {
    partitionKey: { name: layout.partitionKey, type: dynamodb.AttributeType.STRING },
    ...(layout.sortKey ? { sortKey: { name: layout.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
    ...(layout.ttlAttribute ? { timeToLiveAttribute: layout.ttlAttribute } : {}),
  };
}

/**
 * The two service tables.
 * - nonces: short-lived, expired by DynamoDB TTL; losing it costs nothing but in-flight challenges, so DESTROY.
 * - registry: apps, registrations, policies, uploads, tenant key records: customer data, so RETAIN,
 *   point-in-time recovery and deletion protection.
 */
export class ServiceTables extends Construct {
  readonly nonces: dynamodb.Table;
  readonly registry: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.nonces = new dynamodb.Table(this, 'Nonces', {
      ...layoutProps(NONCES_TABLE),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.registry = new dynamodb.Table(this, 'Registry', {
      ...layoutProps(REGISTRY_TABLE),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
