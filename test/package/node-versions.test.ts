/**
 * Supported Node versions, per package, and the Node the suite runs on:
 * - the client packages (@attestor/sdk, /verify, /contracts which /verify depends on, /hardware)
 *   support Node 20.19+: they run in apps and customers' backends whose Node their owners choose,
 *   need only WebCrypto, fetch and node:crypto, and install.test.ts runs them on exactly 20.19.0;
 * - the packages that are, run or operate the service (@attestor/service, /local, /cli, /cdk) need the Lambda
 *   runtime's major, FUNCTION_NODE_MAJOR, the only one they are tested on;
 * - the repository runs everything (npm start, npm test, cdk) on that major, through its node
 *   devDependency, which npm puts first on PATH for every script.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTION_RUNTIME } from '@attestor/cdk/service-function';
import { FUNCTION_NODE_MAJOR } from '@attestor/contracts/routes';
import { ROOT } from './scratch';

type Json = Record<string, any>;
const manifest = (path: string): Json => JSON.parse(readFileSync(join(ROOT, path, 'package.json'), 'utf8')) as Json;

const CLIENT_FLOOR = '>=20.19';
const POLICY: Readonly<Record<string, string>> = {
  sdk: CLIENT_FLOOR,
  verify: CLIENT_FLOOR,
  contracts: CLIENT_FLOOR,
  hardware: CLIENT_FLOOR,
  local: `>=${FUNCTION_NODE_MAJOR}`,
  cli: `>=${FUNCTION_NODE_MAJOR}`,
  cdk: `>=${FUNCTION_NODE_MAJOR}`,
  service: `>=${FUNCTION_NODE_MAJOR}`,
};

test('the suite runs on the Lambda runtime\'s major, as the repository\'s node devDependency provides it', () => {
  expect(FUNCTION_RUNTIME.name).toBe(`nodejs${FUNCTION_NODE_MAJOR}.x`);
  expect(Number(process.versions.node.split('.')[0])).toBe(FUNCTION_NODE_MAJOR);
  const root = manifest('.');
  expect(root['devDependencies']['node']).toMatch(new RegExp(`^\\^${FUNCTION_NODE_MAJOR}\\.`));
  // npm runs a dependency's install scripts only when allowed; the node package's preinstall fetches the binary.
  expect(root['allowScripts']).toMatchObject({ node: true });
  expect(manifest('node_modules/node')['version']).toMatch(new RegExp(`^${FUNCTION_NODE_MAJOR}\\.`));
});

test.each(Object.entries(POLICY))('@attestor/%s supports Node %s, and its README says why', (name, range) => {
  expect(manifest(join('packages', name))['engines']).toEqual({ node: range });
  const readme = readFileSync(join(ROOT, 'packages', name, 'README.md'), 'utf8');
  expect(readme).toMatch(range === CLIENT_FLOOR ? /Node 20\.19 or newer/ : new RegExp(`Node ${FUNCTION_NODE_MAJOR} or newer`));
});
