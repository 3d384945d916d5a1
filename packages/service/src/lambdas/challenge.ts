import { CHALLENGE_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { challengeDeps } from '../composition/challenge';
import { challengeHandler } from '../handlers/challenge';
import { jsonLogger } from '../handlers/log';

export const handler = challengeHandler(challengeDeps(lambdaConfig(CHALLENGE_CONFIG, process.env)), jsonLogger);
