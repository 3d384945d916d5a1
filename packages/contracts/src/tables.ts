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

/** The one partition of tenant records (`TENANTS` / `TENANT#<id>`), so listing tenants is one Query: a whole key, not a prefix. */
export const TENANT_LIST_PARTITION = 'TENANTS';

/**
 * Attestation log: one item per attestation (outcome, reasons, device, version), kept for a
 * bounded time. pk TENANT#<tenantId>#<appId>, sk <iat>#<jti> so a time range is one Query.
 */
export const ATTESTATION_LOG_TABLE: TableLayout = { partitionKey: 'pk', sortKey: 'sk', ttlAttribute: 'ttl' };

/** Consumed ids of single-use tokens and of proof-of-possession JWTs; each lives until its token's exp. */
export const TOKEN_LEDGER_TABLE: TableLayout = { partitionKey: 'id', ttlAttribute: 'ttl' };

/**
 * Hardware device records (PROTOCOL.md §5.5): one item per App Attest key or Android install key
 * whose evidence verified, keyed `<platform>#<appId>#<id>` (id: the App Attest keyId, or the
 * install key's thumbprint on Android), so every install is its own partition and none gets hot.
 * `ttl` is the record's expiry (the policy's rememberDays when it was written); attest also checks
 * the expiry itself, since DynamoDB's TTL deletes only eventually.
 */
export const HARDWARE_DEVICES_TABLE: TableLayout = { partitionKey: 'pk', ttlAttribute: 'ttl' };

/**
 * Where the revocation function keeps its copy of Google's attestation status list (PROTOCOL.md
 * §5.6), in the builds bucket beside, not under, `builds/` (whose objects trigger registration).
 */
export const REVOCATION_LIST_OBJECT_KEY = 'hardware/attestation-status.json';
/** Google's attestation status list: revoked and suspended attestation certificates, by serial. */
export const GOOGLE_ATTESTATION_STATUS_URL = 'https://android.googleapis.com/attestation/status';
