/**
 * The local cloud: the whole service on one machine with nothing but npm packages. dynalite
 * stands in for DynamoDB, s3rver for S3, local/kms-server.ts for KMS, local/gateway.ts for API
 * Gateway and Lambda. The handlers and adapters are the ones that run in AWS, talking through the
 * real AWS SDK v3 clients; only the endpoints differ.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { createAuthorizer, type Authorizer } from '@attestor/service/composition/authorizer-config';
import type { ServiceConfig } from '@attestor/service/composition/environment';
import { AUTHORIZER_CONFIG, CONFIG_DEFAULTS, requiredHardwareKinds, type AuthorizerConfig } from '@attestor/contracts/config';
import { createServices, type Services } from '@attestor/service/composition/services';
import { ensureDecoyKey } from '@attestor/service/adapters/kms-tenant-keys';
import type { Clock } from '@attestor/service/core/ports';
import type { HardwareTestRoots } from '@attestor/service/core/hardware/ports';
import { LOCAL_CLOUD_FILE, readLocalCloudState, type LocalCloudState } from '@attestor/contracts/local-state';
import { adminHandlers } from '@attestor/service/handlers/admin';
import { attestHandler } from '@attestor/service/handlers/attest';
import type { AuthorizerMode } from '@attestor/service/handlers/authorizer';
import { verdictName, type MetricsSink } from '@attestor/service/handlers/metrics';
import type { DynamoDbAuthorizerVerdicts } from '@attestor/service/adapters/dynamodb-authorizer-verdicts';
import { UNREGISTERED_APP } from '@attestor/contracts/metrics';
import { challengeHandler } from '@attestor/service/handlers/challenge';
import { demoHelloHandler } from '@attestor/service/handlers/demo-hello';
import { errorFields, silentLogger, type Logger } from '@attestor/service/handlers/log';
import { registerHandler } from '@attestor/service/handlers/register';
import { TOKEN_HEADER_NAME, type HardwareKind } from '@attestor/contracts/protocol';
import { LOCAL_REGION, localPrincipal, type AdminCredentials } from '@attestor/contracts/local-state';
import { loadOrCreateAdminCredentials, LocalCredentialStore } from './admin-credentials';
import { checkDataDir, reservePort } from './data-dir';
import { ensureTables, migrateTenantKeyRecords, startDynamo } from './dynamodb';
import { DYNAMODB_SNAPSHOT_FILE, importSnapshot, writeSnapshot } from './dynamodb-snapshot';
import { startGateway } from './gateway';
import { startKmsServer, type LocalKmsCredential } from './kms-server';
import { SECRET_CONTEXT_TENANT } from '@attestor/contracts/admin-api';
import { S3RVER_CREDENTIAL, startS3 } from './s3';
import { LocalRegisterFailures, REGISTER_FAILURES_FILE } from './register-failures';
import type { AwsClientTuning } from '@attestor/service/composition/clients/settings';

export const LOCAL_NAMES = {
  noncesTable: 'attestor-nonces',
  registryTable: 'attestor-registry',
  attestationLogTable: 'attestor-attestation-log',
  tokenLedgerTable: 'attestor-token-ledger',
  hardwareDevicesTable: 'attestor-hardware-devices',
  buildsBucket: 'attestor-builds',
} as const;

/**
 * The service's own credential, as a Lambda's role would be. The local S3 and KMS verify SigV4 with
 * it (local/s3.ts, local/kms), so its secret is drawn per process and never written anywhere: with
 * s3rver's public S3RVER secret, anyone who reaches a loopback port could unwrap token secrets
 * through KMS and mint tokens, or plant a pending upload's bytes. s3rver knows only this access key
 * id. dynalite checks no signature at all (README, "The local cloud").
 */
const LOCAL_AWS_CREDENTIALS = { accessKeyId: S3RVER_CREDENTIAL.accessKeyId, secretAccessKey: randomBytes(32).toString('base64url') };

