import { ADMIN_CATALOG_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminCatalogDeps } from '../composition/admin-catalog';
import { powertools } from '../composition/powertools';
import { adminCatalogHandler } from '../handlers/admin-catalog';

const observability = powertools('adminCatalog');
const deps = adminCatalogDeps({ ...lambdaConfig(ADMIN_CATALOG_CONFIG, process.env), logger: observability.log });
export const handler = observability.instrument(adminCatalogHandler(deps, observability.log, observability.metrics));
