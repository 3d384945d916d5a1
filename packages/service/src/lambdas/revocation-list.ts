import { REVOCATION_LIST_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { revocationListDeps } from '../composition/revocation-list';
import { jsonLogger } from '../handlers/log';
import { revocationListHandler } from '../handlers/revocation-list';

export const handler = revocationListHandler(revocationListDeps(lambdaConfig(REVOCATION_LIST_CONFIG, process.env)), jsonLogger);
