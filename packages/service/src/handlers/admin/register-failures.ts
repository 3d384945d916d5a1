/** Register failures (docs/ADMIN_API.md §5.4), operators only: list, retry, clear. */
import { registerFailureSelectionSchema } from '@attestor/contracts/admin-validation';
import { parseRequest } from '@attestor/contracts/validation';
import { clearRegisterFailures, listRegisterFailures, retryRegisterFailures } from '../../core/admin/register-failures';
import { json, parseJsonBody } from '../http';
import type { AdminRequestWith, UseCaseDeps } from './context';

type FailuresRequest = AdminRequestWith<UseCaseDeps<typeof listRegisterFailures>>;

export async function listFailures(request: FailuresRequest) {
  return json(200, { failures: await listRegisterFailures(request.deps, request.caller) });
}

export async function retryFailures(request: FailuresRequest) {
  const { ids } = parseRequest(registerFailureSelectionSchema, parseJsonBody(request.event));
  const retried = await retryRegisterFailures(request.deps, request.caller, ids);
  request.log.info('register_failures_retried', { count: retried.length });
  return json(200, { retried });
}

export async function clearFailures(request: FailuresRequest) {
  const { ids } = parseRequest(registerFailureSelectionSchema, parseJsonBody(request.event));
  const cleared = await clearRegisterFailures(request.deps, request.caller, ids);
  request.log.info('register_failures_cleared', { count: cleared.length });
  return json(200, { cleared });
}
