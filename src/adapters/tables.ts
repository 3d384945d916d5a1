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
