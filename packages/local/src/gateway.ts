/**
 * A local stand-in for API Gateway (REST, v1 proxy integration). It serves the same route table
 * as the CDK stack, builds the same event shapes Lambda receives in AWS, runs the REQUEST
 * authorizer before protected routes and SigV4 checks before IAM routes, and answers the way API
 * Gateway does when those say no.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayProxyResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { ApiHandler } from '@attestor/service/handlers/http';
import type { AuthorizerHandler } from '@attestor/service/handlers/authorizer';
import type { Logger } from '@attestor/service/handlers/log';
import { AUTHORIZER_UNAVAILABLE_RESPONSE, ROUTES, type Route } from '@attestor/contracts/routes';
import { TOKEN_HEADER_NAME } from '@attestor/contracts/protocol';
import { LOCAL_ACCOUNT_ID, localPrincipal } from '@attestor/contracts/local-state';
import type { AddressInfo } from 'node:net';
import { listen } from './listen';
import { verifySigV4, type CredentialLookup } from './sigv4';

export { LOCAL_ACCOUNT_ID };
export const LOCAL_API_ID = 'local';
export const LOCAL_STAGE = 'prod';
/** API Gateway's payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

export interface GatewayOptions {
  readonly handlers: Readonly<Record<Route['lambda'], ApiHandler>>;
  readonly authorizer: AuthorizerHandler;
  /**
   * The authorizer's identity source header: a request without it gets 401 and the authorizer is
   * not called, as API Gateway does. null: no identity source (monitor mode), the authorizer sees
   * every request. @default TOKEN_HEADER_NAME
   */
  readonly authorizerIdentityHeader?: string | null;
  /** Every admin credential the gateway accepts (the operator's and the tenants'). */
  readonly adminCredentials: CredentialLookup;
  readonly logger: Logger;
  readonly port: number;
  readonly host?: string;
  readonly region?: string;
  /**
   * A server already listening on `host` (`port` is then ignored): the local cloud binds its port
   * before it writes anything, so a port in use costs nothing. Its request listeners are replaced.
   */
  readonly server?: Server;
}

export interface Gateway {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly params: string[];
}

function compile(route: Route): CompiledRoute {
  const params: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const m = segment.match(/^\{(\w+)\}$/);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(m[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), params };
}

const COMPILED = ROUTES.map(compile);

/**
 * Which function's code is running (the authorizer, or a route's Lambda): in AWS each has its own
 * role, here they share the service's clients. Tests read it from an SDK middleware to hold every
 * call a function makes against that function's IAM policy.
 */
const runningFunction = new AsyncLocalStorage<Route['lambda'] | 'authorizer'>();
export function currentFunction(): Route['lambda'] | 'authorizer' | undefined {
  return runningFunction.getStore();
}

function send(res: ServerResponse, statusCode: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(statusCode, { 'content-type': 'application/json', ...headers, 'x-amzn-requestid': randomUUID() });
  res.end(body);
}

const message = (text: string) => JSON.stringify({ message: text });

/** The request's URL, or undefined when it does not parse or its path does not percent-decode (what decodeURIComponent would throw on). */
function parseRequestTarget(target: string | undefined): URL | undefined {
  try {
    const url = new URL(target ?? '/', 'http://localhost');
    decodeURIComponent(url.pathname);
    return url;
  } catch {
    return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function singleAndMulti(entries: Iterable<[string, string | string[] | undefined]>) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    multi[name] = values;
    single[name] = values[values.length - 1]!;
  }
  return { single, multi };
}

/** Header names keep the client's casing, as in API Gateway REST events. */
function rawHeaders(req: IncomingMessage): Iterable<[string, string[]]> {
  const byName = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    byName.set(name, [...(byName.get(name) ?? []), req.rawHeaders[i + 1]!]);
  }
  return byName;
}

