/**
 * Finds the local service `npm start` runs, from wherever in the project the CLI is run: its data
 * directory ($ATTESTOR_HOME, else the nearest .attestor with a state file in this directory or
 * one above it) holds the admin credential, the tenants' saved credentials and the state file,
 * which names the service's endpoint and its KMS. Every message says where the CLI looked.
 */
import { join } from 'node:path';
import {
  findLocalDataDir,
  LOCAL_CLOUD_FILE,
  processIsAlive,
  readLocalCloudState,
  type LocalCloudState,
  type LocalDataDirLookup,
} from '@attestor/contracts/local-state';
import { CliError } from './errors';

export interface LocalService extends LocalDataDirLookup {
  /** The running service's state file, when there is one. */
  readonly state?: LocalCloudState;
}

export function locateLocalService(env: NodeJS.ProcessEnv, cwd: string): LocalService {
  const found = findLocalDataDir(env, cwd);
  const state = readLocalCloudState(found.dir);
  return { ...found, ...(state ? { state } : {}) };
}

/** Where the CLI looked for a file, for messages: "no f in /x (ATTESTOR_HOME)" or "no .attestor/f in /a/b or any directory above it". */
export function searched(located: LocalService, cwd: string, file: string): string {
  return located.source === 'ATTESTOR_HOME' ? `no ${file} in ${located.dir} (ATTESTOR_HOME)` : `no .attestor/${file} in ${cwd} or any directory above it`;
}

/**
 * The running service's endpoint, when the user named none: a state file left by a service that
 * no longer runs (killed, crashed) is an error that says so, rather than a connection refused.
 */
export function runningLocalEndpoint(env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const located = locateLocalService(env, cwd);
  const state = located.state;
  if (!state) return undefined;
  if (!processIsAlive(state.pid)) {
    throw new CliError(
      `the local service recorded in ${join(located.dir, LOCAL_CLOUD_FILE)} (pid ${state.pid}) is no longer running: start it again with \`npm start\``,
    );
  }
  return state.endpoint;
}

/** The local KMS endpoint of the running service, for unwrapping secrets (`attestor keys secret`). */
export function localKmsEndpoint(env: NodeJS.ProcessEnv, cwd: string): string {
  const located = locateLocalService(env, cwd);
  if (!located.state) {
    throw new CliError(`the local service is not running (${searched(located, cwd, LOCAL_CLOUD_FILE)}): start it with \`npm start\` in your project`);
  }
  return located.state.kms;
}
