/**
 * Adapters that several functions use. A Lambda builds its own (it is a process of its own); the
 * local cloud builds them once and hands the same instances to every function (./services.ts), so
 * that, as before, its functions share one registry and one tenant key cache.
 * Besides types, only core/ports (the system clock): importing this module bundles no adapter.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  systemClock,
  type AppIdentityStore,
  type AttestationCatalog,
  type Clock,
  type DeviceStore,
  type PolicyStore,
  type RegistrationStore,
  type TenantApps,
  type PrincipalDirectory,
  type TenantDirectory,
  type TenantKeyStore,
  type UploadStore,
} from '../core/ports';
import type { DynamoDbAttestationLog } from '../adapters/dynamodb-attestation-log';
import type { DynamoDbAuthorizerVerdicts } from '../adapters/dynamodb-authorizer-verdicts';
import type { FunctionRuntime } from './environment';
import type { KmsTenantKeyManager } from '../adapters/kms-tenant-key-manager';

/** The registry table through each of its ports (adapters/dynamodb-registry/, one adapter per port). */
export interface RegistryAdapters {
  readonly apps: TenantApps;
  readonly registrations: RegistrationStore;
  readonly policies: PolicyStore;
  readonly devices: DeviceStore;
  readonly identities: AppIdentityStore;
  /** Attest's read of an app's whole partition, uncached (attest caches it: core/catalog-cache.ts). */
  readonly catalog: AttestationCatalog;
  readonly uploads: UploadStore;
  readonly keyRecords: TenantKeyStore;
  readonly tenants: TenantDirectory;
  /** The tenant directory's principal lookup alone, for functions that only resolve callers. */
  readonly principals: PrincipalDirectory;
}

export interface SharedAdapters {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly kms: KMSClient;
  readonly registry: RegistryAdapters;
  readonly tenantKeys: KmsTenantKeyManager;
  /** Absent in deployments that keep no attestation log. */
  readonly attestationLog: DynamoDbAttestationLog | undefined;
  /**
   * The local cloud's counters of its authorizer's verdicts (in the attestation log table), which its
   * stats read; absent in a Lambda, whose stats read the authorizer's CloudWatch metric (./admin-catalog.ts).
   */
  readonly authorizerVerdicts?: DynamoDbAuthorizerVerdicts | undefined;
}

export function clockOf(config: Pick<FunctionRuntime, 'clock'>): Clock {
  return config.clock ?? systemClock;
}
