/**
 * The admin routes the console's page may have signed, taken from the one route table
 * (@attestor/contracts/routes) so a route the service no longer has cannot be listed here. Only
 * what the pages use: no tenant creation, no wrapped secrets, no raw upload tickets (builds go
 * through the console's own upload, which runs the CLI's register code).
 */
import { ROUTES, type HttpMethod, type Route } from '@attestor/contracts/routes';

const CONSOLE_ROUTES: readonly string[] = [
  'GET /v1/admin/apps',
  'POST /v1/admin/apps',
  'DELETE /v1/admin/apps/{appId}',
  'GET /v1/admin/uploads/{uploadId}',
  'GET /v1/admin/apps/{appId}/registrations',
  'DELETE /v1/admin/apps/{appId}/registrations/{version}',
  'POST /v1/admin/apps/{appId}/registrations/{version}/expire',
  'GET /v1/admin/apps/{appId}/identity',
  'PUT /v1/admin/apps/{appId}/identity',
  'GET /v1/admin/apps/{appId}/policy',
  'PUT /v1/admin/apps/{appId}/policy',
  'GET /v1/admin/apps/{appId}/devices',
  'POST /v1/admin/apps/{appId}/devices',
  'DELETE /v1/admin/apps/{appId}/devices/{deviceId}',
  'GET /v1/admin/keys',
  'POST /v1/admin/keys/rotate',
  'GET /v1/admin/log',
  'GET /v1/admin/stats',
];

/** Routes whose query string is passed on (the service checks each parameter). */
const WITH_QUERY = new Set(['GET /v1/admin/log', 'GET /v1/admin/stats']);

export interface ConsoleRoute {
  readonly route: Route;
  readonly keepQuery: boolean;
}

const compiled = CONSOLE_ROUTES.map((name) => {
  const route = ROUTES.find((r) => `${r.method} ${r.path}` === name && r.auth === 'iam');
  if (!route) throw new Error(`console route ${name} is not an admin route of @attestor/contracts/routes`);
  // A path parameter is one segment of characters ids and versions are made of (percent-escapes
  // included, but never an escaped / or \, which a gateway that decodes them would read as two
  // segments); `.` and `..` alone are refused, so no segment can climb out of the admin API.
  const segment = '(?!\\.{1,2}(?:/|$))(?:(?!%2[fF]|%5[cC])[A-Za-z0-9._~%+-])+';
  const pattern = new RegExp(`^${route.path.replace(/\{[^}]+\}/g, segment)}$`);
  return { route, pattern, keepQuery: WITH_QUERY.has(name) };
});

/** The console route for this request, or undefined when the console does not pass it on. */
export function consoleRoute(method: string, pathname: string): ConsoleRoute | undefined {
  const found = compiled.find((c) => c.route.method === (method as HttpMethod) && c.pattern.test(pathname));
  return found ? { route: found.route, keepQuery: found.keepQuery } : undefined;
}

export const consoleRouteNames = (): readonly string[] => CONSOLE_ROUTES;
