import { DEMO_HELLO_CONFIG } from '@attestor/contracts/config';
import { powertools } from '../composition/powertools';
import { demoHelloHandler } from '../handlers/demo-hello';

// It reads no setting, but refuses at cold start what no function may be given (the local cloud's test roots).
DEMO_HELLO_CONFIG.fromEnv(process.env);

const observability = powertools('demoHello');
export const handler = observability.instrument(demoHelloHandler(observability.log));
