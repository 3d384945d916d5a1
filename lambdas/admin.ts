import { configFromEnv } from '../src/adapters/environment';
import { adminDeps } from '../src/adapters/wiring/admin';
import { adminHandler } from '../src/handlers/admin';
import { jsonLogger } from '../src/handlers/log';

export const handler = adminHandler(adminDeps(configFromEnv(process.env)), jsonLogger);
