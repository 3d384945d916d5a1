import { AUTHORIZER_CONFIG } from '@attestor/contracts/config';
import { createAuthorizer } from '../composition/authorizer-config';
import { lambdaConfig } from '../composition/environment';

// Module scope: a bad environment fails the cold start, and the verifier's keys and verified-token
// cache live as long as the warm container. Key loading starts here, before the first request.
export const handler = createAuthorizer(lambdaConfig(AUTHORIZER_CONFIG, process.env)).handler;
