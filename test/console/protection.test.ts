/**
 * The console's local server holds the operator's credential, so it must sign nothing for anyone
 * but the page it served: requests without the session token, for another Host (DNS rebinding),
 * from another Origin or site, and CORS preflights are refused before anything is signed, and the
 * token is written nowhere but the one link on stdout. The admin API here is a fake that checks
 * every signature independently and records what reached it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_HARDWARE_POLICY } from '@attestor/contracts/admin-api';
import { startFakeServer, TEST_CREDENTIALS, verifyReceived, writeLocalCredentials, type FakeServer } from '../cli/helpers';
import { rawRequest, startConsole, type RawResponse, type RunningConsole } from './support';

let admin: FakeServer;
let home: string;
let consoleRun: RunningConsole;
let cookie: string;

beforeAll(async () => {
  admin = await startFakeServer(async (req) => {
    const verdict = await verifyReceived(req, TEST_CREDENTIALS);
    if (!verdict.ok) return { status: 403, json: { message: `bad signature: ${verdict.reason}` } };
    if (req.url === '/v1/admin/apps') return { json: { apps: [{ appId: 'com.example.app', createdAt: 1 }] } };
    if (req.url.startsWith('/v1/admin/apps/com.example.app/policy')) {
      return { json: { reject: { rooted: true, emulator: false, debugger: false, hooked: true } } };
    }
    return { status: 404, json: { error: 'not_found', message: 'no such thing' } };
  });
  home = mkdtempSync(join(tmpdir(), 'attestor-console-protection-'));
  writeLocalCredentials(home);
  consoleRun = await startConsole({ ATTESTOR_HOME: home, ATTESTOR_ENDPOINT: admin.endpoint }, home);
  const login = await get('/?token=' + consoleRun.token);
  cookie = String(login.headers['set-cookie']).split(';')[0]!;
});
afterAll(async () => {
  await consoleRun?.stop();
  await admin?.close();
  rmSync(home, { recursive: true, force: true });
});
beforeEach(() => admin.received.splice(0));

const get = (path: string, headers: Record<string, string> = {}) => rawRequest(consoleRun.port, { path, headers });
const withCookie = (headers: Record<string, string> = {}) => ({ cookie, ...headers });

/** A refusal: 403, the console's plain page, no CORS permission, and nothing signed or sent to the admin API. */
function expectRefused(response: RawResponse): void {
  expect(response.status).toBe(403);
  expect(response.body).toContain('open the link that');
  expect(response.body).not.toContain(consoleRun.token);
  expect(Object.keys(response.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  expect(admin.received).toEqual([]);
}

describe('the session token', () => {
  it('is 32 random bytes and appears on stdout once, as the link, and nowhere on stderr', () => {
    expect(consoleRun.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(consoleRun.loginUrl).toBe(`http://127.0.0.1:${consoleRun.port}/?token=${consoleRun.token}`);
    expect(consoleRun.stdout.lines).toEqual([consoleRun.loginUrl]);
    expect(consoleRun.stderr.text).toContain(`at http://127.0.0.1:${consoleRun.port}`);
  });

  it('the link answers with an HttpOnly, SameSite=Strict session cookie and a page that moves on by itself', async () => {
    const login = await get('/?token=' + consoleRun.token);
    expect(login.status).toBe(200);
    expect(login.headers['set-cookie']).toEqual([`attestor_console_${consoleRun.port}=${consoleRun.token}; Path=/; HttpOnly; SameSite=Strict`]);
    expect(login.body).toContain('<meta http-equiv="refresh" content="0;url=/">');
    expect(login.body).not.toContain(consoleRun.token);
  });

  it('without it every path is refused: the page, its assets, the admin routes and the console endpoints', async () => {
    for (const path of ['/', '/assets/main.js', '/assets/uplot.js', '/v1/admin/apps', '/console/session', '/console/verdicts']) {
      expectRefused(await get(path));
    }
  });

  it('a wrong token is refused, in the link, the cookie or the header', async () => {
    const wrong = consoleRun.token.slice(0, -1) + (consoleRun.token.endsWith('A') ? 'B' : 'A');
    expectRefused(await get('/?token=' + wrong));
    expectRefused(await get('/v1/admin/apps', { cookie: `attestor_console_${consoleRun.port}=${wrong}` }));
    expectRefused(await get('/v1/admin/apps', { 'x-attestor-console-token': wrong }));
    // Another console's cookie (another port) is not this one's.
    expectRefused(await get('/v1/admin/apps', { cookie: `attestor_console_1=${consoleRun.token}` }));
  });

  it('the token in a link to anything but the page, or in an unsafe request, is refused', async () => {
    expectRefused(await get('/v1/admin/apps?token=' + consoleRun.token));
    expectRefused(await rawRequest(consoleRun.port, { method: 'POST', path: '/?token=' + consoleRun.token, headers: { origin: consoleRun.origin } }));
  });

  it('with it (cookie or header) the page, assets and admin routes answer', async () => {
    const page = await get('/', withCookie());
    expect(page.status).toBe(200);
    expect(page.body).toContain('<script type="module" src="/assets/main.js"></script>');
    expect((await get('/assets/uplot.js', withCookie())).headers['content-type']).toBe('text/javascript; charset=utf-8');
    const apps = await get('/v1/admin/apps', { 'x-attestor-console-token': consoleRun.token });
    expect({ status: apps.status, body: JSON.parse(apps.body) as unknown }).toEqual({
      status: 200,
      body: { apps: [{ appId: 'com.example.app', createdAt: 1 }] },
    });
  });

  it('the session carries DEFAULT_HARDWARE_POLICY, which the policy page shows for a service that sends no hardware settings', async () => {
    const session = await get('/console/session', withCookie());
    expect(session.status).toBe(200);
    expect(JSON.parse(session.body)).toMatchObject({ endpoint: admin.endpoint, local: true, defaultHardwarePolicy: DEFAULT_HARDWARE_POLICY });
  });
});

describe('requests from elsewhere', () => {
  it('another Host is refused even with the session cookie: a rebound DNS name, localhost, another port', async () => {
    const port = consoleRun.port;
    for (const host of [`evil.example:${port}`, `localhost:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1', `[::1]:${port}`]) {
      const response = await get('/v1/admin/apps', withCookie({ host }));
      expect({ host, status: response.status }).toEqual({ host, status: 403 });
      expectRefused(response);
    }
  });

  it('another Origin is refused, and an unsafe request without one', async () => {
    expectRefused(await get('/v1/admin/apps', withCookie({ origin: 'http://evil.example' })));
    expectRefused(await get('/v1/admin/apps', withCookie({ origin: `http://localhost:${consoleRun.port}` })));
    expectRefused(await rawRequest(consoleRun.port, { method: 'POST', path: '/v1/admin/keys/rotate', headers: withCookie(), body: '{}' }));
    const policy = '/v1/admin/apps/com.example.app/policy';
    expectRefused(await rawRequest(consoleRun.port, { method: 'PUT', path: policy, headers: withCookie({ origin: 'null' }), body: '{}' }));
  });

  it('a request another site started is refused (Sec-Fetch-Site), though the browser would send the cookie', async () => {
    expectRefused(await get('/v1/admin/apps', withCookie({ 'sec-fetch-site': 'cross-site' })));
    expectRefused(await get('/v1/admin/apps', withCookie({ 'sec-fetch-site': 'same-site' })));
    expect((await get('/v1/admin/apps', withCookie({ 'sec-fetch-site': 'same-origin' }))).status).toBe(200);
  });

  it('a CORS preflight gets no permission', async () => {
    const preflight = await rawRequest(consoleRun.port, {
      method: 'OPTIONS',
      path: '/v1/admin/keys/rotate',
      headers: withCookie({ origin: consoleRun.origin, 'access-control-request-method': 'POST' }),
    });
    expectRefused(preflight);
  });

  it('every answer, refusals included, forbids framing, sniffing, referrers and scripts from anywhere else', async () => {
    for (const response of [await get('/', withCookie()), await get('/')]) {
      expect(response.headers).toMatchObject({
        'content-security-policy': expect.stringContaining("default-src 'none'; script-src 'self'; style-src 'self'"),
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
  });
});

describe('what the console signs', () => {
  it('passes on only the admin routes its pages use, and nothing outside the admin API', async () => {
    for (const [method, path] of [
      ['GET', '/v1/admin/keys/secrets'],
      ['POST', '/v1/admin/tenants'],
      ['GET', '/v1/admin/tenants'],
      ['POST', '/v1/admin/apps/com.example.app/uploads'],
      // Dot segments are resolved before the route is judged, so they cannot reach a route that is not passed on.
      ['GET', '/v1/admin/apps/%2e%2e/tenants'],
      ['GET', '/v1/admin/apps/com.example.app/../../keys/secrets'],
      ['GET', '/v1/admin/apps/com.example.app/registrations/%2F..%2F..%2Fkeys%2Fsecrets'],
      ['POST', '/v1/attest'],
    ] as const) {
      const headers = withCookie({ origin: consoleRun.origin });
      const response = await rawRequest(consoleRun.port, { method, path, headers, body: method === 'POST' ? '{}' : undefined });
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
    expect(admin.received).toEqual([]);
  });

  it('signs what it passes on with the CLI credential, and forwards neither the cookie nor the token', async () => {
    const response = await rawRequest(consoleRun.port, {
      method: 'PUT',
      path: '/v1/admin/apps/com.example.app/policy',
      headers: withCookie({ origin: consoleRun.origin, 'content-type': 'application/json', 'x-attestor-console-token': consoleRun.token }),
      body: JSON.stringify({ reject: { rooted: true, emulator: false, debugger: false, hooked: true } }),
    });
    expect(response.status).toBe(200);
    expect(admin.received).toHaveLength(1);
    const sent = admin.received[0]!;
    expect(await verifyReceived(sent, TEST_CREDENTIALS)).toEqual({ ok: true });
    expect(JSON.parse(sent.body.toString('utf8'))).toEqual({ reject: { rooted: true, emulator: false, debugger: false, hooked: true } });
    expect(JSON.stringify(sent.headers)).not.toContain(consoleRun.token);
    expect(sent.headers['cookie']).toBeUndefined();
  });

  it('refuses a body larger than the admin API takes without passing it on', async () => {
    const response = await rawRequest(consoleRun.port, {
      method: 'PUT',
      path: '/v1/admin/apps/com.example.app/policy',
      headers: withCookie({ origin: consoleRun.origin, 'content-type': 'application/json' }),
      body: JSON.stringify({ note: 'x'.repeat(20_000) }),
    });
    expect(response.status).toBe(413);
    expect(admin.received).toEqual([]);
  });
});

describe('after the session', () => {
  it('the token was never written to stderr, whatever was refused and logged', () => {
    expect(consoleRun.stderr.text).toContain('refused GET /v1/admin/apps: wrong Host');
    expect(consoleRun.stderr.text).not.toContain(consoleRun.token);
    expect(consoleRun.stdout.text.split(consoleRun.token)).toHaveLength(2);
  });

  it('Ctrl-C stops it with exit code 0, and the port is closed', async () => {
    const port = consoleRun.port;
    await expect(consoleRun.stop()).resolves.toBe(0);
    await expect(rawRequest(port, { path: '/' })).rejects.toThrow(/ECONNREFUSED/);
    expect(consoleRun.stderr.lines.at(-1)).toBe('console stopped');
  });
});