/** Does an IAM policy from an authorizer allow `methodArn`? Explicit Deny wins, as in IAM. */
export function policyAllows(result: APIGatewayAuthorizerResult, methodArn: string): boolean {
  const matches = (resource: string) => new RegExp(`^${resource.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(methodArn);
  let allowed = false;
  for (const statement of result.policyDocument?.Statement ?? []) {
    const s = statement as { Effect: string; Resource?: string | string[]; Action?: string | string[] };
    const resources = Array.isArray(s.Resource) ? s.Resource : s.Resource ? [s.Resource] : [];
    if (!resources.some(matches)) continue;
    if (s.Effect === 'Deny') return false;
    if (s.Effect === 'Allow') allowed = true;
  }
  return allowed;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const region = options.region ?? 'us-east-1';
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // API Gateway refuses a request line it cannot parse, or a path with a malformed percent-escape
    // (`/v1/admin/uploads/%`), with 400 before routing or authenticating anything.
    const url = parseRequestTarget(req.url);
    if (!url) return send(res, 400, message('Bad Request: the request path is malformed (a % must start a percent-escape of UTF-8)'));
    const method = (req.method ?? 'GET').toUpperCase();
    const found = COMPILED.map((c) => ({ c, m: url.pathname.match(c.pattern) })).filter((x) => x.m);
    const hit = found.find((x) => x.c.route.method === method);
    // API Gateway answers unknown resources and methods this way, not with 404.
    if (!hit) return send(res, 403, message('Missing Authentication Token'));
    const { route, params } = hit.c;
    const body = await readBody(req);
    if (!body) return send(res, 413, message('Request Too Long'));

    const headers = singleAndMulti(rawHeaders(req));
    // API Gateway tells the backend how the client connected, overriding whatever the client sent.
    for (const name of Object.keys(headers.single)) {
      if (name.toLowerCase() !== 'x-forwarded-proto') continue;
      delete headers.single[name];
      delete headers.multi[name];
    }
    headers.single['X-Forwarded-Proto'] = 'http';
    headers.multi['X-Forwarded-Proto'] = ['http'];
    const query = singleAndMulti([...new Set(url.searchParams.keys())].map((k) => [k, url.searchParams.getAll(k)] as [string, string[]]));
    const pathParameters = Object.fromEntries(params.map((name, i) => [name, decodeURIComponent(hit.m![i + 1]!)]));
    const requestId = randomUUID();
    const methodArn = `arn:aws:execute-api:${region}:${LOCAL_ACCOUNT_ID}:${LOCAL_API_ID}/${LOCAL_STAGE}/${method}${url.pathname}`;
    const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
    const requestContext: APIGatewayProxyEvent['requestContext'] = {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: headers.single['User-Agent'] ?? headers.single['user-agent'] ?? null,
        userArn: null,
      },
      // The path the client addressed: the local gateway serves the stage at the root, like a custom
      // domain mapped without a base path (proofs of possession are checked against it).
      path: url.pathname,
      stage: LOCAL_STAGE,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: route.path,
      resourcePath: route.path,
    };

    if (route.auth === 'iam') {
      const verdict = await verifySigV4(
        { method, path: url.pathname, query: query.multi, headers: headers.single, body },
        options.adminCredentials,
      );
      if (!verdict.ok) return send(res, verdict.status, message(verdict.message));
      requestContext.identity = {
        ...requestContext.identity,
        accessKey: verdict.accessKeyId,
        accountId: LOCAL_ACCOUNT_ID,
        caller: verdict.accessKeyId,
        user: verdict.accessKeyId,
        // As API Gateway does for IAM users: the admin handler maps this ARN to a tenant.
        userArn: localPrincipal(verdict.accessKeyId),
      };
    }

    if (route.auth === 'attestation') {
      const identityHeader = options.authorizerIdentityHeader === undefined ? TOKEN_HEADER_NAME : options.authorizerIdentityHeader;
      if (identityHeader !== null) {
        const tokenHeader = Object.keys(headers.single).find((name) => name.toLowerCase() === identityHeader.toLowerCase());
        // With a header identity source, API Gateway rejects a request lacking it without calling the authorizer.
        if (!tokenHeader || headers.single[tokenHeader] === '') return send(res, 401, message('Unauthorized'));
      }
      const authEvent: APIGatewayRequestAuthorizerEvent = {
        type: 'REQUEST',
        methodArn,
        resource: route.path,
        path: url.pathname,
        httpMethod: method,
        headers: headers.single,
        multiValueHeaders: headers.multi,
        pathParameters,
        queryStringParameters: query.single,
        multiValueQueryStringParameters: query.multi,
        stageVariables: null,
        requestContext: requestContext as unknown as APIGatewayRequestAuthorizerEvent['requestContext'],
      };
      let result: APIGatewayAuthorizerResult;
      try {
        result = await runningFunction.run('authorizer', () => options.authorizer(authEvent));
      } catch {
        // A failing authorizer never lets the request through; the stack's gateway responses for
        // authorizer failures answer 503 with Retry-After (AUTHORIZER_UNAVAILABLE_RESPONSE), and so does this.
        const { status, retryAfterSeconds, body } = AUTHORIZER_UNAVAILABLE_RESPONSE;
        return send(res, status, JSON.stringify(body), { 'retry-after': String(retryAfterSeconds) });
      }
      if (!policyAllows(result, methodArn)) return send(res, 403, message('User is not authorized to access this resource with an explicit deny'));
      requestContext.authorizer = { principalId: result.principalId, ...(result.context ?? {}) };
    }

    const event: APIGatewayProxyEvent = {
      resource: route.path,
      path: url.pathname,
      httpMethod: method,
      headers: headers.single,
      multiValueHeaders: headers.multi,
      queryStringParameters: Object.keys(query.single).length ? query.single : null,
      multiValueQueryStringParameters: Object.keys(query.multi).length ? query.multi : null,
      pathParameters: params.length ? pathParameters : null,
      stageVariables: null,
      requestContext,
      body: body.length ? body.toString('utf8') : null,
      isBase64Encoded: false,
    };
    let result: APIGatewayProxyResult;
    try {
      result = await runningFunction.run(route.lambda, () => options.handlers[route.lambda](event));
    } catch (error) {
      options.logger.error('lambda_crashed', { lambda: route.lambda, errorName: (error as Error)?.name });
      return send(res, 502, message('Internal server error'));
    }
    const responseHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) responseHeaders[k] = String(v);
    const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
    res.writeHead(result.statusCode, { ...responseHeaders, 'x-amzn-requestid': requestId });
    res.end(payload);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      options.logger.error('gateway_error', { errorName: (error as Error)?.name, errorMessage: (error as Error)?.message });
      if (!res.headersSent) send(res, 500, message('Internal server error'));
      else res.destroy();
    });
  };
  let server: Server;
  let port: number;
  if (options.server) {
    server = options.server;
    server.removeAllListeners('request');
    server.on('request', onRequest);
    port = (server.address() as AddressInfo).port;
  } else {
    server = createServer(onRequest);
    port = await listen(server, options.port, options.host ?? '127.0.0.1');
  }
  // Keep-alive sockets would hold close() open; the SDK and CLI reconnect cheaply.
  server.keepAliveTimeout = 1000;
  return {
    endpoint: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      }),
  };
}
