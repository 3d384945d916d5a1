import { configFromEnv } from '../src/adapters/environment';
import { adminUploadsDeps } from '../src/adapters/wiring/admin-uploads';
import { adminUploadsHandler } from '../src/handlers/admin-uploads';
import { jsonLogger } from '../src/handlers/log';

export const handler = adminUploadsHandler(adminUploadsDeps(configFromEnv(process.env)), jsonLogger);
