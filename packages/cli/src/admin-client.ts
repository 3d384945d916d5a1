/**
 * Client of the admin API (src/handlers/admin.ts). Every request is SigV4-signed for
 * `execute-api`, as API Gateway's AWS_IAM authorization (and the local gateway standing in for it)
 * requires: method, path, query, host and the SHA-256 of the body are all under the signature.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { signUrlRequest } from '@attestor/verify/aws/sigv4-url';
import type { AppIdentity, Policy, SignalName } from '@attestor/contracts/admin-api';
import type { KeyRotation, PublicBuildRefusal, PublicLogEntry, TenantKeyDescription, WrappedTokenSecret } from '@attestor/contracts/admin-api';
import type { TokenFormat } from '@attestor/contracts/protocol';
import type { PrincipalRole } from '@attestor/contracts/routes';
import type { CredentialSource } from './credentials';
import { isLocalEndpoint } from './credentials';
import { CliError, HttpStatusError, InterruptedError, oneLine } from './errors';

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
  /** Ctrl-C: aborts the request in flight. */
  readonly signal?: AbortSignal;
}

export interface UploadRequest {
  readonly version: string;
  readonly size: number;
  readonly expireAfterSeconds?: number;
  readonly note?: string;
}

/** Where to send the bytes: one presigned PUT (`uploadUrl`), or the parts of an S3 multipart upload. */
export interface UploadTicket {
  readonly uploadId: string;
  readonly objectKey: string;
  readonly uploadUrl?: string;
  readonly urlExpiresAt: number;
  readonly multipart?: {
    readonly partSize: number;
    readonly parts: ReadonlyArray<{ readonly partNumber: number; readonly url: string }>;
  };
}

/** An upload event the register function gave up on (docs/ADMIN_API.md §5.4). */
export interface RegisterFailure {
  readonly id: string;
  readonly failedAt: number;
  readonly objectKeys: readonly string[];
  readonly error: string;
  readonly attempts: number;
}

export interface Registration {
  readonly appId: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  /** Older services only; the admin API keeps it internal (docs/ADMIN_API.md §5). */
  readonly objectKey?: string;
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
  readonly createdAt?: number;
  readonly reason?: string;
  readonly sha256?: string;
  readonly size?: number;
  readonly registration?: Registration;
}

export interface Jwks {
  readonly keys: ReadonlyArray<Record<string, unknown>>;
}

export interface Tenant {
  readonly tenantId: string;
  readonly createdAt: number;
  readonly principals: readonly string[];
  /** Each principal's role; absent from services older than roles, where every principal is an admin. */
  readonly roles?: Readonly<Record<string, PrincipalRole>>;
}

/** A local credential: returned once, by the answer that created it. */
export interface IssuedCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

export interface CreatedTenant extends Tenant {
  /** Local cloud only, and only in this answer. */
  readonly credential?: IssuedCredential;
}

/** A principal for a new tenant: a bare ARN is an admin. */
export type TenantPrincipal = string | { readonly principal: string; readonly role: PrincipalRole };

export interface GrantedRole {
  readonly tenantId: string;
  readonly principal: string;
  readonly role: PrincipalRole;
  /** Present when the principal had a role in the tenant already. */
  readonly previousRole?: PrincipalRole;
  /** Local cloud only, when no principal was named: the new credential, returned once. */
  readonly credential?: IssuedCredential;
}

export interface RevokedRole {
  readonly tenantId: string;
  readonly principal: string;
  /** The role it had. */
  readonly role: PrincipalRole;
}

export interface App {
  readonly appId: string;
  readonly createdAt: number;
}

export interface AppRemoval {
  readonly appId: string;
  readonly removed: { readonly registrations: number; readonly devices: number; readonly policy: boolean };
}

/** The wire shapes of the admin API are the service's own types (types only: nothing loads at run time). */
export type Signal = SignalName;
export type { AppIdentity, Policy };

export interface Device {
  readonly deviceId: string;
  readonly kind: 'install' | 'debug';
  readonly did?: string;
  readonly note?: string;
  readonly createdAt: number;
  /** Only in the answer that created a debug device. */
  readonly debugSecret?: string;
}

export type SigningKey = TenantKeyDescription;

export type LogEntry = PublicLogEntry;

export type BuildLogEntry = PublicBuildRefusal;

export interface LogPage<T> {
  readonly entries: readonly T[];
  readonly cursor?: string;
}

