import { REGISTER_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { registrationDeps } from '../composition/register';
import { powertools } from '../composition/powertools';
import { registerHandler } from '../handlers/register';

const observability = powertools('register');
const deps = registrationDeps({ ...lambdaConfig(REGISTER_CONFIG, process.env), logger: observability.log });
export const handler = observability.instrument(registerHandler(deps, observability.log, observability.metrics));
