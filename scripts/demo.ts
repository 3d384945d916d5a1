/**
 * `npm run demo`: the attestation story against a running service (`npm start`).
 * Registers a sample build with the CLI, then shows who gets through /demo/hello and who does not.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localDataDir } from '../packages/contracts/src/local-state';
import { AttestorClient, bytesPackageSource } from '../packages/sdk/src/index';
import { nodeDeviceInfo } from '../packages/sdk/src/node';

const endpoint = process.env['ATTESTOR_ENDPOINT'] ?? `http://127.0.0.1:${process.env['PORT'] ?? 3000}`;
const APP_ID = 'com.example.demo';
const VERSION = '1.0.0';

/** A deterministic 1 MiB "app package", so re-running the demo registers the same build. */
function sampleBuild(): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < 1024 * 1024; i++) blocks.push(createHash('sha256').update(`attestor-demo-${i}`).digest());
  return Buffer.concat(blocks);
}

const step = (n: number, text: string) => process.stdout.write(`\n${n}. ${text}\n`);
const show = (text: string) => process.stdout.write(`   ${text}\n`);

async function hello(token?: string): Promise<string> {
  const res = await fetch(`${endpoint}/demo/hello`, { headers: token ? { 'Attestor-Token': token } : {} });
  return `GET /demo/hello -> ${res.status} ${await res.text()}`;
}

async function main(): Promise<void> {
  try {
    await fetch(`${endpoint}/v1/challenge`, { method: 'POST', body: '{}' });
  } catch {
    process.stderr.write(`cannot reach ${endpoint}: start the service with \`npm start\` in another terminal first\n`);
    process.exit(1);
  }
  process.stdout.write(`Attestor demo against ${endpoint}\n`);

  const dir = join(localDataDir(), 'demo');
  mkdirSync(dir, { recursive: true });
  const build = sampleBuild();
  const file = join(dir, 'sample-app.bin');
  writeFileSync(file, build);

  step(1, `Register ${APP_ID} ${VERSION} (${file}) with the CLI`);
  const cli = spawnSync(
    process.execPath,
    [join(__dirname, '..', 'packages', 'cli', 'bin', 'attestor.js'), 'register', '--endpoint', endpoint, '--app', APP_ID, '--version', VERSION, file],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (cli.status !== 0) process.exit(cli.status ?? 1);
  for (const line of cli.stdout.trim().split('\n')) show(line);

  step(2, 'The genuine app asks the SDK for a token and calls the protected API');
  let lastAttestBody: string | undefined;
  const recordingFetch: typeof fetch = async (input, init) => {
    if (String(input).endsWith('/v1/attest')) lastAttestBody = init?.body as string;
    return fetch(input, init);
  };
  const genuine = new AttestorClient({
    endpoint,
    appId: APP_ID,
    appVersion: VERSION,
    packageSource: bytesPackageSource(build),
    device: nodeDeviceInfo(),
    fetch: recordingFetch,
  });
  const token = await genuine.getToken();
  show(`token: ${token.slice(0, 24)}... (${token.length} chars)`);
  show(await hello(token));

  step(3, 'A repackaged copy (one byte changed) attests too, and gets a token of the same shape');
  const tampered = Buffer.from(build);
  tampered[4096] = tampered[4096]! ^ 0xff;
  const fake = new AttestorClient({ endpoint, appId: APP_ID, appVersion: VERSION, packageSource: bytesPackageSource(tampered), device: nodeDeviceInfo() });
  const fakeToken = await fake.getToken();
  show(`token: ${fakeToken.slice(0, 24)}... (${fakeToken.length} chars: the client cannot tell it failed)`);
  show(await hello(fakeToken));

  step(4, 'A script calls the API without a token');
  show(await hello());

  step(5, 'An attacker replays the genuine app\'s captured attest request');
  const replay = await fetch(`${endpoint}/v1/attest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: lastAttestBody ?? '{}' });
  show(`POST /v1/attest (replayed) -> ${replay.status} ${await replay.text()}`);
  process.stdout.write('\nOnly the genuine, registered build got through.\n');
}

void main();