export interface LogQuery {
  readonly appId?: string;
  readonly since?: number;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface Stats {
  readonly windowSeconds: number;
  readonly since: number;
  readonly total: number;
  readonly byOutcome: Readonly<Record<string, number>>;
  readonly byReason: Readonly<Record<string, number>>;
  /** Attest requests refused for an unknown, used or expired nonce (replays), not in `total`; absent from a service that predates it. */
  readonly nonceInvalid?: number;
  /** With `series: 'minute'`: the window's minutes by app and category (VerdictCategory), from the service's counters. */
  readonly series?: { readonly bucketSeconds: number; readonly points: ReadonlyArray<StatsPoint> };
  /** With `include: 'authorizer'`: the authorizer's verdicts per minute and app (counts by AuthorizerVerdictName). */
  readonly authorizer?: { readonly bucketSeconds: number; readonly points: ReadonlyArray<StatsPoint> };
  /** With `include: 'authorizer'`, instead of `authorizer` when the verdicts' store was unavailable: the rest of the answer stands. */
  readonly authorizerUnavailable?: { readonly error: string; readonly retryAfterSeconds: number };
}

export interface StatsPoint {
  readonly time: number;
  readonly appId: string;
  readonly counts: Readonly<Record<string, number>>;
}

export class AdminClient {
  private readonly base: URL;
  private readonly signer: SignatureV4;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(options: AdminClientOptions) {
    this.base = new URL(options.endpoint);
    this.signer = new SignatureV4({ credentials: options.credentials, region: options.region, service: SIGNING_SERVICE, sha256: Sha256 });
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.signal = options.signal;
  }

  // Tenants (operators only)
  async listTenants(): Promise<Tenant[]> {
    return this.list<Tenant>('GET', '/v1/admin/tenants', 'tenants');
  }

  async createTenant(request: { tenantId: string; principals?: readonly TenantPrincipal[] }): Promise<CreatedTenant> {
    return this.record<CreatedTenant>(await this.request('POST', '/v1/admin/tenants', request), 'tenantId');
  }

  /** Adds a principal to the tenant or changes its role; locally, without a principal, mints a credential with the role. */
  async grantRole(tenantId: string, request: { principal?: string; role: PrincipalRole }): Promise<GrantedRole> {
    return this.record<GrantedRole>(await this.request('POST', `/v1/admin/tenants/${enc(tenantId)}/principals`, request), 'role');
  }

  /** Takes a principal's role in the tenant away. */
  async revokeRole(tenantId: string, principal: string): Promise<RevokedRole> {
    return this.record<RevokedRole>(await this.request('POST', `/v1/admin/tenants/${enc(tenantId)}/principals/revoke`, { principal }), 'role');
  }

  // Apps
  async listApps(): Promise<App[]> {
    return this.list<App>('GET', '/v1/admin/apps', 'apps');
  }

  async createApp(appId: string): Promise<App & { readonly created: boolean }> {
    const { status, body } = await this.send('POST', '/v1/admin/apps', { appId });
    // 201 created, 200 it was already there: both fine, but worth telling apart.
    return { ...this.record<App>(body, 'appId'), created: status === 201 };
  }

  async removeApp(appId: string): Promise<AppRemoval> {
    return this.record<AppRemoval>(await this.request('DELETE', `/v1/admin/apps/${enc(appId)}`), 'removed');
  }

  // Uploads
  async createUpload(appId: string, request: UploadRequest): Promise<UploadTicket> {
    const body = await this.request('POST', `/v1/admin/apps/${enc(appId)}/uploads`, request);
    if (!isRecord(body) || typeof body['uploadId'] !== 'string' || (typeof body['uploadUrl'] !== 'string' && !isRecord(body['multipart']))) {
      throw unexpected('the upload request without an upload URL');
    }
    return body as unknown as UploadTicket;
  }

  async completeUpload(uploadId: string, parts: ReadonlyArray<{ partNumber: number; etag: string }>): Promise<UploadState> {
    return this.record<UploadState>(await this.request('POST', `/v1/admin/uploads/${enc(uploadId)}/complete`, { parts }), 'status');
  }

  async getUpload(uploadId: string): Promise<UploadState> {
    return this.record<UploadState>(await this.request('GET', `/v1/admin/uploads/${enc(uploadId)}`), 'status');
  }

