/**
 * `npm start`: the service on the local cloud. Prints one line when ready, keeps data under
 * .attestor/ (or $ATTESTOR_HOME) across restarts, and stops cleanly on Ctrl-C.
 */
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogFields, Logger } from '@attestor/service/handlers/log';
import { localDataDir } from '@attestor/contracts/local-state';
import type { HardwareTestRoots } from '@attestor/service/core/hardware/ports';
import { startLocalCloud } from './cloud';

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
  // The local cloud runs on whatever Node the machine has (20 here); the SDK's notice that its 2027
  // releases need Node 22 concerns upgrades, not this process, and would bury the ready line.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const dataDir = localDataDir();
  const port = process.env['PORT'] ? Number(process.env['PORT']) : 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`PORT must be a port number, got "${process.env['PORT']}"\n`);
    process.exit(1);
  }
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const logFile = join(dataDir, 'logs', 'service.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const write = (level: string) => (event: string, fields?: LogFields) =>
    logStream.write(`${JSON.stringify({ level, event, time: new Date().toISOString(), ...fields })}\n`);
  const logger: Logger = { info: write('info'), warn: write('warn'), error: write('error') };

  let cloud;
  try {
    const revocationListFile = process.env['REVOCATION_LIST_FILE'] || undefined;
    const hardwareTestRoots = testRootsFrom(process.env['ATTESTOR_HARDWARE_TEST_ROOTS']);
    cloud = await startLocalCloud({
      dataDir,
      port,
      logger,
      ...(revocationListFile ? { revocationListFile } : {}),
      ...(hardwareTestRoots ? { hardwareTestRoots } : {}),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    process.stderr.write(
      code === 'EADDRINUSE'
        ? `port ${port} is in use: stop the other process or run with PORT=<free port> npm start\n`
        : `could not start the local cloud: ${(error as Error).message}\n`,
    );
    process.exit(1);
  }
  process.stdout.write(`Attestor ready on ${cloud.endpoint} (data in ${dataDir}, logs in ${logFile}); Ctrl-C stops\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cloud.stop();
    logStream.end();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

void main();
