import { configFromEnv, createServices } from '../src/adapters/environment';
import { jsonLogger } from '../src/handlers/log';
import { registerHandler } from '../src/handlers/register';

const services = createServices(configFromEnv(process.env));
export const handler = registerHandler(services.registration(), jsonLogger);
