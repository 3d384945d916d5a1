import { AUTHORIZER_CONFIG } from '@attestor/contracts/config';
import { createAuthorizer } from '../composition/authorizer-config';
import { lambdaConfig } from '../composition/environment';
import { powertools } from '../composition/powertools';

// Module scope: a bad environment fails the cold start, and the verifier's keys and verified-token
// cache live as long as the warm container. Key loading starts here, before the first request.
const config = lambdaConfig(AUTHORIZER_CONFIG, process.env);
const observability = powertools('authorizer', { tenantId: config.tenantId });
export const handler = observability.instrument(createAuthorizer(config, { logger: observability.log, metrics: observability.metrics }).handler);
