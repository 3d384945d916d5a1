import { configFromEnv } from '../src/adapters/environment';
import { challengeDeps } from '../src/adapters/wiring/challenge';
import { challengeHandler } from '../src/handlers/challenge';
import { jsonLogger } from '../src/handlers/log';

export const handler = challengeHandler(challengeDeps(configFromEnv(process.env)), jsonLogger);