export interface LocalCloudOptions {
  /** Where DynamoDB, S3 and KMS data and the admin credential persist. */
  readonly dataDir: string;
  /** Gateway port; 0 picks a free one. @default 3000 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Injected into the service (nonce and token times), so tests can expire things without waiting. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** @default 2 GiB */
  readonly maxBuildBytes?: number;
  /** Lifetime of every token (ATTESTOR_TOKEN_TTL_SECONDS in AWS). @default 300 */
  readonly tokenTtlSeconds?: number;
  /** How the authorizer in front of `auth: 'attestation'` routes enforces tokens. @default enforce, token only, keys from KMS */
  readonly authorizer?: LocalAuthorizerOptions;
  /**
   * Looks every `intervalMs` for the state file and, when the data directory was deleted while the
   * service ran, writes back what the service holds (restoreDataDir) and reports it; a restore that
   * fails is reported once and not tried again. `npm start` turns it on. @default off
   */
  readonly guardDataDir?: {
    readonly intervalMs?: number;
    readonly onRestore: (restore: DataDirRestore) => void;
    readonly onRestoreError: (error: Error) => void;
  };
  /**
   * A copy of Google's attestation status list in its own JSON format (PROTOCOL.md §5.6), read as
   * attest reads the S3 copy in AWS: at most hourly, never fetched. Locally there is no scheduled
   * refresh: replace the file yourself. @default none: no serial is revoked (attest logs that)
   */
  readonly revocationListFile?: string;
  /**
   * Certificates (PEM) attest trusts besides the pinned Apple and Google roots: the roots of
   * @attestor/hardware/testing's test authority, so tests can issue evidence. Whoever holds a trusted
   * test root can mint any evidence; the CDK stack refuses this setting at synth. @default none
   */
  readonly hardwareTestRoots?: HardwareTestRoots;
  /** Retries and timeouts of every AWS SDK client of the service and the authorizer. @default as in AWS (clients/settings.ts) */
  readonly awsClients?: AwsClientTuning;
  /**
   * Tests only: something (a fault proxy) to put between the service and a stand-in. Called once per
   * stand-in with its endpoint; every client of the service, the authorizer and presigned URLs then
   * use the endpoint it returns. The code paths are the same; only the address differs. @default none
   */
  readonly interpose?: (dependency: 'dynamodb' | 's3' | 'kms', endpoint: string) => Promise<string>;
  /** How often the register function is tried on an event before it is queued as a failure (Lambda: 3). @default 3 */
  readonly registerAttempts?: number;
}

/** What restoreDataDir wrote back, and what it could not. */
export interface DataDirRestore {
  readonly restoredAt: string;
  /** The whole directory was gone, not only some of its files. */
  readonly directoryDeleted: boolean;
  /** The stored builds were gone: their files are lost (their registrations are table items and stay). */
  readonly buildsLost: boolean;
  /** The operator credential is always written back; these are the tenants' credentials. */
  readonly tenantCredentials: number;
  readonly kmsKeys: number;
  /** Items of the tables saved to the snapshot the next start loads, when the database's files were gone. */
  readonly tableItems?: number;
  /** Why the tables could not be read back (they are lost when the service stops). Neither: the database's files were still there. */
  readonly tablesError?: string;
}

/**
 * The authorizer's settings, passed through the same environment contract (and parser) as the
 * Lambda's; see docs/ENFORCEMENT.md.
 */
export interface LocalAuthorizerOptions {
  /** @default 'enforce' */
  readonly mode?: AuthorizerMode;
  /** @default 'Attestor-Token' */
  readonly tokenHeader?: string;
  readonly requireBinding?: boolean;
  /** @default 'Authorization' */
  readonly bindingHeader?: string;
  readonly limitedUse?: boolean;
  readonly requireProof?: boolean;
  /**
   * Admit only tokens carrying `hw` (REQUIRE_HARDWARE): true for either kind, or the kinds let in.
   * @default false
   */
  readonly requireHardware?: boolean | readonly HardwareKind[];
  /**
   * kms: the tenant's keys through the registry and KMS; remote: the admin routes (JWKS and wrapped
   * secrets) fetched with SigV4 by the local admin credential, secrets unwrapped with KMS. @default 'kms'
   */
  readonly keySource?: 'kms' | 'remote';
  readonly publicBaseUrl?: string;
  /** Let test tokens (`attestor token mint`) through (ACCEPT_TEST_TOKENS), with either key source. @default false */
  readonly acceptTestTokens?: boolean;
  /** Where verdicts also go; they are always counted for the admin stats (include=authorizer). @default counted only */
  readonly metrics?: MetricsSink;
}

