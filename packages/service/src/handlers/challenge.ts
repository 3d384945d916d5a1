import { issueChallenge, type AttestationDeps } from '../core/attestation';
import { challengeRequestSchema, parseRequest } from '@attestor/contracts/validation';
import { httpHandler, json, parseJsonBody, type ApiHandler } from './http';
import type { Logger } from './log';
import { noMetrics, type ServiceMetrics } from './metrics';

/** POST /v1/challenge */
export function challengeHandler(deps: Pick<AttestationDeps, 'nonces' | 'clock' | 'random'>, log: Logger, metrics: ServiceMetrics = noMetrics): ApiHandler {
  return httpHandler(
    'challenge',
    log,
    async (event) => {
      const request = parseRequest(challengeRequestSchema, parseJsonBody(event));
      return json(200, await issueChallenge(deps, request));
    },
    metrics,
  );
}
