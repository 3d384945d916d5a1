/**
 * The local cloud: the whole service on one machine with nothing but npm packages. dynalite
 * stands in for DynamoDB, s3rver for S3, local/kms-server.ts for KMS, local/gateway.ts for API
 * Gateway and Lambda. The handlers and adapters are the ones that run in AWS, talking through the
 * real AWS SDK v3 clients; only the endpoints differ.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { authorizerConfigFromEnv, createAuthorizer, type Authorizer } from '@attestor/service/composition/authorizer-config';
import { DEFAULTS, type ServiceConfig } from '@attestor/service/composition/environment';
import { createServices, type Services } from '@attestor/service/composition/services';
import { ensureDecoyKey } from '@attestor/service/adapters/kms-tenant-keys';
import type { Clock } from '@attestor/service/core/ports';
import type { HardwareTestRoots } from '@attestor/service/core/hardware/ports';
import { DEFAULT_MAX_BUILD_BYTES } from '@attestor/service/core/registration';
import { DEFAULT_TOKEN_TTL_SECONDS } from '@attestor/contracts/protocol';
import { LOCAL_CLOUD_FILE, readLocalCloudState, type LocalCloudState } from '@attestor/contracts/local-state';
import { adminHandlers } from '@attestor/service/handlers/admin';
import { attestHandler } from '@attestor/service/handlers/attest';
import type { AuthorizerMode } from '@attestor/service/handlers/authorizer';
import type { MetricsSink } from '@attestor/service/handlers/metrics';
import { challengeHandler } from '@attestor/service/handlers/challenge';
import { demoHelloHandler } from '@attestor/service/handlers/demo-hello';
import { silentLogger, type Logger } from '@attestor/service/handlers/log';
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
import { startS3 } from './s3';

export const LOCAL_NAMES = {
  noncesTable: 'attestor-nonces',
  registryTable: 'attestor-registry',
  attestationLogTable: 'attestor-attestation-log',
  tokenLedgerTable: 'attestor-token-ledger',
  hardwareDevicesTable: 'attestor-hardware-devices',
  buildsBucket: 'attestor-builds',
} as const;

/**
 * The service's own credential, as a Lambda's role would be: s3rver accepts only this one, the local
 * KMS checks SigV4 with it (local/kms), and dynalite accepts any.
 */
const LOCAL_AWS_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

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
  /** @default verdicts are only logged */
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
    const adminCredentials = loadOrCreateAdminCredentials(options.dataDir, DEFAULTS.defaultTenantId);
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
      onObjectCreated: (record) => {
        const delivery = deliver(record).finally(() => pending.delete(delivery));
        pending.add(delivery);
      },
    });
    closers.push(() => s3.close());

    const endpoints = { dynamodb: dynamo.endpoint, s3: s3.endpoint, kms: kms.endpoint };
    const config: ServiceConfig = {
      region: LOCAL_REGION,
      ...LOCAL_NAMES,
      issuer: DEFAULTS.issuer,
      defaultTenantId: DEFAULTS.defaultTenantId,
      authorizerTenantId: DEFAULTS.defaultTenantId,
      decoyKeyId: DEFAULTS.decoyKeyId,
      tenantKeyAliasPrefix: DEFAULTS.tenantKeyAliasPrefix,
      maxBuildBytes: options.maxBuildBytes ?? DEFAULT_MAX_BUILD_BYTES,
      tokenTtlSeconds: options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
      endpoints,
      credentials: LOCAL_AWS_CREDENTIALS,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.revocationListFile !== undefined ? { revocationList: { file: options.revocationListFile } } : {}),
      ...(options.hardwareTestRoots ? { hardwareTestRoots: options.hardwareTestRoots } : {}),
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
    await services.registry().putPrincipalIfAbsent({ principal: localPrincipal(adminCredentials.accessKeyId), tenantId: config.defaultTenantId, operator: true });

    const register = registerHandler(services.registration(), logger);
    deliver = async (record) => {
      const event: S3Event = { Records: [record] };
      // Lambda retries a failed asynchronous invocation twice; so does the local cloud.
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          return await register(event);
        } catch {
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
    };

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
        ...adminHandlers(services.admin({ credentialIssuer: credentialStore }), logger),
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
    localAuthorizer = createAuthorizer(
      authorizerConfigFromEnv(localAuthorizerEnvironment(config, authorizerOptions, gateway.endpoint)),
      {
        logger,
        metrics: authorizerOptions.metrics ?? { record: () => undefined },
        clock: services.clock,
        endpoints,
        credentials: LOCAL_AWS_CREDENTIALS,
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

/** The environment the AttestationAuthorizer construct would give the authorizer Lambda. */
function localAuthorizerEnvironment(config: ServiceConfig, options: LocalAuthorizerOptions, apiUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    AWS_REGION: config.region,
    ATTESTOR_ISSUER: config.issuer,
    AUTHORIZER_TENANT: config.authorizerTenantId,
    AUTHORIZER_MODE: options.mode ?? 'enforce',
    REQUIRE_BINDING: String(options.requireBinding === true),
    LIMITED_USE: String(options.limitedUse === true),
    REQUIRE_PROOF: String(options.requireProof === true),
    KEY_SOURCE: options.keySource ?? 'kms',
  };
  if (options.tokenHeader !== undefined) env['TOKEN_HEADER'] = options.tokenHeader;
  const hardware = options.requireHardware;
  if (hardware !== undefined && hardware !== false) env['REQUIRE_HARDWARE'] = hardware === true ? 'true' : hardware.join(',');
  if (options.bindingHeader !== undefined) env['BINDING_HEADER'] = options.bindingHeader;
  if (options.limitedUse || options.requireProof) env['TOKEN_LEDGER_TABLE'] = LOCAL_NAMES.tokenLedgerTable;
  if (options.keySource === 'remote') env['ATTESTOR_API_URL'] = apiUrl;
  else {
    env['REGISTRY_TABLE'] = config.registryTable;
    env['TENANT_KEY_ALIAS_PREFIX'] = config.tenantKeyAliasPrefix;
    env['DECOY_KEY_ID'] = config.decoyKeyId;
  }
  if (options.publicBaseUrl !== undefined) env['PUBLIC_BASE_URL'] = options.publicBaseUrl;
  return env;
}
