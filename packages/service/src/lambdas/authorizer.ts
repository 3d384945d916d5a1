import { authorizerConfigFromEnv, createAuthorizer } from '../composition/authorizer-config';

// Module scope: a bad environment fails the cold start, and the verifier's keys and verified-token
// cache live as long as the warm container. Key loading starts here, before the first request.
export const handler = createAuthorizer(authorizerConfigFromEnv(process.env)).handler;
