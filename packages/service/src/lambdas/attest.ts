import { configFromEnv } from '../composition/environment';
import { attestDeps } from '../composition/attest';
import { attestHandler } from '../handlers/attest';
import { jsonLogger } from '../handlers/log';

export const handler = attestHandler(attestDeps(configFromEnv(process.env)), jsonLogger);
