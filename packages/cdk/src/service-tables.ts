import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ATTESTATION_LOG_TABLE, HARDWARE_DEVICES_TABLE, NONCES_TABLE, REGISTRY_TABLE, TOKEN_LEDGER_TABLE, type TableLayout } from '@attestor/contracts/tables';

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
 * - hardwareDevices: one item per App Attest key or Android install key whose evidence verified
 *   (PROTOCOL.md §5.5), expired by TTL after the policy's rememberDays. Losing it would fail every
 *   assertion and chainless Android attestation until clients make new keys (up to 7 days), and an
 *   App Attest counter restored from an old backup would accept replays of newer assertions only
 *   down to it: RETAIN, with point-in-time recovery.
 *
 * Consumed token ids live with the authorizer that consumes them (tokenLedgerTable(), created by
 * AttestationAuthorizer when limitedUse or requireProof is on), not here.
 */
export interface ServiceTablesProps {
  /**
   * Attestations per second the tables must take from their first minute (docs/SCALING.md): the
   * nonce table is pre-warmed for two writes per attestation (the challenge's put, the attest's
   * delete) and the log for three (the entry, and its minute and hour counter items). A new on-demand table takes about 4,000 writes per second at once
   * and doubles its previous peak within 30 minutes; a launch beyond that would be throttled.
   * Pre-warming is charged once. @default no pre-warming
   */
  readonly peakAttestationsPerSecond?: number;
}

/** DynamoDB serves this much on a new on-demand table anyway; warm throughput below it is refused. */
const ON_DEMAND_INITIAL_WRITES = 4000;

const warmWrites = (writesPerSecond: number | undefined): Pick<dynamodb.TableProps, 'warmThroughput'> =>
  writesPerSecond === undefined ? {} : { warmThroughput: { writeUnitsPerSecond: Math.max(ON_DEMAND_INITIAL_WRITES, Math.ceil(writesPerSecond)) } };

export class ServiceTables extends Construct {
  readonly nonces: dynamodb.Table;
  readonly registry: dynamodb.Table;
  readonly attestationLog: dynamodb.Table;
  readonly hardwareDevices: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ServiceTablesProps = {}) {
    super(scope, id);
    const peak = props.peakAttestationsPerSecond;

    this.nonces = new dynamodb.Table(this, 'Nonces', {
      ...layoutProps(NONCES_TABLE),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      ...warmWrites(peak === undefined ? undefined : 2 * peak),
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
      // Each attestation writes its entry and adds to a minute and an hour counter item.
      ...warmWrites(peak === undefined ? undefined : 3 * peak),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // At most one write per attestation with evidence (a new record, or an assertion's counter).
    this.hardwareDevices = new dynamodb.Table(this, 'HardwareDevices', {
      ...layoutProps(HARDWARE_DEVICES_TABLE),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      ...warmWrites(peak),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
