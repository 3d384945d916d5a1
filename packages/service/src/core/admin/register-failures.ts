/**
 * Register failures (docs/ADMIN_API.md §5.4), operators only: the queue holds every tenant's uploads,
 * and an object key names the app and version, so a tenant must not read it. A deployment without
 * the queue answers 404, as for any route whose resource it does not keep.
 */
import { NotFoundError } from '../errors';
import type { RegisterFailure, RegisterFailureQueue } from '../ports';
import type { AdminCaller } from '../tenancy';
import { requireOperator } from './ownership';

/** The most failures one request lists, retries or clears; run the command again for more. */
export const MAX_REGISTER_FAILURES = 100;

export interface RegisterFailureDeps {
  readonly registerFailures?: RegisterFailureQueue;
}

function queueOf(deps: RegisterFailureDeps, caller: AdminCaller): RegisterFailureQueue {
  requireOperator(caller, 'manage register failures');
  if (!deps.registerFailures) throw new NotFoundError('this deployment keeps no register failures');
  return deps.registerFailures;
}

/** Oldest first, at most MAX_REGISTER_FAILURES. */
export async function listRegisterFailures(deps: RegisterFailureDeps, caller: AdminCaller): Promise<RegisterFailure[]> {
  const failures = await queueOf(deps, caller).list(MAX_REGISTER_FAILURES);
  return [...failures].sort((a, b) => a.failedAt - b.failedAt || (a.id < b.id ? -1 : 1));
}

export async function retryRegisterFailures(deps: RegisterFailureDeps, caller: AdminCaller, ids?: readonly string[]): Promise<string[]> {
  return queueOf(deps, caller).retry(ids, MAX_REGISTER_FAILURES);
}

export async function clearRegisterFailures(deps: RegisterFailureDeps, caller: AdminCaller, ids?: readonly string[]): Promise<string[]> {
  return queueOf(deps, caller).clear(ids, MAX_REGISTER_FAILURES);
}
