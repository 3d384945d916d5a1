/**
 * What the local cloud checks before it writes anything: that its data directory can be written,
 * that no other instance serves it, and that its port is free. A start that fails any of these
 * leaves the disk as it found it, so the running instance (or the next start) sees its own state
 * and nobody else's.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { ADMIN_CREDENTIALS_FILE, processIsAlive, readLocalCloudState } from '@attestor/contracts/local-state';
import { dynamoOwner } from './dynamodb';
import { listen } from './listen';

/** A reason the local cloud cannot start, in one line that says what to do. */
export class LocalStartError extends Error {
  override readonly name = 'LocalStartError';
  constructor(
    message: string,
    /** EADDRINUSE for a port in use, so a caller can add how to pick another port. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Subdirectories the local cloud writes into; any that exist must be writable too. */
const SUBDIRECTORIES = ['dynamodb', 's3', 'kms', join('kms', 'keys'), 'logs', 'credentials'];

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Throws a LocalStartError unless this process may use `dataDir`; writes nothing. */
export function checkDataDir(dataDir: string): void {
  const stat = statOf(dataDir);
  const elsewhere = 'or set ATTESTOR_HOME to another directory';
  if (stat === undefined) {
    let parent = dirname(dataDir);
    while (statOf(parent) === undefined && dirname(parent) !== parent) parent = dirname(parent);
    if (!statOf(parent)?.isDirectory() || !writable(parent)) {
      throw new LocalStartError(`cannot create ${dataDir}: ${parent} is not writable by this user; ${elsewhere}`);
    }
    return;
  }
  if (!stat.isDirectory()) throw new LocalStartError(`${dataDir} is not a directory: move it away, ${elsewhere}`);
  for (const dir of [dataDir, ...SUBDIRECTORIES.map((d) => join(dataDir, d))]) {
    const sub = statOf(dir);
    if (sub !== undefined && (!sub.isDirectory() || !writable(dir))) {
      throw new LocalStartError(`${dir} is not a writable directory for this user: fix its owner or permissions, ${elsewhere}`);
    }
  }
  // An operator credential that exists but cannot be read would be replaced by a new one, and every
  // tenant and saved copy of the old one would stop working.
  const credentials = join(dataDir, ADMIN_CREDENTIALS_FILE);
  if (statOf(credentials) !== undefined) {
    try {
      accessSync(credentials, constants.R_OK);
    } catch {
      throw new LocalStartError(`${credentials} is not readable by this user: fix its owner or permissions, ${elsewhere}`);
    }
  }
  const state = readLocalCloudState(dataDir);
  if (state && state.pid !== process.pid && processIsAlive(state.pid)) {
    const other = `another Attestor local service (pid ${state.pid}, ${state.endpoint}) runs on ${dataDir}`;
    throw new LocalStartError(`${other}: use that one, stop it first (Ctrl-C in its terminal), ${elsewhere}`);
  }
  const owner = dynamoOwner(join(dataDir, 'dynamodb'));
  if (owner !== undefined && owner !== process.pid) {
    throw new LocalStartError(`another process (pid ${owner}) holds the tables in ${dataDir}: stop it first, ${elsewhere}`);
  }
}

/**
 * Binds the gateway's port before anything is written, and answers 503 until the gateway takes
 * the server over (startGateway's `server`), so a port in use fails the start while the disk is
 * untouched, and nothing else can take the port in between.
 */
export async function reservePort(port: number, host: string): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end('{"message":"Attestor is starting"}');
  });
  try {
    await listen(server, port, host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new LocalStartError(`port ${port} on ${host} is in use`, code);
    if (code === 'EACCES') throw new LocalStartError(`port ${port} on ${host} needs privileges this user does not have: choose a port above 1023`, code);
    throw error;
  }
  return server;
}
