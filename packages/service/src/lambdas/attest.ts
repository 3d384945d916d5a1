import { ATTEST_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { attestDeps } from '../composition/attest';
import { powertools } from '../composition/powertools';
import { attestHandler } from '../handlers/attest';

const observability = powertools('attest');
export const handler = observability.instrument(
  attestHandler(attestDeps({ ...lambdaConfig(ATTEST_CONFIG, process.env), logger: observability.log }), observability.log, observability.metrics),
);
