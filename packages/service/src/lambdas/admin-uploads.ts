import { configFromEnv } from '../composition/environment';
import { adminUploadsDeps } from '../composition/admin-uploads';
import { adminUploadsHandler } from '../handlers/admin-uploads';
import { jsonLogger } from '../handlers/log';

export const handler = adminUploadsHandler(adminUploadsDeps(configFromEnv(process.env)), jsonLogger);
