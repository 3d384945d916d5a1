import { httpHandler, json, type ApiHandler } from './http';
import type { Logger } from './log';

/** GET /demo/hello: only reachable through the authorizer, which hands over the token's subject. */
export function demoHelloHandler(log: Logger): ApiHandler {
  return httpHandler('demoHello', log, async (event) => {
    const context = event.requestContext.authorizer ?? {};
    return json(200, { hello: 'attested app', appId: context['appId'], did: context['did'] });
  });
}
