/**
 * `npm start`: the service on the local cloud. Prints one line when ready, keeps data under
 * .attestor/ (or $ATTESTOR_HOME) across restarts, and stops cleanly on Ctrl-C.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LogFields, Logger } from '@attestor/service/handlers/log';
import { localDataDir } from '@attestor/contracts/local-state';
import { startLocalCloud } from './cloud';

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
    cloud = await startLocalCloud({ dataDir, port, logger });
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
