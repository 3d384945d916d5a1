/**
 * The console's fixed list of admin routes it passes on (packages/cli/src/console/admin-routes.ts),
 * as a caller holding the session token meets it: one segment per path parameter, never an escaped
 * separator or a dot segment that a gateway decoding it could read as another route.
 */
import { consoleRoute } from '../../packages/cli/src/console/admin-routes';

test('passes a route of the list with ordinary ids, percent-escapes included', () => {
  expect(consoleRoute('GET', '/v1/admin/apps/com.example.app/policy')?.route.path).toBe('/v1/admin/apps/{appId}/policy');
  expect(consoleRoute('GET', '/v1/admin/apps/com.example%2Bapp/policy')).toBeDefined();
});

test.each([
  ['an escaped slash', '/v1/admin/apps/x%2F..%2F..%2Ftenants/policy'],
  ['an escaped slash, lower case', '/v1/admin/apps/x%2f/policy'],
  ['an escaped backslash', '/v1/admin/apps/x%5C/policy'],
  ['a dot segment', '/v1/admin/apps/../policy'],
  ['a route not on the list', '/v1/admin/tenants'],
])('refuses %s', (_, path) => {
  expect(consoleRoute('GET', path)).toBeUndefined();
});
