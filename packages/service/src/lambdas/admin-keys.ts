import { ADMIN_KEYS_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminKeysDeps } from '../composition/admin-keys';
import { adminKeysHandler } from '../handlers/admin-keys';
import { jsonLogger } from '../handlers/log';

export const handler = adminKeysHandler(adminKeysDeps(lambdaConfig(ADMIN_KEYS_CONFIG, process.env)), jsonLogger);
