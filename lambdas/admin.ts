import { configFromEnv, createServices } from '../src/adapters/environment';
import { adminHandler } from '../src/handlers/admin';
import { jsonLogger } from '../src/handlers/log';

const services = createServices(configFromEnv(process.env));
export const handler = adminHandler(services.admin(), jsonLogger);
