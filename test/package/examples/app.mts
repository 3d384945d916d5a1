// README "Add attestation to your app", step 2, as an installed app runs it: the endpoint comes
// from ATTESTOR_ENDPOINT (the test's local cloud listens on a free port), and the token is printed
// last for a backend to verify. ESM, so it loads the SDK's `import` build and .d.mts types.
import { AttestorClient } from '@attestor/sdk';
import { fileKeyStore, filePackageSource } from '@attestor/sdk/node';

const endpoint = process.env['ATTESTOR_ENDPOINT'] ?? 'http://127.0.0.1:3000'; // your Attestor deployment

const attestor = new AttestorClient({
  endpoint,
  appId: 'com.example.quickstart', // as registered
  appVersion: '1.0.0',
  packageSource: filePackageSource(process.argv[2] ?? 'my-app.bin'), // the registered bytes; hashed once per process
  keyStore: fileKeyStore('.attestor-install-key.json'), // this install's key, made on first run; keep it private
  hosts: [endpoint], // where tokens may go: your API only
  onEvent: (event) => console.log('attestor event:', JSON.stringify(event)),
});

async function main() {
  await attestor.prefetch(); // optional: attest at start-up so the first request does not wait
  const response = await attestor.fetch(`${endpoint}/demo/hello`); // fetch + Attestor-Token
  console.log(response.status, await response.text());
  console.log('token:', await attestor.getToken());
}
void main();
