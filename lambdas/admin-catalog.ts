import { configFromEnv } from '../src/adapters/environment';
import { adminCatalogDeps } from '../src/adapters/wiring/admin-catalog';
import { adminCatalogHandler } from '../src/handlers/admin-catalog';
import { jsonLogger } from '../src/handlers/log';

export const handler = adminCatalogHandler(adminCatalogDeps(configFromEnv(process.env)), jsonLogger);
