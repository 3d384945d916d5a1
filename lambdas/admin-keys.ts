import { configFromEnv } from '../src/adapters/environment';
import { adminKeysDeps } from '../src/adapters/wiring/admin-keys';
import { adminKeysHandler } from '../src/handlers/admin-keys';
import { jsonLogger } from '../src/handlers/log';

export const handler = adminKeysHandler(adminKeysDeps(configFromEnv(process.env)), jsonLogger);
