import { configFromEnv } from '../composition/environment';
import { adminKeysDeps } from '../composition/admin-keys';
import { adminKeysHandler } from '../handlers/admin-keys';
import { jsonLogger } from '../handlers/log';

export const handler = adminKeysHandler(adminKeysDeps(configFromEnv(process.env)), jsonLogger);
