import { configFromEnv } from '../composition/environment';
import { registrationDeps } from '../composition/register';
import { jsonLogger } from '../handlers/log';
import { registerHandler } from '../handlers/register';

export const handler = registerHandler(registrationDeps(configFromEnv(process.env)), jsonLogger);
