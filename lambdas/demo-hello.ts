import { demoHelloHandler } from '../src/handlers/demo-hello';
import { jsonLogger } from '../src/handlers/log';

export const handler = demoHelloHandler(jsonLogger);
