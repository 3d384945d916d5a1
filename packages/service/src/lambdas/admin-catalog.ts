import { ADMIN_CATALOG_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminCatalogDeps } from '../composition/admin-catalog';
import { adminCatalogHandler } from '../handlers/admin-catalog';
import { jsonLogger } from '../handlers/log';

export const handler = adminCatalogHandler(adminCatalogDeps(lambdaConfig(ADMIN_CATALOG_CONFIG, process.env)), jsonLogger);
