import { ADMIN_KEYS_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminKeysDeps } from '../composition/admin-keys';
import { powertools } from '../composition/powertools';
import { adminKeysHandler } from '../handlers/admin-keys';

const observability = powertools('adminKeys');
export const handler = observability.instrument(
  adminKeysHandler(adminKeysDeps({ ...lambdaConfig(ADMIN_KEYS_CONFIG, process.env), logger: observability.log }), observability.log, observability.metrics),
);
