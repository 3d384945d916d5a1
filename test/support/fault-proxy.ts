/**
 * An HTTP proxy on 127.0.0.1 in front of the local gateway (or, with `preserveHost`, of a stand-in
 * for an AWS service: test/support/aws-faults.ts) that misbehaves on request: it delays requests,
 * answers with an error status and body, drops or resets the connection without an answer, holds a
 * request unanswered (a timeout, from the client's side), or cuts a response off mid-body. When the
 * service behind it is stopped it drops connections too, so a client sees what it would see of a
 * dead service: a network error. `setTarget` points it at a restarted local cloud on a new port.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What a fault does to a matching request. */
export type FaultAction =
  | { readonly kind: 'delay'; readonly ms: number }
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly retryAfter?: string;
      readonly body?: string;
      /** Replace the default JSON content type, add AWS's x-amzn-ErrorType and the like. */
      readonly headers?: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'drop' }
  /** A TCP reset (RST) instead of an answer. */
  | { readonly kind: 'reset' }
  /** No answer at all, until the client gives up or the proxy closes. */
  | { readonly kind: 'hang' }
  /** Forwarded, but the response is cut off (connection reset) after this many body bytes. */
  | { readonly kind: 'truncate'; readonly bytes: number };

/** What a rule can look at: the request line and headers (lower-case names). */
export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface FaultRule {
  /** Requests whose path starts with this string, or matches this RegExp. @default every request */
  readonly path?: string | RegExp;
  /** Requests this returns true for (with `path`, both must match). @default every request */
  readonly match?: (request: ProxiedRequest) => boolean;
  /** Matching requests the rule applies to before it retires. @default every one until removed */
  readonly times?: number;
  readonly action: FaultAction;
}

export interface ProxyLogEntry {
  readonly method: string;
  readonly path: string;
  /** The status sent back, or what happened instead. */
  readonly outcome: number | 'dropped' | 'upstream_down';
  /** Kinds of the faults applied, in order. */
  readonly faults: readonly FaultAction['kind'][];
  /** The request's x-amz-target header (DynamoDB and KMS name their operation there). */
  readonly target?: string;
  /** The request body, when the proxy was started with `captureBodies`. */
  readonly body?: string;
}

export interface FaultProxy {
  /** Base URL clients should use instead of the service's. */
  readonly endpoint: string;
  /** Forward to another service (e.g. a local cloud restarted on a new port). */
  setTarget(target: string): void;
  /** Adds a fault; returns a function that removes it. Rules are tried in the order they were added. */
  inject(rule: FaultRule): () => void;
  /** Removes every fault. */
  clear(): void;
  /** Every request that reached the proxy. */
  readonly log: ProxyLogEntry[];
  close(): Promise<void>;
}

interface ActiveRule {
  readonly rule: FaultRule;
  remaining: number;
}

function matches(rule: FaultRule, request: ProxiedRequest): boolean {
  if (rule.match && !rule.match(request)) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? request.path.startsWith(rule.path) : rule.path.test(request.path);
}

export interface FaultProxyOptions {
  readonly target: string;
  readonly captureBodies?: boolean;
  /**
   * Forward the client's Host header unchanged: a SigV4 signature covers it, so the S3 and KMS
   * stand-ins refuse a request whose Host was rewritten. @default false (Host names the target)
   */
  readonly preserveHost?: boolean;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  let target = new URL(options.target);
  const rules: ActiveRule[] = [];
  const log: ProxyLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  /** Requests held by a `hang` fault: released (their sockets destroyed) by clear() and close(). */
  const hung = new Set<Socket>();

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const applied: FaultAction['kind'][] = [];
    const amzTarget = req.headers['x-amz-target'];
    const record = (outcome: ProxyLogEntry['outcome']) =>
      log.push({
        method,
        path,
        outcome,
        faults: applied,
        ...(typeof amzTarget === 'string' ? { target: amzTarget } : {}),
        ...(options.captureBodies ? { body: body.toString('utf8') } : {}),
      });
    const request: ProxiedRequest = { method, path, headers: req.headers };
    let truncateAt: number | undefined;

    for (const active of [...rules]) {
      if (!matches(active.rule, request)) continue;
      if (--active.remaining <= 0) rules.splice(rules.indexOf(active), 1);
      const action = active.rule.action;
      applied.push(action.kind);
      if (action.kind === 'delay') {
        await wait(action.ms);
        continue;
      }
      if (action.kind === 'drop') {
        record('dropped');
        req.socket.destroy();
        return;
      }
      if (action.kind === 'reset') {
        record('dropped');
        req.socket.resetAndDestroy();
        return;
      }
      if (action.kind === 'hang') {
        record('dropped');
        hung.add(req.socket);
        req.socket.once('close', () => hung.delete(req.socket));
        return;
      }
      if (action.kind === 'truncate') {
        truncateAt = action.bytes;
        continue;
      }
      record(action.status);
      res.writeHead(action.status, {
        'content-type': 'application/json',
        ...(action.retryAfter !== undefined ? { 'retry-after': action.retryAfter } : {}),
        ...action.headers,
      });
      res.end(action.body ?? JSON.stringify({ message: `injected ${action.status}` }));
      return;
    }

    const headers = options.preserveHost ? req.headers : { ...req.headers, host: target.host };
    const upstream = httpRequest({ host: target.hostname, port: target.port, method, path, headers }, (answer) => {
      record(answer.statusCode ?? 0);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (truncateAt === undefined) {
        answer.pipe(res);
        return;
      }
      // Send the first bytes, then reset: the client sees a body shorter than its Content-Length.
      let left = truncateAt;
      answer.on('data', (chunk: Buffer) => {
        if (left <= 0) return;
        const part = chunk.subarray(0, left);
        left -= part.length;
        res.write(part);
        if (left <= 0) {
          answer.destroy();
          setTimeout(() => req.socket.resetAndDestroy(), 20);
        }
      });
      answer.on('end', () => res.end());
    });
    upstream.on('error', () => {
      // The service is gone: the client loses its connection, as it would without the proxy.
      record('upstream_down');
      req.socket.destroy();
    });
    upstream.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    setTarget: (next) => {
      target = new URL(next);
    },
    inject: (rule) => {
      const active: ActiveRule = { rule, remaining: rule.times ?? Number.POSITIVE_INFINITY };
      rules.push(active);
      return () => {
        const i = rules.indexOf(active);
        if (i >= 0) rules.splice(i, 1);
      };
    },
    clear: () => {
      rules.length = 0;
      for (const socket of hung) socket.destroy();
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of hung) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
