import { ADMIN_KEYS_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminKeysDeps } from '../composition/admin-keys';
import { powertools } from '../composition/powertools';
import { adminKeysHandler } from '../handlers/admin-keys';

const observability = powertools('adminKeys');
const deps = adminKeysDeps({ ...lambdaConfig(ADMIN_KEYS_CONFIG, process.env), logger: observability.log });
export const handler = observability.instrument(adminKeysHandler(deps, observability.log, observability.metrics));
