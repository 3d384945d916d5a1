import { DEMO_HELLO_CONFIG } from '@attestor/contracts/config';
import { demoHelloHandler } from '../handlers/demo-hello';
import { jsonLogger } from '../handlers/log';

// It reads no setting, but refuses at cold start what no function may be given (the local cloud's test roots).
DEMO_HELLO_CONFIG.fromEnv(process.env);

export const handler = demoHelloHandler(jsonLogger);
