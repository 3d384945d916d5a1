// docs/ENFORCEMENT.md "The library: @attestor/verify", as a backend runs it with the package alone:
// the middleware on node:http (it takes Express's or connect's req and res as well) and
// createVerifier "anywhere else". CommonJS, so it loads the `require` build. Prints JSON lines.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attestationOf, attestorMiddleware, createVerifier, TokenVerificationError } from '@attestor/verify';

// The secrets `attestor keys secret --json` printed, kept in your secret store (here an environment variable).
const secrets = JSON.parse(process.env['ATTESTOR_SECRETS']!);

const middleware = attestorMiddleware({
  issuer: 'attestor',
  secrets,
  mode: 'enforce',
  onResult: (outcome) => console.log(JSON.stringify({ onResult: outcome.result === 'valid' ? 'valid' : outcome.code })),
});
const server = createServer((req, res) => middleware(req, res, () => res.end(JSON.stringify({ app: attestationOf(req)?.sub }))));

// anywhere else
const verifier = createVerifier({ issuer: 'attestor', secrets });

async function verdict(token: string): Promise<string> {
  try {
    const claims = await verifier.verify(token);
    return `valid ${claims.sub}`;
  } catch (error) {
    if (error instanceof TokenVerificationError) return `denied ${error.code}`;
    throw error; // keys unreachable: deny too
  }
}

async function main() {
  const token = process.argv[2]!;
  // One character of the MAC changed: a forged token, as an attacker would send it.
  const forged = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.slice(-1);
  console.log(JSON.stringify({ verifier: { genuine: await verdict(token), forged: await verdict(forged) } }));

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/orders`;
  for (const [label, headers] of [['genuine', { 'Attestor-Token': token }], ['forged', { 'Attestor-Token': forged }], ['none', {}]] as const) {
    const res = await fetch(url, { headers });
    console.log(JSON.stringify({ middleware: label, status: res.status, body: await res.text() }));
  }
  server.close();
}
void main();
