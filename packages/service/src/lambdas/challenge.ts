import { CHALLENGE_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { challengeDeps } from '../composition/challenge';
import { powertools } from '../composition/powertools';
import { challengeHandler } from '../handlers/challenge';

const observability = powertools('challenge');
const deps = challengeDeps({ ...lambdaConfig(CHALLENGE_CONFIG, process.env), logger: observability.log });
export const handler = observability.instrument(challengeHandler(deps, observability.log, observability.metrics));
