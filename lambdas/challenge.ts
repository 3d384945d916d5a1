import { configFromEnv, createServices } from '../src/adapters/environment';
import { challengeHandler } from '../src/handlers/challenge';
import { jsonLogger } from '../src/handlers/log';

const services = createServices(configFromEnv(process.env));
export const handler = challengeHandler(services.attestation(), jsonLogger);
