import { demoHelloHandler } from '../handlers/demo-hello';
import { jsonLogger } from '../handlers/log';

export const handler = demoHelloHandler(jsonLogger);
