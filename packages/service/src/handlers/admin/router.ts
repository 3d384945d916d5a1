/**
 * The one place where admin requests are authorized: every admin function (one per area, see
 * src/routes.ts) resolves the caller to its tenant and checks its role against the route table
 * before any route runs; a caller with no tenant, or whose role may not call the route, gets 403
 * and nothing is read.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { routeKey as keyOf, type AdminLambdaName, type AdminRouteSpec } from '@attestor/contracts/routes';
import { ForbiddenError, NotFoundError } from '../../core/errors';
import { authorizeRoute } from '../../core/tenancy';
import { httpHandler, type ApiHandler } from '../http';
import type { Logger } from '../log';
import { noMetrics, type ServiceMetrics } from '../metrics';
import type { AdminCommonDeps, AdminRoute } from './context';

/** Route tables are keyed like src/routes.ts: `${method} ${path}`. */
export type AdminRoutes<D extends AdminCommonDeps> = Readonly<Record<string, AdminRoute<D>>>;

const routeKey = (event: APIGatewayProxyEvent) => keyOf({ method: event.httpMethod, path: event.resource });

/**
 * `name` labels unhandled errors in the log; `table` is the function's route table (routes.ts), which
 * says who may call each route. A route missing from `routes` answers 404, one missing from `table` 403.
 */
export function adminRouter<D extends AdminCommonDeps>(
  name: AdminLambdaName,
  table: readonly AdminRouteSpec[],
  routes: AdminRoutes<D>,
  deps: D,
  log: Logger,
  metrics: ServiceMetrics = noMetrics,
): ApiHandler {
  return httpHandler(
    name,
    log,
    async (event) => {
      const caller = await deps.callerOf(event);
      if (!caller) throw new ForbiddenError('this credential has no access to any tenant');
      const route = routes[routeKey(event)];
      if (!route) throw new NotFoundError(`no admin route ${routeKey(event)}`);
      // Before the route parses anything: a caller who may not call it learns nothing of what a valid request is.
      authorizeRoute(caller, routeKey(event), table);
      return route({ deps, log, caller, event, params: event.pathParameters ?? {}, query: event.queryStringParameters ?? {} });
    },
    metrics,
  );
}