  // Registrations
  async listRegistrations(appId: string): Promise<Registration[]> {
    return this.list<Registration>('GET', `/v1/admin/apps/${enc(appId)}/registrations`, 'registrations');
  }

  async removeRegistration(appId: string, version: string): Promise<Registration> {
    const body = await this.request('DELETE', `/v1/admin/apps/${enc(appId)}/registrations/${enc(version)}`);
    return this.record<{ registration: Registration }>(body, 'registration').registration;
  }

  async expireRegistration(appId: string, version: string, afterSeconds: number): Promise<Registration> {
    const body = await this.request('POST', `/v1/admin/apps/${enc(appId)}/registrations/${enc(version)}/expire`, { afterSeconds });
    return this.record<{ registration: Registration }>(body, 'registration').registration;
  }

  // Register failures (operators only)
  async listRegisterFailures(): Promise<RegisterFailure[]> {
    return this.list<RegisterFailure>('GET', '/v1/admin/registrations/failures', 'failures');
  }

  async retryRegisterFailures(ids?: readonly string[]): Promise<string[]> {
    const body = await this.request('POST', '/v1/admin/registrations/failures/retry', ids ? { ids } : {});
    return this.record<{ retried: string[] }>(body, 'retried').retried;
  }

  async clearRegisterFailures(ids?: readonly string[]): Promise<string[]> {
    const body = await this.request('POST', '/v1/admin/registrations/failures/clear', ids ? { ids } : {});
    return this.record<{ cleared: string[] }>(body, 'cleared').cleared;
  }

  // Identity
  /** `{}` when the app has none. */
  async getIdentity(appId: string): Promise<AppIdentity> {
    return this.object<AppIdentity>(await this.request('GET', `/v1/admin/apps/${enc(appId)}/identity`), 'an identity');
  }

  async putIdentity(appId: string, identity: AppIdentity): Promise<AppIdentity> {
    return this.object<AppIdentity>(await this.request('PUT', `/v1/admin/apps/${enc(appId)}/identity`, identity), 'an identity');
  }

  // Policy
  /** Every setting stated, defaults included (a service from before hardware evidence leaves out `hardware` and `measurement`). */
  async getPolicy(appId: string): Promise<Policy> {
    return this.record<Policy>(await this.request('GET', `/v1/admin/apps/${enc(appId)}/policy`), 'reject');
  }

  async putPolicy(appId: string, policy: Policy): Promise<Policy> {
    return this.record<Policy>(await this.request('PUT', `/v1/admin/apps/${enc(appId)}/policy`, policy), 'reject');
  }

  // Devices
  async listDevices(appId: string): Promise<Device[]> {
    return this.list<Device>('GET', `/v1/admin/apps/${enc(appId)}/devices`, 'devices');
  }

  async addDevice(appId: string, request: { did?: string; debug?: true; note?: string }): Promise<Device> {
    return this.record<Device>(await this.request('POST', `/v1/admin/apps/${enc(appId)}/devices`, request), 'deviceId');
  }

  async removeDevice(appId: string, deviceId: string): Promise<Device> {
    const body = await this.request('DELETE', `/v1/admin/apps/${enc(appId)}/devices/${enc(deviceId)}`);
    return this.record<{ device: Device }>(body, 'device').device;
  }

  // Keys
  async listKeys(): Promise<SigningKey[]> {
    return this.list<SigningKey>('GET', '/v1/admin/keys', 'keys');
  }

  async rotateKey(format?: TokenFormat): Promise<KeyRotation> {
    return this.record(await this.request('POST', '/v1/admin/keys/rotate', format ? { format } : {}), 'kid');
  }

  /** The tenant's hs256 secrets, still wrapped (unwrap with KMS: cli/secrets.ts). */
  async wrappedSecrets(): Promise<WrappedTokenSecret[]> {
    return this.list<WrappedTokenSecret>('GET', '/v1/admin/keys/secrets', 'keys');
  }

  /** The tenant's test-token secrets, wrapped as its token secrets are (`attestor token secret`). */
  async wrappedTestSecrets(): Promise<WrappedTokenSecret[]> {
    return this.list<WrappedTokenSecret>('GET', '/v1/admin/tokens/test/secrets', 'keys');
  }

  async jwks(): Promise<Jwks> {
    const body = await this.request('GET', '/v1/admin/keys/jwks');
    if (!isRecord(body) || !Array.isArray(body['keys'])) throw unexpected('without a JWKS');
    return body as unknown as Jwks;
  }

