import { ADMIN_UPLOADS_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminUploadsDeps } from '../composition/admin-uploads';
import { powertools } from '../composition/powertools';
import { adminUploadsHandler } from '../handlers/admin-uploads';

const observability = powertools('adminUploads');
const deps = adminUploadsDeps({ ...lambdaConfig(ADMIN_UPLOADS_CONFIG, process.env), logger: observability.log });
export const handler = observability.instrument(adminUploadsHandler(deps, observability.log, observability.metrics));
