import { ADMIN_UPLOADS_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminUploadsDeps } from '../composition/admin-uploads';
import { adminUploadsHandler } from '../handlers/admin-uploads';
import { jsonLogger } from '../handlers/log';

export const handler = adminUploadsHandler(adminUploadsDeps(lambdaConfig(ADMIN_UPLOADS_CONFIG, process.env)), jsonLogger);
