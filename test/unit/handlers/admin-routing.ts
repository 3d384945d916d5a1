/**
 * The admin functions as API Gateway (and the local gateway) put them behind the API: each request
 * goes to the function src/routes.ts names for its method and resource. A request for a route the
 * table lacks never reaches a Lambda in AWS, so here it is a test error.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { adminHandlers, type AdminDeps } from '../../../packages/service/src/handlers/admin';
import type { ApiHandler } from '../../../packages/service/src/handlers/http';
import type { Logger } from '../../../packages/service/src/handlers/log';
import { ADMIN_LAMBDAS, ROUTES, type AdminLambdaName } from '../../../packages/contracts/src/routes';

export function routedAdminHandler(deps: AdminDeps, log: Logger): ApiHandler {
  const handlers = adminHandlers(deps, log);
  return async (event: APIGatewayProxyEvent) => {
    const route = ROUTES.find((r) => r.method === event.httpMethod && r.path === event.resource);
    const lambda = route?.lambda as AdminLambdaName | undefined;
    if (!lambda || !ADMIN_LAMBDAS.includes(lambda)) throw new Error(`src/routes.ts has no admin route ${event.httpMethod} ${event.resource}`);
    return handlers[lambda](event);
  };
}
