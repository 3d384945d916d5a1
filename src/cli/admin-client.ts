/**
 * Client of the admin API (src/handlers/admin.ts). Every request is SigV4-signed for
 * `execute-api`, as API Gateway's AWS_IAM authorization (and the local gateway standing in for it)
 * requires: method, path, query, host and the SHA-256 of the body are all under the signature.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CredentialSource } from './credentials';
import { isLocalEndpoint } from './credentials';
import { CliError, HttpStatusError, oneLine } from './errors';

/** SigV4 service name of API Gateway's IAM-authorized routes. */
export const SIGNING_SERVICE = 'execute-api';
/** Admin calls are small and quick; a silent service should not hang the CLI. */
const DEFAULT_TIMEOUT_MS = 30_000;

export interface AdminClientOptions {
  /** Base URL; may carry a stage path, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/prod. */
  readonly endpoint: string;
  readonly credentials: CredentialSource;
  readonly region: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

export interface UploadRequest {
  readonly version: string;
  readonly size: number;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
}

export interface UploadTicket {
  readonly uploadId: string;
  readonly objectKey: string;
  readonly uploadUrl: string;
  readonly urlExpiresAt: number;
}

export interface Registration {
  readonly appId: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly objectKey: string;
  readonly registeredAt: number;
  readonly expiresAt?: number;
  readonly note?: string;
}

export interface UploadState {
  readonly uploadId: string;
  readonly appId: string;
  readonly version: string;
  readonly objectKey: string;
  readonly status: 'pending' | 'registered' | 'rejected';
  readonly reason?: string;
  readonly sha256?: string;
  readonly size?: number;
  readonly registration?: Registration;
}

export interface Jwks {
  readonly keys: ReadonlyArray<Record<string, unknown>>;
}

export class AdminClient {
  private readonly base: URL;
  private readonly signer: SignatureV4;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.base = new URL(options.endpoint);
    this.signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: SIGNING_SERVICE, sha256: Sha256 });
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async createUpload(appId: string, request: UploadRequest): Promise<UploadTicket> {
    const body = await this.request('POST', `/v1/admin/apps/${encodeURIComponent(appId)}/uploads`, request);
    if (!isRecord(body) || typeof body['uploadId'] !== 'string' || typeof body['uploadUrl'] !== 'string') {
      throw new CliError('the service answered the upload request without an upload URL: is --endpoint an Attestor service?');
    }
    return body as unknown as UploadTicket;
  }

  async getUpload(uploadId: string): Promise<UploadState> {
    const body = await this.request('GET', `/v1/admin/uploads/${encodeURIComponent(uploadId)}`);
    if (!isRecord(body) || typeof body['status'] !== 'string') throw new CliError('the service answered an upload query without a status: is --endpoint an Attestor service?');
    return body as unknown as UploadState;
  }

  async jwks(): Promise<Jwks> {
    const body = await this.request('GET', '/v1/admin/keys/jwks');
    if (!isRecord(body) || !Array.isArray(body['keys'])) throw new CliError('the service answered without a JWKS: is --endpoint an Attestor service?');
    return body as unknown as Jwks;
  }

  /** Signs and sends one request; returns the parsed JSON body of a 2xx answer, throws CliError otherwise. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = this.url(path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { host: url.host, accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = values.length === 1 ? values[0]! : values;
    }
    const signed = await this.signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
    });

    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: signed.headers as Record<string, string>,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw this.networkError(error);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new HttpStatusError(this.statusMessage(method, response.status, text), response.status);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CliError(`${this.base.origin} answered ${method} ${url.pathname} with something other than JSON: is --endpoint an Attestor service?`);
    }
  }

  /** Joins the route (and its query, if any) to the endpoint, keeping a stage path such as /prod. */
  private url(path: string): URL {
    const route = new URL(path, 'http://route.invalid');
    const url = new URL(this.base.href);
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${route.pathname}`;
    url.search = route.search;
    url.hash = '';
    return url;
  }

  private networkError(error: unknown): CliError {
    if (error instanceof CliError) return error;
    const name = (error as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new CliError(`${this.base.origin} did not answer within ${this.timeoutMs / 1000} s: check that the service is healthy, then try again`);
    }
    const code = (error as { cause?: { code?: unknown } })?.cause?.code;
    const why = typeof code === 'string' ? ` (${code})` : '';
    const hint = isLocalEndpoint(this.base) ? 'start the service with `npm start` or pass --endpoint' : 'check --endpoint and your network';
    return new CliError(`cannot reach ${this.base.origin}${why}: ${hint}`);
  }

  private statusMessage(method: string, status: number, text: string): string {
    let message: string | undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (isRecord(parsed)) {
        const m = parsed['message'] ?? parsed['error'];
        if (typeof m === 'string' && m) message = m;
      }
    } catch {
      // A non-JSON error page (a proxy, a wrong endpoint): the status alone is the useful part.
    }
    const what = message ? oneLine(message).slice(0, 300) : `HTTP ${status}`;
    let hint = '';
    if (status === 403 && what === 'Missing Authentication Token') {
      // API Gateway's answer to a signed request for a route it does not have.
      hint = ': no such route here; check --endpoint (in AWS it includes the stage, e.g. /prod)';
    } else if (status === 403 && /token|signature|credential/i.test(what)) {
      hint = isLocalEndpoint(this.base)
        ? ': the local admin credential does not match the running service; set ATTESTOR_HOME to its data directory'
        : ': check that your AWS credentials may call this API (execute-api:Invoke) and that --endpoint is right';
    }
    return `the service refused ${method} (${status}): ${what}${hint}`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
