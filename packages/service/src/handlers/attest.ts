import { attest, type AttestationDeps } from '../core/attestation';
import { NonceInvalidError } from '../core/errors';
import { attestRequestSchema, parseRequest } from '@attestor/contracts/validation';
import { httpHandler, json, parseJsonBody, type ApiHandler } from './http';
import { errorFields, type Logger } from './log';
import { noMetrics, type ServiceMetrics } from './metrics';

/** POST /v1/attest: the verdict goes to the log and the metrics only; the client gets a token either way. */
export function attestHandler(deps: AttestationDeps, log: Logger, metrics: ServiceMetrics = noMetrics): ApiHandler {
  return httpHandler(
    'attest',
    log,
    async (event) => {
      const request = parseRequest(attestRequestSchema, parseJsonBody(event));
      let result: Awaited<ReturnType<typeof attest>>;
      try {
        result = await attest(deps, request);
      } catch (error) {
        // A replay or a stale challenge; the app is named only if it is registered (the id is the client's word).
        if (error instanceof NonceInvalidError) {
          metrics.nonceInvalid(error.tenantId !== undefined ? { tenantId: error.tenantId, appId: request.appId } : {});
        }
        throw error;
      }
      const { verdict } = result;
      log.info('attestation', {
        appId: request.appId,
        appVersion: request.appVersion,
        tenantId: verdict.tenantId,
        did: verdict.did,
        platform: request.device.platform,
        outcome: verdict.outcome,
        reasons: verdict.reasons,
      });
      metrics.attestation({ tenantId: verdict.tenantId, appId: request.appId, appKnown: verdict.appKnown, outcome: verdict.outcome, reasons: verdict.reasons });
      // The log is for operators, not for the verdict: a failed write is reported and the client still gets its token.
      if (result.logError !== undefined) {
        log.error('attestation_log_failed', errorFields(result.logError));
      }
      return json(200, { token: result.token, expiresAt: result.expiresAt });
    },
    metrics,
  );
}
