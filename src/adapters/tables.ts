/**
 * DynamoDB table layouts, shared by the CDK stack and the local cloud's bootstrap so both create
 * the same keys. Item shapes live with the adapters that read and write them.
 */
export interface TableLayout {
  readonly partitionKey: string;
  readonly sortKey?: string;
  /** Attribute DynamoDB's TTL deletes items by (unix seconds). */
  readonly ttlAttribute?: string;
}

export const NONCES_TABLE: TableLayout = { partitionKey: 'nonceId', ttlAttribute: 'ttl' };

/**
 * Single-table registry. Items:
 * - APP#<appId> / APP            app record (tenant)
 * - APP#<appId> / VER#<version>  registration
 * - APP#<appId> / POLICY         policy
 * - UPLOAD#<uploadId> / UPLOAD   upload status
 * - TENANT#<tenantId> / KEY#<kid> tenant signing key
 */
export const REGISTRY_TABLE: TableLayout = { partitionKey: 'pk', sortKey: 'sk' };

/**
 * Attestation log: one item per attestation (outcome, reasons, device, version), kept for a
 * bounded time. pk TENANT#<tenantId>#<appId>, sk <iat>#<jti> so a time range is one Query.
 */
export const ATTESTATION_LOG_TABLE: TableLayout = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'ttl' };

/** Consumed ids of single-use tokens and of proof-of-possession JWTs; each lives until its token's exp. */
export const TOKEN_LEDGER_TABLE: TableLayout = { partitionKey: 'id', ttlAttribute: 'ttl' };
