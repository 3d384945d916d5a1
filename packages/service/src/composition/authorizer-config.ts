/**
 * The authorizer Lambda's composition root. Its settings, their variables and their rules are
 * AUTHORIZER_CONFIG in @attestor/contracts/config (docs/ENFORCEMENT.md): the AttestationAuthorizer
 * construct writes them and checks them at synth, the local cloud writes the same, and the function
 * reads them at cold start (lambdaConfig), where anything invalid or contradictory fails with a
 * ConfigurationError naming the variable, never on a request.
 */
import { CONFIG_DEFAULTS, type AuthorizerConfig } from '@attestor/contracts/config';
import { PROOF_HEADER_NAME } from '@attestor/contracts/protocol';
import { systemClock, type Clock, type VerificationKeySource } from '../core/ports';
import { AttestationVerifier } from '@attestor/verify/core/verifier';
import { authorizerHandler, type AuthorizerHandler } from '../handlers/authorizer';
import { jsonLogger, type Logger } from '../handlers/log';
import { noMetrics, type MetricsSink } from '../handlers/metrics';
import { dynamoDbClient } from './clients/dynamodb';
import { kmsClient } from './clients/kms';
import type { AwsClientTuning } from './clients/settings';
import { DynamoDbTenantKeyStore } from '../adapters/dynamodb-registry/tenant-key-store';
import { DynamoDbTokenLedger } from '../adapters/dynamodb-token-ledger';
import { RemoteKeySource } from '@attestor/verify/aws/remote-key-source';
import { sigV4Fetch, type SigV4FetchOptions } from '@attestor/verify/aws/sigv4-fetch';
import { KmsTenantKeys } from '../adapters/kms-tenant-keys';
import { KmsTestTokenKeys, withTestSecrets } from '../adapters/kms-test-token-keys';
import { DynamoDbTestKeyStore } from '../adapters/dynamodb-registry/test-key-store';

/** What the environment does not say: logging, metrics, clock, and (local cloud only) endpoints and credentials. */
export interface AuthorizerDeps {
  readonly logger?: Logger;
  /** @default none (the Lambda entry hands in Powertools' EMF metrics: lambdas/authorizer.ts) */
  readonly metrics?: MetricsSink;
  readonly clock?: Clock;
  /** Local cloud only: endpoints and static credentials of the stand-ins. */
  readonly endpoints?: { readonly dynamodb: string; readonly kms: string };
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Credentials that sign the remote key source's fetches. @default `credentials`, else the AWS SDK's default chain (the Lambda's role) */
  readonly remoteCredentials?: SigV4FetchOptions['credentials'];
  /** Retries and timeouts of its AWS SDK clients (clients/settings.ts); tests lower them. */
  readonly awsClients?: AwsClientTuning;
}

/** A wired authorizer: the Lambda handler and what it is made of. */
export interface Authorizer {
  readonly handler: AuthorizerHandler;
  readonly verifier: AttestationVerifier;
  /** Releases the AWS SDK clients (the local cloud's stop()). */
  destroy(): void;
}

/** Wires the handler over real AWS SDK clients. Keys start loading at once, before the first request. */
export function createAuthorizer(config: AuthorizerConfig & { readonly region: string }, deps: AuthorizerDeps = {}): Authorizer {
  const clock = deps.clock ?? systemClock;
  const settings = {
    region: config.region,
    ...(deps.endpoints ? { endpoints: deps.endpoints } : {}),
    ...(deps.credentials ? { credentials: deps.credentials } : {}),
    ...(deps.awsClients ? { awsClients: deps.awsClients } : {}),
  };
  const needsDynamo = config.keySource.kind === 'kms' || config.tokenLedgerTable !== undefined;
  const dynamodb = needsDynamo ? dynamoDbClient(settings) : undefined;
  // Both key sources unwrap hs256 secrets with KMS Decrypt.
  const kms = kmsClient(settings);

  let keys: VerificationKeySource;
  if (config.keySource.kind === 'kms') {
    keys = new KmsTenantKeys(kms, new DynamoDbTenantKeyStore(dynamodb!, config.keySource.registryTable), {
      decoyKeyId: config.keySource.decoyKeyId,
      aliasPrefix: config.keySource.tenantKeyAliasPrefix,
      clock,
    });
    // Only an authorizer configured for test tokens reads (and unwraps) the tenant's test secrets.
    if (config.acceptTestTokens === true) {
      keys = withTestSecrets(keys, new KmsTestTokenKeys(kms, new DynamoDbTestKeyStore(dynamodb!, config.keySource.registryTable), { clock }));
    }
  } else {
    const credentials = deps.remoteCredentials ?? deps.credentials;
    const fetch = sigV4Fetch({ region: config.region, ...(credentials ? { credentials } : {}) });
    // Only an authorizer configured for test tokens fetches (and unwraps) the tenant's test secrets.
    const testSecrets = config.acceptTestTokens === true;
    keys = new RemoteKeySource({ apiUrl: config.keySource.apiUrl, tenantId: config.tenantId, fetch, kms, ...(testSecrets ? { testSecrets } : {}) });
  }
  const ledger = config.tokenLedgerTable !== undefined ? new DynamoDbTokenLedger(dynamodb!, config.tokenLedgerTable, clock) : undefined;

  const verifier = new AttestationVerifier({
    keys,
    tenantId: config.tenantId,
    issuer: config.issuer,
    clock,
    requireBinding: config.requireBinding,
    limitedUse: config.limitedUse,
    requireProof: config.requireProof,
    ...(config.requireHardware !== undefined ? { requireHardware: config.requireHardware } : {}),
    ...(config.acceptTestTokens === true ? { acceptTestTokens: true } : {}),
    ...(ledger ? { ledger } : {}),
  });
  verifier.warm();
  const handler = authorizerHandler(verifier, deps.logger ?? jsonLogger, {
    mode: config.mode,
    tokenHeader: config.tokenHeader,
    bindingHeader: config.bindingHeader ?? CONFIG_DEFAULTS.bindingHeader,
    proofHeader: PROOF_HEADER_NAME,
    metrics: deps.metrics ?? noMetrics,
    ...(config.publicBaseUrl !== undefined ? { publicBaseUrl: config.publicBaseUrl } : {}),
    cachedResults: config.cacheSeconds > 0,
  });
  return {
    handler,
    verifier,
    destroy: () => {
      dynamodb?.destroy();
      kms.destroy();
    },
  };
}
