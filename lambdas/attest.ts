import { configFromEnv, createServices } from '../src/adapters/environment';
import { attestHandler } from '../src/handlers/attest';
import { jsonLogger } from '../src/handlers/log';

const services = createServices(configFromEnv(process.env));
export const handler = attestHandler(services.attestation(), jsonLogger);
