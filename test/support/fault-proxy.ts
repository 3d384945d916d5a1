/**
 * An HTTP proxy on 127.0.0.1 in front of the local gateway that misbehaves on request: it delays
 * requests, answers with an error status (optionally with Retry-After), or drops the connection
 * without an answer. When the service behind it is stopped it drops connections too, so a client
 * sees what it would see of a dead service: a network error. `setTarget` points it at a restarted
 * local cloud on a new port.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a fault does to a matching request. */
export type FaultAction =
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: string; readonly body?: string }
  | { readonly kind: 'drop' };

export interface FaultRule {
  /** Requests whose path starts with this string, or matches this RegExp. @default every request */
  readonly path?: string | RegExp;
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

function matches(rule: FaultRule, path: string): boolean {
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.startsWith(rule.path) : rule.path.test(path);
}

export async function startFaultProxy(options: { target: string; captureBodies?: boolean }): Promise<FaultProxy> {
  let target = new URL(options.target);
  const rules: ActiveRule[] = [];
  const log: ProxyLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();

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
    const record = (outcome: ProxyLogEntry['outcome']) =>
      log.push({ method, path, outcome, faults: applied, ...(options.captureBodies ? { body: body.toString('utf8') } : {}) });

    for (const active of [...rules]) {
      if (!matches(active.rule, path)) continue;
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
      record(action.status);
      res.writeHead(action.status, { 'content-type': 'application/json', ...(action.retryAfter !== undefined ? { 'retry-after': action.retryAfter } : {}) });
      res.end(action.body ?? JSON.stringify({ message: `injected ${action.status}` }));
      return;
    }

    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method, path, headers: { ...req.headers, host: target.host } },
      (answer) => {
        record(answer.statusCode ?? 0);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
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
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
