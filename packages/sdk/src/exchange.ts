/**
 * The wire exchange with the service: POST /v1/challenge for a nonce, then POST /v1/attest with
 * the measurement and the install proof (PROTOCOL.md §3, §5). Every outcome that is not a usable
 * answer becomes an AttestorError whose code the retry rules and `Attestor-Status` read.
 */
import { AttestorError, describeError } from './errors';
import type { Prepared } from './evidence';
import { NONCE_BYTES } from '@attestor/contracts/protocol';
import type { ClientSettings } from './options';
import { computeMeasurement, decodeB64u, encodeB64u, signInstallProof } from './protocol';
import { parseRetryAfter } from './resilience';
import { cachedToken, type CachedToken } from './token-slots';
import { SDK_VERSION } from './version';

/** The settings the exchange reads. */
export type ExchangeSettings = Pick<ClientSettings, 'endpoint' | 'appId' | 'appVersion' | 'device' | 'debugSecret' | 'timeoutMs' | 'fetchFn' | 'now'>;

/** One challenge and one attest. Throws AttestorError only. */
export async function exchange(settings: ExchangeSettings, prepared: Prepared, deadlineMs: number): Promise<CachedToken> {
  const challenge = await post(settings, '/v1/challenge', { appId: settings.appId }, deadlineMs);
  const nonceText = challenge['nonce'];
  const nonce = typeof nonceText === 'string' ? decodeB64u(nonceText) : undefined;
  if (nonce?.length !== NONCE_BYTES || typeof challenge['expiresAt'] !== 'number') {
    throw new AttestorError('service_error', 'challenge response does not follow the protocol');
  }

  let measurement: Uint8Array;
  let proof: Uint8Array;
  try {
    measurement = await computeMeasurement(nonce, settings.appId, settings.appVersion, prepared.digest);
    proof = await signInstallProof(prepared.key.privateKey, nonce, measurement);
  } catch (error) {
    throw new AttestorError('local_error', `signing the attestation failed: ${describeError(error)}`, { cause: error });
  }
  const answer = await post(
    settings,
    '/v1/attest',
    {
      nonce: nonceText,
      appId: settings.appId,
      appVersion: settings.appVersion,
      measurement: encodeB64u(measurement),
      installKey: prepared.key.publicJwk,
      installProof: encodeB64u(proof),
      device: { ...settings.device, signals: prepared.signals },
      sdkVersion: SDK_VERSION,
      ...(prepared.binding !== undefined ? { binding: prepared.binding } : {}),
      ...(prepared.limitedUse ? { limitedUse: true } : {}),
      ...(settings.debugSecret !== undefined ? { debugSecret: settings.debugSecret } : {}),
    },
    deadlineMs,
  );
  const receivedAtMs = settings.now();
  const token = answer['token'];
  const expiresAt = answer['expiresAt'];
  const issuedAt = typeof token === 'string' ? tokenIssuedAt(token) : undefined;
  if (typeof token !== 'string' || typeof expiresAt !== 'number' || issuedAt === undefined || expiresAt <= issuedAt) {
    throw new AttestorError('service_error', 'attest response does not follow the protocol');
  }
  const lifetimeMs = (expiresAt - issuedAt) * 1000;
  return cachedToken(token, receivedAtMs, lifetimeMs, prepared.key);
}

/** POSTs JSON and maps every outcome other than 200 with a JSON object body to an AttestorError. */
async function post(settings: ExchangeSettings, path: string, body: Record<string, unknown>, deadlineMs: number): Promise<Record<string, unknown>> {
  const remainingMs = deadlineMs - settings.now();
  const timeoutError = (cause?: unknown) =>
    new AttestorError('timeout', `the attestation took longer than ${settings.timeoutMs} ms (at POST ${path})`, cause === undefined ? {} : { cause });
  if (remainingMs <= 0) throw timeoutError();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, remainingMs);
  try {
    let response: Response;
    let payload: unknown;
    try {
      response = await settings.fetchFn(`${settings.endpoint}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      payload = await response.json().catch((error: unknown) => {
        if (timedOut) throw error;
        return undefined;
      });
    } catch (error) {
      if (timedOut) throw timeoutError(error);
      throw new AttestorError('network', `POST ${path} failed: ${describeError(error)}`, { cause: error });
    }
    const status = response.status;
    const errorBody = isRecord(payload) ? payload : {};
    if (status === 200 && isRecord(payload)) return payload;
    if (status === 400) {
      const field = typeof errorBody['field'] === 'string' ? errorBody['field'] : undefined;
      const detail = typeof errorBody['message'] === 'string' ? errorBody['message'] : 'request rejected';
      throw new AttestorError('invalid_request', `service rejected POST ${path}: ${detail}`, { status, ...(field !== undefined ? { field } : {}) });
    }
    if (status === 409) throw new AttestorError('nonce_invalid', 'nonce was unknown, already used or expired', { status });
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after'), settings.now()) : undefined;
    const retryAt = retryAfterMs === undefined ? {} : { retryAtMs: settings.now() + retryAfterMs };
    if (status === 429) throw new AttestorError('rate_limited', `POST ${path} answered HTTP 429`, { status, ...retryAt });
    const code = typeof errorBody['error'] === 'string' ? ` (${errorBody['error']})` : '';
    throw new AttestorError('service_error', `POST ${path} answered HTTP ${status}${code}`, { status, ...retryAt });
  } finally {
    clearTimeout(timer);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads iat from the token's claims; the client does not verify the token (it cannot: see PROTOCOL.md §6). */
function tokenIssuedAt(token: string): number | undefined {
  const payload = token.split('.')[1];
  const bytes = payload === undefined ? undefined : decodeB64u(payload);
  if (!bytes) return undefined;
  try {
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return isRecord(claims) && typeof claims['iat'] === 'number' ? claims['iat'] : undefined;
  } catch {
    return undefined;
  }
}
