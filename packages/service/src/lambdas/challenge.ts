import { configFromEnv } from '../composition/environment';
import { challengeDeps } from '../composition/challenge';
import { challengeHandler } from '../handlers/challenge';
import { jsonLogger } from '../handlers/log';

export const handler = challengeHandler(challengeDeps(configFromEnv(process.env)), jsonLogger);
