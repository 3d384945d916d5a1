/**
 * The adminCatalog function: apps, registrations, policies, devices and identities in the registry, and (if
 * configured) the attestation log, and the authorizer's verdicts from CloudWatch (GetMetricData). No KMS, no S3.
 */
import type { AdminCatalogDeps } from '../handlers/admin/context';
import { DynamoDbTenantApps } from '../adapters/dynamodb-registry/app-store';
import { DynamoDbDeviceStore } from '../adapters/dynamodb-registry/device-store';
import { DynamoDbAppIdentityStore } from '../adapters/dynamodb-registry/identity-store';
import { DynamoDbPolicyStore } from '../adapters/dynamodb-registry/policy-store';
import { DynamoDbRegistrationStore } from '../adapters/dynamodb-registry/registration-store';
import { DynamoDbPrincipalDirectory } from '../adapters/dynamodb-registry/tenant-directory';
import { dynamoDbClient } from './clients/dynamodb';
import { cloudWatchGetMetricData } from './clients/cloudwatch';
import { CloudWatchAuthorizerVerdicts } from '../adapters/cloudwatch-authorizer-verdicts';
import type { AdminCatalogConfig } from '@attestor/contracts/config';
import type { FunctionRuntime } from './environment';
import { adminCommonDeps } from './admin';
import { attestationLogFor } from './attestation-log';
import { DynamoDbTestTokenAudit } from '../adapters/dynamodb-test-token-audit';
import type { RegistryAdapters, SharedAdapters } from './shared';

type CatalogAdapters = Pick<RegistryAdapters, 'apps' | 'registrations' | 'policies' | 'devices' | 'identities' | 'principals'> &
  Pick<SharedAdapters, 'attestationLog' | 'dynamodb'>;

export function adminCatalogDeps(
  config: AdminCatalogConfig & FunctionRuntime,
  shared?: Pick<SharedAdapters, 'registry' | 'attestationLog' | 'dynamodb' | 'authorizerVerdicts'>,
): AdminCatalogDeps {
  const adapters = shared ? { ...shared.registry, attestationLog: shared.attestationLog, dynamodb: shared.dynamodb } : ownAdapters(config);
  // In AWS the authorizer's verdicts are its TokenVerdicts metric; the local cloud counts them in its log table.
  const authorizerVerdicts = shared ? shared.authorizerVerdicts : new CloudWatchAuthorizerVerdicts(cloudWatchGetMetricData(config));
  const { apps, registrations, policies, devices, identities, principals, attestationLog: log } = adapters;
  // The test-token mints adminKeys records, in the same table (read with kind=test-tokens).
  const testTokenLog = config.attestationLogTable ? new DynamoDbTestTokenAudit(adapters.dynamodb, config.attestationLogTable) : undefined;
  return {
    ...adminCommonDeps(config, principals),
    apps,
    registrations,
    policies,
    devices,
    identities,
    ...(log ? { log } : {}),
    ...(testTokenLog ? { testTokenLog } : {}),
    ...(authorizerVerdicts ? { authorizerVerdicts } : {}),
  };
}

/** A Lambda's own adapters: one DynamoDB client for the registry and the log. */
function ownAdapters(config: AdminCatalogConfig & FunctionRuntime): CatalogAdapters {
  const dynamodb = dynamoDbClient(config);
  const table = config.registryTable;
  return {
    dynamodb,
    apps: new DynamoDbTenantApps(dynamodb, table),
    registrations: new DynamoDbRegistrationStore(dynamodb, table),
    policies: new DynamoDbPolicyStore(dynamodb, table),
    devices: new DynamoDbDeviceStore(dynamodb, table),
    identities: new DynamoDbAppIdentityStore(dynamodb, table),
    principals: new DynamoDbPrincipalDirectory(dynamodb, table),
    attestationLog: attestationLogFor(config, dynamodb),
  };
}
