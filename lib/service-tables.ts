import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ATTESTATION_LOG_TABLE, NONCES_TABLE, REGISTRY_TABLE, TOKEN_LEDGER_TABLE, type TableLayout } from '../src/adapters/tables';

/** Key schema (and TTL) straight from the shared layout, so the stack and the local cloud agree. */
export function layoutProps(layout: TableLayout): Pick<dynamodb.TableProps, 'partitionKey' | 'sortKey' | 'timeToLiveAttribute'> {
  return {
    partitionKey: { name: layout.partitionKey, type: dynamodb.AttributeType.STRING },
    ...(layout.sortKey ? { sortKey: { name: layout.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
    ...(layout.ttlAttribute ? { timeToLiveAttribute: layout.ttlAttribute } : {}),
  };
}

/**
 * A table of consumed single-use token ids and proof jtis (TOKEN_LEDGER_TABLE). Ids are random and
 * expire with their tokens (minutes), so the table holds no customer data and nothing worth
 * recovering: DESTROY, no point-in-time recovery. On-demand, because its load follows traffic.
 */
export function tokenLedgerTable(scope: Construct, id: string): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    ...layoutProps(TOKEN_LEDGER_TABLE),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/**
 * The service tables, all on-demand (attestation traffic is bursty and a provisioned table would
 * throttle a launch-day spike).
 * - nonces: random ids that live 60 s and expire by TTL; losing the table costs in-flight
 *   challenges only, so DESTROY.
 * - registry: tenants, principals, apps, registrations, policies, devices, uploads, tenant key
 *   records. Customer data: RETAIN, point-in-time recovery, deletion protection.
 * - attestationLog: one item per attestation and per refused build, expired by TTL after 30 days.
 *   Customer data: RETAIN. (No point-in-time recovery: see lib/nag-acknowledgements.ts.)
 *
 * Consumed token ids live with the authorizer that consumes them (tokenLedgerTable(), created by
 * AttestationAuthorizer when limitedUse or requireProof is on), not here.
 */
export class ServiceTables extends Construct {
  readonly nonces: dynamodb.Table;
  readonly registry: dynamodb.Table;
  readonly attestationLog: dynamodb.Table;

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

    this.attestationLog = new dynamodb.Table(this, 'AttestationLog', {
      ...layoutProps(ATTESTATION_LOG_TABLE),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