  // Attestation log and stats
  async log(query: LogQuery): Promise<LogPage<LogEntry>> {
    return this.page<LogEntry>(`/v1/admin/log${queryString({ ...query })}`);
  }

  async buildLog(query: Omit<LogQuery, 'appId'>): Promise<LogPage<BuildLogEntry>> {
    return this.page<BuildLogEntry>(`/v1/admin/log${queryString({ kind: 'builds', ...query })}`);
  }

  async stats(query: { appId?: string; windowSeconds?: number; series?: 'minute'; include?: 'authorizer' }): Promise<Stats> {
    return this.record<Stats>(await this.request('GET', `/v1/admin/stats${queryString(query)}`), 'byOutcome');
  }

  private async list<T>(method: string, path: string, member: string): Promise<T[]> {
    const body = await this.request(method, path);
    if (!isRecord(body) || !Array.isArray(body[member])) throw unexpected(`${method} ${path} without a list of ${member}`);
    return body[member] as T[];
  }

  private async page<T>(path: string): Promise<LogPage<T>> {
    const body = await this.request('GET', path);
    if (!isRecord(body) || !Array.isArray(body['entries'])) throw unexpected('the log query without entries');
    return body as unknown as LogPage<T>;
  }

  /** Checks that the answer is a JSON object (an identity may be `{}`, so no member can be required). */
  private object<T>(body: unknown, what: string): T {
    if (!isRecord(body)) throw unexpected(`with something other than ${what}`);
    return body as T;
  }

  /** Checks that the answer is an object with `member`: a wrong endpoint answers something else entirely. */
  private record<T>(body: unknown, member: string): T {
    if (!isRecord(body) || !(member in body)) throw unexpected(`without ${member}`);
    return body as T;
  }

