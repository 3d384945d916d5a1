import { REGISTER_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { registrationDeps } from '../composition/register';
import { jsonLogger } from '../handlers/log';
import { registerHandler } from '../handlers/register';

export const handler = registerHandler(registrationDeps(lambdaConfig(REGISTER_CONFIG, process.env)), jsonLogger);
