import { configFromEnv } from '../src/adapters/environment';
import { attestDeps } from '../src/adapters/wiring/attest';
import { attestHandler } from '../src/handlers/attest';
import { jsonLogger } from '../src/handlers/log';

export const handler = attestHandler(attestDeps(configFromEnv(process.env)), jsonLogger);
