import { ADMIN_CATALOG_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { adminCatalogDeps } from '../composition/admin-catalog';
import { powertools } from '../composition/powertools';
import { adminCatalogHandler } from '../handlers/admin-catalog';

const observability = powertools('adminCatalog');
export const handler = observability.instrument(
  adminCatalogHandler(adminCatalogDeps({ ...lambdaConfig(ADMIN_CATALOG_CONFIG, process.env), logger: observability.log }), observability.log, observability.metrics),
);
