import { attest, type AttestationDeps } from '../core/attestation';
import { attestRequestSchema, parseRequest } from '@attestor/contracts/validation';
import { httpHandler, json, parseJsonBody, type ApiHandler } from './http';
import { errorFields, type Logger } from './log';

/** POST /v1/attest: the verdict goes to the log only; the client gets a token either way. */
export function attestHandler(deps: AttestationDeps, log: Logger): ApiHandler {
  return httpHandler('attest', log, async (event) => {
    const request = parseRequest(attestRequestSchema, parseJsonBody(event));
    const result = await attest(deps, request);
    log.info('attestation', {
      appId: request.appId,
      appVersion: request.appVersion,
      tenantId: result.verdict.tenantId,
      did: result.verdict.did,
      platform: request.device.platform,
      outcome: result.verdict.outcome,
      reasons: result.verdict.reasons,
    });
    // The log is for operators, not for the verdict: a failed write is reported and the client still gets its token.
    if (result.logError !== undefined) {
      log.error('attestation_log_failed', errorFields(result.logError));
    }
    return json(200, { token: result.token, expiresAt: result.expiresAt });
  });
}
