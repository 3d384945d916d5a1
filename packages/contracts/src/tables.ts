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

/** Single-table registry; the items are listed in @attestor/service's adapters/dynamodb-registry/items.ts. */
export const REGISTRY_TABLE: TableLayout = { partitionKey: 'pk', sortKey: 'sk' };

/**
 * Partition-key prefixes of the registry. The stack's IAM policies (lib/) scope each function to
 * the partitions it works on with dynamodb:LeadingKeys, which sees partition keys only: whatever
 * one role may read must not share a partition with what it may not.
 */
export const REGISTRY_PARTITIONS = {
  /** An app, its registrations, policy and allow-listed devices: what attest reads. */
  app: 'APP#',
  upload: 'UPLOAD#',
  /** A tenant's signing-key records, alone in their partition: attest and the authorizer read these and nothing else of the tenant. */
  tenantKeys: 'KEYS#',
  /** A tenant's indexes: its apps and its principals (admin only). */
  tenant: 'TENANT#',
  principal: 'PRINCIPAL#',
} as const;

/**
 * Attestation log: one item per attestation (outcome, reasons, device, version), kept for a
 * bounded time. pk TENANT#<tenantId>#<appId>, sk <iat>#<jti> so a time range is one Query.
 */
export const ATTESTATION_LOG_TABLE: TableLayout = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'ttl' };

/** Consumed ids of single-use tokens and of proof-of-possession JWTs; each lives until its token's exp. */
export const TOKEN_LEDGER_TABLE: TableLayout = { partitionKey: 'id', ttlAttribute: 'ttl' };
