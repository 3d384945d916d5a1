/**
 * AdminClient against a tiny local server that recomputes each SigV4 signature independently
 * with @smithy/signature-v4, from the bytes and headers that actually arrived.
 */
import { AdminClient } from '../../packages/cli/src/admin-client';
import { CliError, HttpStatusError } from '../../packages/cli/src/errors';
import { closedPort, startFakeServer, TEST_CREDENTIALS, verifyReceived, type FakeServer } from './helpers';

let server: FakeServer;
const creds = { accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: TEST_CREDENTIALS.secretAccessKey };

beforeAll(async () => {
  server = await startFakeServer(async (req) => {
    const verdict = await verifyReceived(req, { ...creds, region: TEST_CREDENTIALS.region });
    if (!verdict.ok) return { status: 403, json: { message: `bad signature: ${verdict.reason}` } };
    if (req.url.endsWith('/uploads') && req.method === 'POST') {
      return { status: 201, json: { uploadId: 'u'.repeat(22), objectKey: 'builds/x', uploadUrl: 'http://127.0.0.1:1/put', urlExpiresAt: 1 } };
    }
    if (req.url.split('?')[0]!.endsWith('/keys/jwks')) return { json: { keys: [{ kid: 'k1', alg: 'ES256', use: 'sig' }] } };
    if (req.url.endsWith('/bad'))
      return { status: 400, json: { error: 'invalid_request', field: 'version', message: 'version must be at most 64 characters' } };
    if (req.url.endsWith('/fault')) return { status: 500, json: { error: 'internal_error' } };
    if (req.url.endsWith('/hung')) return new Promise(() => undefined);
    if (req.url.endsWith('/html')) return { status: 502, text: '<html>\nBad gateway\n</html>' };
    return { status: 403, json: { message: 'Missing Authentication Token' } };
  });
});
afterAll(() => server.close());
beforeEach(() => server.received.splice(0));

const client = (endpoint = server.endpoint, extra: Partial<ConstructorParameters<typeof AdminClient>[0]> = {}) =>
  new AdminClient({ endpoint, credentials: creds, region: TEST_CREDENTIALS.region, ...extra });

describe('AdminClient signing', () => {
  it('signs a POST with a JSON body so that an independent SigV4 recomputation agrees', async () => {
    const ticket = await client().createUpload('com.example.app', { version: '1.0.0', size: 123, note: 'ünïcode note' });
    expect(ticket.uploadId).toHaveLength(22);
    const [req] = server.received;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/v1/admin/apps/com.example.app/uploads');
    expect(JSON.parse(req!.body.toString('utf8'))).toEqual({ version: '1.0.0', size: 123, note: 'ünïcode note' });
    const signed = String(req!.headers['authorization']).match(/SignedHeaders=([^,]+)/)![1]!.split(';');
    expect(signed).toEqual(expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256', 'content-type']));
    expect(await verifyReceived(req!, { ...creds, region: TEST_CREDENTIALS.region })).toEqual({ ok: true });
  });

  it('signs a GET and keeps a stage path of the endpoint in the signed path', async () => {
    await expect(client(`${server.endpoint}/prod/`).jwks()).resolves.toEqual({ keys: [{ kid: 'k1', alg: 'ES256', use: 'sig' }] });
    expect(server.received[0]!.url).toBe('/prod/v1/admin/keys/jwks');
  });

  it('signs a query string', async () => {
    await client().request('GET', '/v1/admin/keys/jwks?b=2&a=1&a=0');
    expect(server.received[0]!.url).toBe('/v1/admin/keys/jwks?b=2&a=1&a=0');
    expect(await verifyReceived(server.received[0]!, { ...creds, region: TEST_CREDENTIALS.region })).toEqual({ ok: true });
  });

  it('sends and signs a session token from a credential provider', async () => {
    const provided = { ...creds, sessionToken: 'session-token-value' };
    const c = new AdminClient({ endpoint: server.endpoint, credentials: async () => provided, region: TEST_CREDENTIALS.region });
    await c.jwks().catch(() => undefined);
    const req = server.received[0]!;
    expect(req.headers['x-amz-security-token']).toBe('session-token-value');
    expect(await verifyReceived(req, { ...provided, region: TEST_CREDENTIALS.region })).toEqual({ ok: true });
  });

  it('is refused by the verifier when signed with another secret or region (negative control)', async () => {
    await expect(client(server.endpoint, { credentials: { ...creds, secretAccessKey: 'wrong' } }).jwks()).rejects.toThrow(/signature mismatch/);
    await expect(client(server.endpoint, { region: 'us-east-1' }).jwks()).rejects.toThrow(/wrong scope/);
  });

  it('a body altered after signing no longer verifies', async () => {
    await client().createUpload('com.example.app', { version: '1.0.0', size: 1 });
    const req = server.received[0]!;
    const tampered = { ...req, body: Buffer.from(req.body.toString().replace('"size":1', '"size":2')) };
    expect((await verifyReceived(tampered, { ...creds, region: TEST_CREDENTIALS.region })).ok).toBe(false);
  });
});

describe('AdminClient errors', () => {
  it('turns an error status into one line carrying the service message', async () => {
    const error = await client().request('GET', '/bad').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).status).toBe(400);
    expect((error as Error).message).toBe('the service refused GET (400): version must be at most 64 characters');
  });

  it('explains API Gateway\'s 403 for an unknown route', async () => {
    await expect(client().request('GET', '/nowhere')).rejects.toThrow(/no such route here; check --endpoint/);
  });

  it('keeps non-JSON error pages to the status, and names a 5xx without the admin API\'s error code as a gateway\'s or another server\'s', async () => {
    const error = await client()
      .request('GET', '/html')
      .catch((e: unknown) => e as Error);
    const { message } = error as Error;
    expect(message).toMatch(/^the server at http:\/\/127\.0\.0\.1:\d+ answered 502 to GET \/html without the admin API's error code: a gateway /);
    expect(message).toMatch(/\(a function that crashed or timed out: see .+\) or another server at that address: check --endpoint, then try again$/);
  });

  it('points at the service logs when the service itself failed', async () => {
    await expect(client().request('GET', '/fault')).rejects.toThrow(
      'the service failed on GET (500 internal_error): check its logs (.attestor/logs/service.log), then try again',
    );
  });

  it('stops a request in flight when interrupted, with exit code 130', async () => {
    const interrupt = new AbortController();
    const pending = client(server.endpoint, { signal: interrupt.signal }).request('GET', '/hung');
    await new Promise<void>((resolve) => {
      const check = () => (server.received.some((r) => r.url === '/hung') ? resolve() : setImmediate(check));
      check();
    });
    interrupt.abort();
    const error = (await pending.catch((e: unknown) => e)) as CliError;
    expect(error).toBeInstanceOf(CliError);
    expect([error.message, error.exitCode]).toEqual(['interrupted', 130]);
  });

  it('says how to start the service when a local endpoint is unreachable', async () => {
    const port = await closedPort();
    const error = (await client(`http://127.0.0.1:${port}`).jwks().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(CliError);
    expect(error.message).toBe(`cannot reach http://127.0.0.1:${port} (ECONNREFUSED): start the service with \`npm start\` or pass --endpoint`);
  });

  it('times out a silent service', async () => {
    const silent = await startFakeServer(() => new Promise(() => undefined));
    try {
      await expect(client(silent.endpoint, { timeoutMs: 200 }).jwks()).rejects.toThrow(`${silent.endpoint} did not answer within 0.2 s`);
    } finally {
      await silent.close();
    }
  });
});
