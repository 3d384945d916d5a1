import { ATTEST_CONFIG } from '@attestor/contracts/config';
import { lambdaConfig } from '../composition/environment';
import { attestDeps } from '../composition/attest';
import { attestationCounts, powertools } from '../composition/powertools';
import { attestHandler } from '../handlers/attest';

const observability = powertools('attest', { attestations: attestationCounts });
const deps = attestDeps({ ...lambdaConfig(ATTEST_CONFIG, process.env), logger: observability.log });
export const handler = observability.instrument(attestHandler(deps, observability.log, observability.metrics));