  /** Signs and sends one request; returns the parsed JSON body of a 2xx answer, throws CliError otherwise. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    return (await this.send(method, path, body)).body;
  }

  private async send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const url = this.url(path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const signedHeaders = await signUrlRequest(this.signer, { method, url, headers, ...(payload !== undefined ? { body: payload } : {}) });

    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: signedHeaders,
        ...(payload !== undefined ? { body: payload } : {}),
        signal: this.signal ? AbortSignal.any([this.signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw this.networkError(error);
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new HttpStatusError(this.statusMessage(method, path, response.status, text, response.headers.get('retry-after')), response.status);
    try {
      return { status: response.status, body: JSON.parse(text) as unknown };
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
    if (this.signal?.aborted) return new InterruptedError();
    const name = (error as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new CliError(`${this.base.origin} did not answer within ${this.timeoutMs / 1000} s: check that the service is healthy, then try again`);
    }
    const code = (error as { cause?: { code?: unknown } })?.cause?.code;
    const why = typeof code === 'string' ? ` (${code})` : '';
    const hint = isLocalEndpoint(this.base) ? 'start the service with `npm start` or pass --endpoint' : 'check --endpoint and your network';
    return new CliError(`cannot reach ${this.base.origin}${why}: ${hint}`);
  }

  private statusMessage(method: string, path: string, status: number, text: string, retryAfter: string | null = null): string {
    let message: string | undefined;
    let code: string | undefined;
    let body: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (isRecord(parsed)) {
        body = parsed;
        const m = parsed['message'] ?? parsed['error'];
        if (typeof m === 'string' && m) message = m;
        if (typeof parsed['error'] === 'string') code = parsed['error'];
      }
    } catch {
      // A non-JSON error page (a proxy, a wrong endpoint): the status alone is the useful part.
    }
    const what = message ? oneLine(message).slice(0, 300) : `HTTP ${status}`;
    const local = isLocalEndpoint(this.base);
    // The service's own refusals (docs/ADMIN_API.md §1.3) say what is wrong; add what to do.
    if (code === 'forbidden' && Array.isArray(body['requiredRoles'])) return `${what}${roleHint(body, local)}`;
    if (code === 'not_found' || code === 'conflict' || code === 'forbidden') return `${what}${serviceHint(code, what)}`;
    // The service says when (docs/ADMIN_API.md §8); Retry-After says how long from now, by the service's clock.
    if (code === 'rate_limited') return `${what}${waitHint(retryAfter)}`;
    if (status >= 500 && code !== undefined) {
      const where = local ? ' (.attestor/logs/service.log)' : ' (CloudWatch, the admin functions)';
      return `the service failed on ${method} (${status} ${code}): check its logs${where}, then try again`;
    }
    // Every refusal of the admin API carries its JSON `error` code (docs/ADMIN_API.md §1.3); a 4xx without
    // one came from something else at that address: a web server, another API, a path without the stage.
    const said = message ? ` (${what})` : '';
    const server = this.base.href.replace(/\/$/, '');
    const route = `${method} ${this.url(path).pathname}`;
    if (code === undefined && status >= 400 && status < 500 && ![403, 408, 413, 429].includes(status)) {
      const stage = local ? '' : ' (in AWS it includes the stage, e.g. /prod)';
      return `the server at ${server} answered ${status}${said} to ${route} and does not look like an Attestor admin API: check --endpoint${stage}`;
    }
    // The service's own failures carry a code too (above); one without came from what is in front of
    // it (API Gateway answers 502 for a function that crashed, 504 for one that timed out) or from
    // another server at that address.
    if (code === undefined && status >= 500) {
      const where = local ? '.attestor/logs/service.log' : "the admin functions' logs in CloudWatch";
      return (
        `the server at ${server} answered ${status}${said} to ${route} without the admin API's error code: a gateway in front of the service ` +
        `(a function that crashed or timed out: see ${where}) or another server at that address: check --endpoint, then try again`
      );
    }
    let hint = '';
    if (status === 403 && what === 'Missing Authentication Token') {
      // API Gateway's answer to a signed request for a route it does not have.
      hint = ': no such route here; check --endpoint (in AWS it includes the stage, e.g. /prod)';
    } else if (status === 403 && /token|signature|credential/i.test(what)) {
      hint = local
        ? ': the running service does not accept this credential; set ATTESTOR_HOME to its data directory (or create the tenant credential again)'
        : ': check that your AWS credentials may call this API (execute-api:Invoke) and that --endpoint is right';
    }
    return `the service refused ${method} (${status}): ${what}${hint}`;
  }
}

/** " (in 59 min)" from a Retry-After of seconds; nothing when it is absent or not a number of seconds. */
function waitHint(retryAfter: string | null): string {
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (seconds === undefined) return '';
  return seconds < 120 ? ` (in ${seconds} s)` : ` (in ${Math.ceil(seconds / 60)} min)`;
}

/** What to do about a not_found, conflict or forbidden answer, judged from its message. */
function serviceHint(code: string, message: string): string {
  if (code === 'not_found') {
    if (/^no app /.test(message)) return ': `attestor apps list` shows your apps';
    if (/^no registration /.test(message)) return ': `attestor registrations list --app ID` shows the registered versions';
    if (/^no device /.test(message)) return ': `attestor devices list --app ID` shows the devices';
    return '';
  }
  if (code === 'forbidden') {
    if (/operator/.test(message)) return ': run it with the operator credential (without --tenant or --credentials)';
    if (/no access to any tenant|maps to no tenant/.test(message))
      return ': an operator must give this principal a tenant (`attestor tenants create ID --principal ARN`)';
  }
  if (code === 'conflict' && /belongs to another tenant/.test(message)) return ': app ids are global; choose another one';
  return '';
}

/**
 * A refusal for the credential's role (docs/ADMIN_API.md §1.2): which credential to use instead,
 * or how an operator gives this one the role. The body names the caller's own tenant and principal.
 */
function roleHint(body: Record<string, unknown>, local: boolean): string {
  const required = (body['requiredRoles'] as unknown[]).filter((r): r is string => typeof r === 'string');
  // The least privileged role that may: what to ask for.
  const wanted = required[0];
  const { tenantId, principal } = body;
  if (wanted === undefined || typeof tenantId !== 'string' || typeof principal !== 'string') return '';
  const grant = local
    ? `\`attestor tenants grant ${tenantId} --role ${wanted}\` makes a local credential with it`
    : `an operator can give it with \`attestor tenants grant ${tenantId} --principal ${principal} --role ${wanted}\``;
  return `: use a credential with role ${required.join(' or ')} (--credentials FILE, --tenant ID or AWS_PROFILE); ${grant}`;
}

const enc = encodeURIComponent;

function queryString(params: Readonly<Record<string, string | number | undefined>>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, String(value));
  const text = query.toString();
  return text ? `?${text}` : '';
}

function unexpected(what: string): CliError {
  return new CliError(`the service answered ${what}: is --endpoint an Attestor service of this version?`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
