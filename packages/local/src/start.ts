#!/usr/bin/env node
/**
 * `npm start` (and the `attestor-local` command of the published package): the service on the
 * local cloud. Prints one line when ready, then one per attestation and registration (live-lines.ts;
 * the full events go to the log file), keeps data under .attestor/ (or $ATTESTOR_HOME) across
 * restarts, and stops cleanly on Ctrl-C. It checks the port and the data directory before it
 * writes anything, and when the data directory is deleted while it runs, it writes back what it
 * holds in memory and says so here.
 */
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { LogFields, Logger } from '@attestor/service/handlers/log';
import { localDataDir } from '@attestor/contracts/local-state';
import type { HardwareTestRoots } from '@attestor/service/core/hardware/ports';
import { startLocalCloud, type DataDirRestore, type LocalCloud } from './cloud';
import { LocalStartError } from './data-dir';
import { liveLine } from './live-lines';

/** What the terminal shows after the data directory was restored: what came back, what did not, what to do. */
export function restoreMessage(dataDir: string, restore: DataDirRestore): string {
  const tenants = restore.tenantCredentials === 1 ? '1 tenant credential' : `${restore.tenantCredentials} tenant credentials`;
  const tables =
    restore.tableItems !== undefined
      ? `${restore.tableItems} table items (saved again when the service stops)`
      : restore.tablesError !== undefined
        ? `no table items (they could not be read: ${restore.tablesError}; they are lost when the service stops)`
        : 'the tables (their files were still there)';
  const what = restore.directoryDeleted ? `${dataDir} was deleted while the service ran` : `files of ${dataDir} were deleted while the service ran`;
  const builds = restore.buildsLost ? ' Uploaded build files are gone (their registrations are kept).' : '';
  return (
    `${what}; restored from memory at ${restore.restoredAt}: the operator credential, ${tenants}, ${restore.kmsKeys} KMS keys and ${tables}.` +
    `${builds} Stop with Ctrl-C as usual; the next npm start loads what was restored.`
  );
}

/**
 * ATTESTOR_HARDWARE_TEST_ROOTS names a JSON file {"appAttest": [PEM…], "android": [PEM…]}: test
 * authority roots to trust (a deployed function refuses the variable; the CDK stack refuses it at synth).
 */
function testRootsFrom(path: string | undefined): HardwareTestRoots | undefined {
  if (!path) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { appAttest?: unknown; android?: unknown };
  const pems = (value: unknown) =>
    Array.isArray(value) && value.every((p) => typeof p === 'string' && p.includes('BEGIN CERTIFICATE')) ? (value as string[]) : undefined;
  const appAttest = pems(parsed.appAttest ?? []);
  const android = pems(parsed.android ?? []);
  if (!appAttest || !android) throw new Error(`${path}: expected {"appAttest": [PEM certificates], "android": [PEM certificates]}`);
  return { appAttest, android };
}

async function main(): Promise<void> {
  const dataDir = localDataDir();
  const port = process.env['PORT'] ? Number(process.env['PORT']) : 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`PORT must be a port number, got "${process.env['PORT']}"\n`);
    process.exit(1);
  }
  // The log file is opened once the service started (or by an earlier line), so a start refused by
  // its checks writes nothing; after the data directory was deleted it is opened again.
  const logFile = join(dataDir, 'logs', 'service.log');
  let logStream: WriteStream | undefined;
  const openLog = () => {
    mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
    return createWriteStream(logFile, { flags: 'a' });
  };
  const write = (level: string) => (event: string, fields?: LogFields) => {
    const time = new Date();
    (logStream ??= openLog()).write(`${JSON.stringify({ level, event, time: time.toISOString(), ...fields })}\n`);
    // The terminal gets a compact line for what an operator watches for; the file keeps the whole event.
    const line = liveLine(event, fields, time);
    if (line !== undefined) process.stdout.write(line);
  };
  const logger: Logger = { info: write('info'), warn: write('warn'), error: write('error') };

  let cloud: LocalCloud;
  try {
    const revocationListFile = process.env['REVOCATION_LIST_FILE'] || undefined;
    const hardwareTestRoots = testRootsFrom(process.env['ATTESTOR_HARDWARE_TEST_ROOTS']);
    cloud = await startLocalCloud({
      dataDir,
      port,
      logger,
      guardDataDir: {
        onRestore: (restore) => {
          // The old log file went with the directory; this line starts the new one.
          logStream?.end();
          logStream = undefined;
          logger.warn('data_dir_restored', { dataDir, ...restore });
          process.stdout.write(`${restoreMessage(dataDir, restore)}\n`);
        },
        onRestoreError: (error) => {
          process.stderr.write(
            `${dataDir} was deleted while the service ran and could not be restored (${error.message}): ` +
              'stop the service with Ctrl-C and start it again; what it held is lost\n',
          );
        },
      },
      ...(revocationListFile ? { revocationListFile } : {}),
      ...(hardwareTestRoots ? { hardwareTestRoots } : {}),
    });
  } catch (error) {
    const message =
      error instanceof LocalStartError
        ? error.code === 'EADDRINUSE'
          ? `${error.message}: stop the other process or run with PORT=<free port> npm start`
          : error.message
        : `could not start the local cloud: ${(error as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
  // Started: the log file exists from here on, so `tail -f` works before the first request.
  logStream ??= openLog();
  const restored = cloud.restoredTableItems !== undefined ? `; ${cloud.restoredTableItems} table items restored from the last deletion` : '';
  process.stdout.write(`Attestor ready on ${cloud.endpoint} (data in ${dataDir}, logs in ${logFile}${restored}); Ctrl-C stops\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cloud.stop();
    logStream?.end();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (require.main === module) void main();
