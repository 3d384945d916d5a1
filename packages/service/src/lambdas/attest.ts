import { ATTEST_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { attestDeps } from '../composition/attest';
import { attestHandler } from '../handlers/attest';
import { jsonLogger } from '../handlers/log';

export const handler = attestHandler(attestDeps(lambdaConfig(ATTEST_CONFIG, process.env)), jsonLogger);
