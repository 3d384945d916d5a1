/**
 * docs/ENFORCEMENT.md's `sigV4Fetch` block, run as written: compiled from the doc, loaded by a plain
 * `node` from the built @attestor/verify (no source condition), with the AWS SDK's default credential
 * chain reading the local cloud's operator credential from the environment, as a backend's role
 * would be read in AWS. It verifies an es256 token of the local cloud against the JWKS it fetched
 * from the IAM-authorized admin route, and denies a decoy's.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { startLocalCloud, type LocalCloud } from '../../packages/local/src/cloud';
import { KEY_PUBLICATION_SECONDS } from '../../packages/service/src/core/tenant-keys';
import { registerBuildForTest, signedAdminFetch } from '../support/local-admin';
import { ManualClock } from '../support/memory';
import { attestOnce, newInstallKey } from '../support/protocol-client';

const ROOT = resolve(__dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'ENFORCEMENT.md');
const APP = 'com.example.backend-es256';
const build = randomBytes(2048);
let dataDir: string;
let cloud: LocalCloud;
let script: string;

/** The ```ts block that imports sigV4Fetch, with lines that verify argv[2] and print the outcome as JSON. */
function docExample(): string {
  const blocks = [...readFileSync(DOC, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes("import { sigV4Fetch } from '@attestor/verify/aws'"));
  if (!block) throw new Error('docs/ENFORCEMENT.md has no ts block importing sigV4Fetch');
  const run = `
verifier.verify(process.argv[2]).then(
  (claims) => console.log(JSON.stringify({ sub: claims.sub, alg: 'ES256' })),
  (error) => console.log(JSON.stringify({ denied: error.code ?? error.name })),
).then(() => process.exit(0));
`;
  return ts.transpileModule(block + run, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
}

beforeAll(async () => {
  // Prepare: the service's clock starts a publication period behind, so that once the es256 key
  // signs it is the real time again, which the example's verifier (on the system clock) checks against.
  dataDir = mkdtempSync(join(tmpdir(), 'attestor-verify-aws-doc-'));
  const clock = new ManualClock(Math.floor(Date.now() / 1000) - KEY_PUBLICATION_SECONDS);
  cloud = await startLocalCloud({ dataDir, port: 0, clock });
  await registerBuildForTest(cloud, { appId: APP, version: '1.0.0', bytes: build });
  expect((await signedAdminFetch(cloud, 'POST', '/v1/admin/keys/rotate', { format: 'es256' })).status).toBe(201);
  clock.advance(KEY_PUBLICATION_SECONDS);
  script = join(dataDir, 'backend.js');
  writeFileSync(script, docExample());
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function runExample(token: string, credentials: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [script, token], {
    cwd: dataDir,
    env: {
      PATH: process.env['PATH'],
      // The example's imports resolve to the repository's packages, from their built dist/.
      NODE_PATH: join(ROOT, 'node_modules'),
      HOME: dataDir,
      ATTESTOR_API_URL: `${cloud.endpoint}/`,
      ATTESTOR_TENANT_ID: 'default',
      AWS_REGION: cloud.adminCredentials.region,
      AWS_ACCESS_KEY_ID: cloud.adminCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: cloud.adminCredentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...credentials,
    },
    timeout: 20_000,
  });
}

const tokenFor = async (bytes: Uint8Array) =>
  (await attestOnce(cloud.endpoint, { appId: APP, appVersion: '1.0.0', packageBytes: bytes, key: newInstallKey() })).body['token'] as string;

test("the doc's signed-fetch verifier verifies an es256 token with the JWKS from the admin route, and denies a decoy's", async () => {
  // Prepare
  const genuine = await tokenFor(build);
  const decoy = await tokenFor(Buffer.from('repackaged'));
  expect(JSON.parse(Buffer.from(genuine.split('.')[0]!, 'base64url').toString())).toMatchObject({ alg: 'ES256' });
  // Act
  const [ok, denied] = await Promise.all([runExample(genuine), runExample(decoy)]);
  // Assess
  expect(ok).toEqual({ stdout: `${JSON.stringify({ sub: APP, alg: 'ES256' })}\n`, stderr: '' });
  expect(JSON.parse(denied.stdout)).toEqual({ denied: 'bad_signature' });
});

test('the same example without a credential the admin API accepts is denied its keys: the JWKS route is IAM-authorized', async () => {
  // Prepare: a well-formed credential that the local cloud never issued.
  const stranger = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: randomBytes(30).toString('base64') };
  // Act
  const result = await runExample(await tokenFor(build), stranger);
  // Assess: not a verdict on the token, but keys that could not be had.
  expect(JSON.parse(result.stdout)).toEqual({ denied: 'JwksFetchError' });
});
