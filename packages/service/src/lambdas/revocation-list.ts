import { REVOCATION_LIST_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { powertools } from '../composition/powertools';
import { revocationListDeps } from '../composition/revocation-list';
import { revocationListHandler } from '../handlers/revocation-list';

const observability = powertools('revocationList');
export const handler = observability.instrument(
  revocationListHandler(revocationListDeps(lambdaConfig(REVOCATION_LIST_CONFIG, process.env)), observability.log),
);
