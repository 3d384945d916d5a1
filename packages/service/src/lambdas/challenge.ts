import { CHALLENGE_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { challengeDeps } from '../composition/challenge';
import { powertools } from '../composition/powertools';
import { challengeHandler } from '../handlers/challenge';

const observability = powertools('challenge');
export const handler = observability.instrument(
  challengeHandler(challengeDeps({ ...lambdaConfig(CHALLENGE_CONFIG, process.env), logger: observability.log }), observability.log, observability.metrics),
);