export interface LocalCloud {
  /** Base URL of the local API gateway. */
  readonly endpoint: string;
  readonly dataDir: string;
  readonly adminCredentials: AdminCredentials;
  readonly config: ServiceConfig;
  readonly services: Services;
  readonly endpoints: { readonly dynamodb: string; readonly s3: string; readonly kms: string };
  /** Events the register function gave up on (the RegisterFailures queue of the AWS stack). */
  readonly registerFailures: LocalRegisterFailures;
  /** Items loaded at start from the snapshot taken when the data directory was deleted, if there was one. */
  readonly restoredTableItems?: number;
  /** Resolves when every S3 event delivered so far has been handled. */
  settled(): Promise<void>;
  /**
   * Writes back into the data directory what the service holds in memory: admin and tenant
   * credentials, every KMS key and alias, the builds bucket (empty: stored builds are files that
   * are gone; their registrations are table items and stay), a snapshot of the tables, and the
   * state file. For a data directory deleted while the service ran; guardDataDir calls it.
   */
  restoreDataDir(): Promise<DataDirRestore>;
  stop(): Promise<void>;
}

export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const logger = options.logger ?? silentLogger;
  // Nothing is written before these pass: a second start on a busy port or on a directory another
  // instance serves must leave that instance's state as it is.
  checkDataDir(options.dataDir);
  const reserved = await reservePort(options.port ?? 3000, options.host ?? '127.0.0.1');
  const closers: Array<() => Promise<void>> = [async () => void reserved.close()];
  const stopAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };

  try {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const snapshotFile = join(options.dataDir, DYNAMODB_SNAPSHOT_FILE);
    // LevelDB's CURRENT names its manifest: without it the database is new.
    const freshTables = !existsSync(join(options.dataDir, 'dynamodb', 'CURRENT'));
    const dynamo = await startDynamo({ dataDir: join(options.dataDir, 'dynamodb'), port: 0 });
    closers.push(() => dynamo.close());
    const adminCredentials = loadOrCreateAdminCredentials(options.dataDir, CONFIG_DEFAULTS.defaultTenantId);
    // The operator credential administers the default tenant and may create others (docs/ADMIN_API.md §1.2).
    const credentialStore = new LocalCredentialStore(options.dataDir, adminCredentials);
    const kms = await startKmsServer({ dataDir: join(options.dataDir, 'kms'), port: 0, region: LOCAL_REGION, credentials: kmsCredentials(credentialStore) });
    closers.push(() => kms.close());

    // S3 events are delivered asynchronously, as S3 invokes Lambda; `pending` lets stop() drain them.
    const pending = new Set<Promise<void>>();
    let deliver: (record: S3EventRecord) => Promise<void> = async () => undefined;
    const s3 = await startS3({
      dataDir: join(options.dataDir, 's3'),
      port: 0,
      buckets: [LOCAL_NAMES.buildsBucket],
      credential: LOCAL_AWS_CREDENTIALS,
      onObjectCreated: (record) => {
        const delivery = deliver(record).finally(() => pending.delete(delivery));
        pending.add(delivery);
      },
    });
    closers.push(() => s3.close());

    const interpose = options.interpose ?? (async (_: string, endpoint: string) => endpoint);
    const endpoints = {
      dynamodb: await interpose('dynamodb', dynamo.endpoint),
      s3: await interpose('s3', s3.endpoint),
      kms: await interpose('kms', kms.endpoint),
    };
    const config: ServiceConfig = {
      region: LOCAL_REGION,
      ...LOCAL_NAMES,
      issuer: CONFIG_DEFAULTS.issuer,
      defaultTenantId: CONFIG_DEFAULTS.defaultTenantId,
      decoyKeyId: CONFIG_DEFAULTS.decoyKeyId,
      tenantKeyAliasPrefix: CONFIG_DEFAULTS.tenantKeyAliasPrefix,
      maxBuildBytes: options.maxBuildBytes ?? CONFIG_DEFAULTS.maxBuildBytes,
      tokenTtlSeconds: options.tokenTtlSeconds ?? CONFIG_DEFAULTS.tokenTtlSeconds,
      endpoints,
      credentials: LOCAL_AWS_CREDENTIALS,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.revocationListFile !== undefined ? { revocationList: { file: options.revocationListFile } } : {}),
      ...(options.hardwareTestRoots ? { hardwareTestRoots: options.hardwareTestRoots } : {}),
      ...(options.awsClients ? { awsClients: options.awsClients } : {}),
      logger,
    };
    const services = createServices(config);
    closers.push(async () => {
      services.clients.dynamodb().destroy();
      services.clients.s3().destroy();
      services.clients.kms().destroy();
    });

    // Bootstrap what the CDK stack and the admin API create in AWS: tables, the decoy key, the default tenant's key.
    await ensureTables(services.clients.dynamodb(), {
      nonces: config.noncesTable,
      registry: config.registryTable,
      attestationLog: LOCAL_NAMES.attestationLogTable,
      tokenLedger: LOCAL_NAMES.tokenLedgerTable,
      hardwareDevices: LOCAL_NAMES.hardwareDevicesTable,
    });
    await migrateTenantKeyRecords(services.clients.dynamodb(), config.registryTable);
    // Tables saved when the data directory was deleted under a running service come back into a new
    // database only: into one that has data of its own, they could resurrect what was since deleted.
    let restoredTableItems: number | undefined;
    if (freshTables) restoredTableItems = await importSnapshot(services.clients.dynamodb(), snapshotFile);
    else if (existsSync(snapshotFile)) logger.warn('dynamodb_snapshot_ignored', { file: snapshotFile, reason: 'the tables already hold data' });
    await ensureDecoyKey(services.clients.kms(), config.decoyKeyId);
    await services.tenantKeys().ensureSigningKey(config.defaultTenantId);
    await services.registry().putTenantIfAbsent({ tenantId: config.defaultTenantId, createdAt: services.clock.nowSeconds() });
    await services
      .registry()
      .putPrincipalIfAbsent({ principal: localPrincipal(adminCredentials.accessKeyId), tenantId: config.defaultTenantId, operator: true });

    const register = registerHandler(services.registration(), logger);
    const attempts = options.registerAttempts ?? 3;
    // Lambda retries a failed asynchronous invocation twice, then sends the event to the on-failure
    // destination (the RegisterFailures queue); so does the local cloud, to a queue of its own.
    const invoke = async (event: S3Event): Promise<void> => {
      let lastError: unknown;
      for (let attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 200 * attempt));
        try {
          return await register(event);
        } catch (error) {
          lastError = error;
        }
      }
      registerFailures.record(event, lastError, attempts);
    };
    const invokeAsync = (event: S3Event): void => {
      const delivery = invoke(event).finally(() => pending.delete(delivery));
      pending.add(delivery);
    };
    const registerFailures = new LocalRegisterFailures(join(options.dataDir, REGISTER_FAILURES_FILE), invokeAsync);
    deliver = (record) => invoke({ Records: [record] });

    // The authorizer is wired once the gateway's address (its JWKS URL) is known; it is a separate
    // Lambda in AWS, so it gets its own clients, as there.
    const authorizerOptions = options.authorizer ?? {};
    let localAuthorizer: Authorizer | undefined;
    closers.push(async () => localAuthorizer?.destroy());
    const gateway = await startGateway({
      handlers: {
        challenge: challengeHandler(services.challenge(), logger),
        attest: attestHandler(services.attestation(), logger),
        demoHello: demoHelloHandler(logger),
        ...adminHandlers(services.admin({ credentialIssuer: credentialStore, registerFailures }), logger),
      },
      authorizer: (event) => (localAuthorizer as Authorizer).handler(event),
      // API Gateway with a header identity source answers 401 itself when the header is missing;
      // in monitor mode there is none, so every request reaches the authorizer and is counted.
      authorizerIdentityHeader: authorizerOptions.mode === 'monitor' ? null : (authorizerOptions.tokenHeader ?? TOKEN_HEADER_NAME),
      adminCredentials: (accessKeyId) => credentialStore.find(accessKeyId),
      logger,
      port: options.port ?? 3000,
      ...(options.host ? { host: options.host } : {}),
      server: reserved,
      region: LOCAL_REGION,
    });
    const closeGateway = () => gateway.close();
    closers.push(closeGateway);
    // Through the environment, as in AWS: the function's own reading and check, whatever the options say.
    const authorizerEnvironment = AUTHORIZER_CONFIG.toEnv(localAuthorizerConfig(config, authorizerOptions, gateway.endpoint));
    localAuthorizer = createAuthorizer(
      { ...AUTHORIZER_CONFIG.fromEnv(authorizerEnvironment), region: config.region },
      {
        logger,
        metrics: verdictCounting(services.authorizerVerdicts(), config.defaultTenantId, services.clock, logger, pending, authorizerOptions.metrics),
        clock: services.clock,
        endpoints,
        credentials: LOCAL_AWS_CREDENTIALS,
        ...(options.awsClients ? { awsClients: options.awsClients } : {}),
        remoteCredentials: { accessKeyId: adminCredentials.accessKeyId, secretAccessKey: adminCredentials.secretAccessKey },
      },
    );

    // How the CLI finds this service (its endpoint, and its KMS for `attestor keys secret`); gone when it stops.
    const stateFile = join(options.dataDir, LOCAL_CLOUD_FILE);
    const writeState = (state: LocalCloudState) => {
      writeFileSync(`${stateFile}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      renameSync(`${stateFile}.tmp`, stateFile);
    };
    writeState({ endpoint: gateway.endpoint, kms: kms.endpoint, pid: process.pid });
    // Only our own: a file another instance wrote since is that instance's.
    closers.push(async () => {
      if (readLocalCloudState(options.dataDir)?.pid === process.pid) rmSync(stateFile, { force: true });
    });

    const tableNames = [config.noncesTable, config.registryTable, LOCAL_NAMES.attestationLogTable, LOCAL_NAMES.tokenLedgerTable];
    // Set once the database's own files were found gone: from then on only a snapshot keeps the tables.
    let tablesLost = false;
    const restoreDataDir = async (): Promise<DataDirRestore> => {
      const restoredAt = new Date().toISOString();
      const directoryDeleted = !existsSync(options.dataDir);
      const buildsLost = !existsSync(join(options.dataDir, 's3', LOCAL_NAMES.buildsBucket));
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
      const tenantCredentials = credentialStore.persistAll();
      const kmsKeys = await kms.persistAll();
      await s3.restoreBuckets();
      registerFailures.persist();
      let tables: Pick<DataDirRestore, 'tableItems' | 'tablesError'> = {};
      tablesLost ||= !existsSync(join(options.dataDir, 'dynamodb', 'CURRENT'));
      if (tablesLost) {
        try {
          tables = { tableItems: await writeSnapshot(services.clients.dynamodb(), tableNames, snapshotFile) };
        } catch (error) {
          tables = { tablesError: (error as Error)?.message ?? String(error) };
        }
      }
      writeState({ endpoint: gateway.endpoint, kms: kms.endpoint, pid: process.pid, restoredAt });
      return { restoredAt, directoryDeleted, buildsLost, tenantCredentials, kmsKeys, ...tables };
    };

    let guard: NodeJS.Timeout | undefined;
    if (options.guardDataDir) {
      const { intervalMs = 1000, onRestore, onRestoreError } = options.guardDataDir;
      let restoring = false;
      guard = setInterval(() => {
        // A project deleted as a whole is gone for good: bringing back its .attestor/ would litter.
        if (restoring || existsSync(stateFile) || !existsSync(dirname(options.dataDir))) return;
        restoring = true;
        restoreDataDir().then(
          (restore) => {
            restoring = false;
            onRestore(restore);
          },
          // What failed once (permissions, a full disk) fails every second: say it once, and stop.
          (error: unknown) => {
            clearInterval(guard);
            onRestoreError(error instanceof Error ? error : new Error(String(error)));
          },
        );
      }, intervalMs);
      // The guard alone must not keep the process alive.
      guard.unref();
    }

    const settled = async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    };
    return {
      endpoint: gateway.endpoint,
      dataDir: options.dataDir,
      adminCredentials,
      config,
      services,
      endpoints,
      registerFailures,
      ...(restoredTableItems !== undefined ? { restoredTableItems } : {}),
      settled,
      restoreDataDir,
      stop: async () => {
        clearInterval(guard);
        // The gateway first, so nothing new arrives while queued S3 events drain.
        await gateway.close().catch(() => undefined);
        await settled();
        // Items written since the deletion are only in memory and in files that are gone: save them too.
        if (tablesLost) {
          await writeSnapshot(services.clients.dynamodb(), tableNames, snapshotFile).catch((error: unknown) =>
            logger.error('dynamodb_snapshot_failed', { file: snapshotFile, errorMessage: (error as Error)?.message }),
          );
        }
        closers.splice(closers.indexOf(closeGateway), 1);
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Who may call the local KMS, as IAM and key policies decide in AWS: the service (every Lambda's
 * role in one) may do anything; an admin credential may only unwrap its own tenant's token secrets,
 * which is what `attestor keys secret` needs (docs/DEPLOY.md gives operators the same in AWS).
 */
function kmsCredentials(admins: LocalCredentialStore): (accessKeyId: string) => LocalKmsCredential | undefined {
  return (accessKeyId) => {
    if (accessKeyId === LOCAL_AWS_CREDENTIALS.accessKeyId) return { secretAccessKey: LOCAL_AWS_CREDENTIALS.secretAccessKey };
    const admin = admins.find(accessKeyId);
    if (!admin) return undefined;
    return {
      secretAccessKey: admin.secretAccessKey,
      authorize: ({ operation, encryptionContext }) => operation === 'Decrypt' && encryptionContext?.[SECRET_CONTEXT_TENANT] === admin.tenantId,
    };
  };
}

/**
 * What the local authorizer does with its verdicts: what the Lambda publishes as the TokenVerdicts
 * metric (Tenant, App, Verdict), added to counter items instead, which the admin stats read with
 * include=authorizer; and whatever sink the caller gave. A counter that cannot be written is logged,
 * never the request's failure, as an EMF line could not fail it in AWS.
 */
function verdictCounting(
  counters: DynamoDbAuthorizerVerdicts | undefined,
  tenantId: string,
  clock: Clock,
  logger: Logger,
  pending: Set<Promise<void>>,
  also: MetricsSink | undefined,
): MetricsSink {
  return {
    record: (verdict) => {
      also?.record(verdict);
      if (!counters) return;
      const count = { tenantId, appId: verdict.appId ?? UNREGISTERED_APP, verdict: verdictName(verdict), time: clock.nowSeconds() };
      // In `pending`, as S3 deliveries are: stop() lets the writes finish before it closes the database.
      const write = counters
        .count(count)
        .catch((error: unknown) => logger.warn('authorizer_verdict_not_counted', { verdict: count.verdict, ...errorFields(error) }))
        .finally(() => pending.delete(write));
      pending.add(write);
    },
  };
}

/** The settings the AttestationAuthorizer construct would give the authorizer Lambda, from the local options. */
function localAuthorizerConfig(config: ServiceConfig, options: LocalAuthorizerOptions, apiUrl: string): AuthorizerConfig {
  const ledger = options.limitedUse === true || options.requireProof === true;
  const requireHardware = requiredHardwareKinds(options.requireHardware);
  return {
    issuer: config.issuer,
    tenantId: config.defaultTenantId,
    mode: options.mode ?? CONFIG_DEFAULTS.authorizerMode,
    tokenHeader: options.tokenHeader ?? CONFIG_DEFAULTS.tokenHeader,
    requireBinding: options.requireBinding === true,
    ...(options.bindingHeader !== undefined ? { bindingHeader: options.bindingHeader } : {}),
    limitedUse: options.limitedUse === true,
    requireProof: options.requireProof === true,
    ...(requireHardware !== undefined ? { requireHardware } : {}),
    ...(ledger ? { tokenLedgerTable: LOCAL_NAMES.tokenLedgerTable } : {}),
    keySource:
      options.keySource === 'remote'
        ? { kind: 'remote', apiUrl }
        : { kind: 'kms', registryTable: config.registryTable, tenantKeyAliasPrefix: config.tenantKeyAliasPrefix, decoyKeyId: config.decoyKeyId },
    ...(options.publicBaseUrl !== undefined ? { publicBaseUrl: options.publicBaseUrl } : {}),
    cacheSeconds: 0,
    ...(options.acceptTestTokens === true ? { acceptTestTokens: true } : {}),
  };
}
