/**
 * The wire exchange with the service: POST /v1/challenge for a nonce, then POST /v1/attest with
 * the measurement, the install proof and any hardware evidence (PROTOCOL.md §3, §5). Every outcome that is not a usable
 * answer becomes an AttestorError whose code the retry rules and `Attestor-Status` read.
 */
import { AttestorError, describeError } from './errors';
import { beforeDeadline } from './deadline';
import type { Prepared } from './evidence';
import type { HardwareStep } from './hardware-keys';
import { MAX_REQUEST_BODY_BYTES, NONCE_BYTES } from '@attestor/contracts/protocol';
import type { ClientSettings } from './options';
import { computeMeasurement, decodeB64u, encodeB64u, installProofMessage, utf8 } from './protocol';
import { parseRetryAfter } from './resilience';
import { cachedToken, type CachedToken } from './token-slots';
import { SDK_VERSION } from './version';

/** The settings the exchange reads. */
export type ExchangeSettings = Pick<ClientSettings, 'endpoint' | 'appId' | 'appVersion' | 'device' | 'debugSecret' | 'timeoutMs' | 'fetchFn' | 'now'>;

/** One challenge and one attest. Throws AttestorError only. */
export async function exchange(settings: ExchangeSettings, prepared: Prepared, deadlineMs: number): Promise<CachedToken> {
  // Hardware attestations go one at a time (hardware-keys.ts says why); the lock is taken before
  // the challenge so no nonce ages while waiting.
  const release = prepared.hardware ? await prepared.hardware.lock(deadlineMs) : undefined;
  try {
    return await challengeAndAttest(settings, prepared, deadlineMs);
  } finally {
    release?.();
  }
}

async function challengeAndAttest(settings: ExchangeSettings, prepared: Prepared, deadlineMs: number): Promise<CachedToken> {
  const challenge = await post(settings, '/v1/challenge', JSON.stringify({ appId: settings.appId }), deadlineMs);
  const nonceText = challenge['nonce'];
  const nonce = typeof nonceText === 'string' ? decodeB64u(nonceText) : undefined;
  if (nonce?.length !== NONCE_BYTES || typeof challenge['expiresAt'] !== 'number') {
    throw new AttestorError('service_error', 'challenge response does not follow the protocol');
  }

  // The evidence covers the nonce, so it is made now; on Android it also decides the install key.
  let hardware: HardwareStep | undefined;
  let key = prepared.key;
  if (prepared.hardware) {
    hardware = await prepared.hardware.step(nonce, key, deadlineMs);
    key = hardware.key;
  }
  if (!key) throw new AttestorError('local_error', 'no install key to sign with');
  let measurement: Uint8Array;
  try {
    measurement = await computeMeasurement(nonce, settings.appId, settings.appVersion, prepared.digest);
  } catch (error) {
    throw new AttestorError('local_error', `computing the measurement failed: ${describeError(error)}`, { cause: error });
  }
  // A platform key signs in a bridge that takes no signal; the budget still holds.
  const proof = await beforeDeadline(key.sign(installProofMessage(nonce, measurement)), deadlineMs, settings, 'signing the install proof');
  const body = JSON.stringify({
    nonce: nonceText,
    appId: settings.appId,
    appVersion: settings.appVersion,
    measurement: encodeB64u(measurement),
    installKey: key.publicJwk,
    installProof: encodeB64u(proof),
    device: { ...settings.device, signals: prepared.signals },
    sdkVersion: SDK_VERSION,
    ...(prepared.binding !== undefined ? { binding: prepared.binding } : {}),
    ...(prepared.limitedUse ? { limitedUse: true } : {}),
    ...(settings.debugSecret !== undefined ? { debugSecret: settings.debugSecret } : {}),
    ...(hardware ? { hardware: hardware.evidence } : {}),
  });
  if (hardware) {
    // Only evidence can make a request this large; the service would answer 413 and the key's evidence would be lost anyway.
    const bytes = utf8(body).length;
    if (bytes > MAX_REQUEST_BODY_BYTES) {
      const message = `the hardware evidence makes the attest request ${bytes} bytes, more than the ${MAX_REQUEST_BODY_BYTES} the service reads`;
      throw new AttestorError('hardware_error', message);
    }
  }
  const answer = await post(settings, '/v1/attest', body, deadlineMs);
  const receivedAtMs = settings.now();
  // Any 200 means the service took the request, evidence included; whether it passed is not for the client to know.
  await hardware?.delivered();
  const token = answer['token'];
  const expiresAt = answer['expiresAt'];
  const issuedAt = typeof token === 'string' ? tokenIssuedAt(token) : undefined;
  if (typeof token !== 'string' || typeof expiresAt !== 'number' || issuedAt === undefined || expiresAt <= issuedAt) {
    throw new AttestorError('service_error', 'attest response does not follow the protocol');
  }
  const lifetimeMs = (expiresAt - issuedAt) * 1000;
  return cachedToken(token, receivedAtMs, lifetimeMs, key);
}

/** POSTs a JSON text and maps every outcome other than 200 with a JSON object body to an AttestorError. */
async function post(settings: ExchangeSettings, path: string, body: string, deadlineMs: number): Promise<Record<string, unknown>> {
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
        body,
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
