import { configFromEnv, createServices } from '../src/adapters/environment';
import { AttestationVerifier } from '../src/core/verifier';
import { authorizerHandler } from '../src/handlers/authorizer';
import { jsonLogger } from '../src/handlers/log';

const services = createServices(configFromEnv(process.env));
// Module scope: the verifier's key cache lives as long as the warm container.
const verifier = new AttestationVerifier({
  keys: services.tenantKeys(),
  tenantId: services.config.authorizerTenantId,
  issuer: services.config.issuer,
  clock: services.clock,
});
export const handler = authorizerHandler(verifier, jsonLogger);
