/** A real HTTP server publishing a JWKS the test controls, counting fetches. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestKey } from '../../support/memory';

export interface JwksServer {
  readonly url: string;
  /** Requests received so far. */
  hits: number;
  /** What the next fetches get. */
  keys: TestKey[];
  status: number;
  /** Replaces the body (e.g. junk); undefined serves `keys`. */
  body: string | undefined;
  /** Headers of the last request. */
  lastHeaders: Record<string, string | string[] | undefined>;
  close(): Promise<void>;
}

export const publicJwk = (key: TestKey) => ({ ...(key.publicKey.export({ format: 'jwk' }) as Record<string, string>), kid: key.kid, alg: 'ES256', use: 'sig' });

export async function startJwksServer(keys: TestKey[]): Promise<JwksServer> {
  const state = { hits: 0, keys, status: 200, body: undefined as string | undefined, lastHeaders: {} as Record<string, string | string[] | undefined> };
  const server: Server = createServer((req, res) => {
    state.hits++;
    state.lastHeaders = req.headers;
    res.writeHead(state.status, { 'content-type': 'application/json' });
    res.end(state.body ?? JSON.stringify({ keys: state.keys.map(publicJwk) }));
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks.json`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
