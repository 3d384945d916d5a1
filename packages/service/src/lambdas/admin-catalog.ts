import { configFromEnv } from '../composition/environment';
import { adminCatalogDeps } from '../composition/admin-catalog';
import { adminCatalogHandler } from '../handlers/admin-catalog';
import { jsonLogger } from '../handlers/log';

export const handler = adminCatalogHandler(adminCatalogDeps(configFromEnv(process.env)), jsonLogger);
