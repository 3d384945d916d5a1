import { revocationListConfigFromEnv, revocationListDeps } from '../composition/revocation-list';
import { jsonLogger } from '../handlers/log';
import { revocationListHandler } from '../handlers/revocation-list';

export const handler = revocationListHandler(revocationListDeps(revocationListConfigFromEnv(process.env)), jsonLogger);
