import { configFromEnv } from '../src/adapters/environment';
import { registrationDeps } from '../src/adapters/wiring/register';
import { jsonLogger } from '../src/handlers/log';
import { registerHandler } from '../src/handlers/register';

export const handler = registerHandler(registrationDeps(configFromEnv(process.env)), jsonLogger);
