/**
 * A second, independent client of protocol v1, written from PROTOCOL.md with node:crypto and
 * fetch only. It imports nothing of the packages, so the end-to-end tests check the wire protocol
 * itself rather than the server agreeing with its own SDK.
 */
import { createHash, createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signEs256 } from './es256';

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

export interface InstallKey {
  readonly privateKey: KeyObject;
  readonly jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
}

export function newInstallKey(): InstallKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' }) as { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  return { privateKey, jwk: { kty, crv, x, y } };
}

export interface Device {
  platform: string;
  osVersion: string;
  model: string;
  signals: { rooted: boolean; emulator: boolean; debugger: boolean; hooked: boolean };
}

export const CLEAN_DEVICE: Device = {
  platform: 'android',
  osVersion: '15',
  model: 'Pixel 9',
  signals: { rooted: false, emulator: false, debugger: false, hooked: false },
};

export interface Http {
  status: number;
  body: Record<string, unknown>;
}

export async function post(endpoint: string, path: string, body: unknown): Promise<Http> {
  const res = await fetch(`${endpoint}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Builds the attest body for one nonce: measurement, install proof and the rest, per PROTOCOL.md §2–4. */
export function attestBody(options: {
  nonce: string;
  appId: string;
  appVersion: string;
  packageBytes: Uint8Array;
  key: InstallKey;
  device?: Device;
  extra?: Record<string, unknown>;
}): Record<string, unknown> {
  const nonce = Buffer.from(options.nonce, 'base64url');
  const digest = createHash('sha256').update(options.packageBytes).digest();
  const measurement = createHmac('sha256', nonce)
    .update(Buffer.concat([Buffer.from('attestor-measurement-v1\0' + options.appId + '\0' + options.appVersion + '\0', 'utf8'), digest]))
    .digest();
  const proof = signEs256(Buffer.concat([Buffer.from('attestor-install-v1\0', 'utf8'), nonce, measurement]), options.key.privateKey);
  return {
    nonce: options.nonce,
    appId: options.appId,
    appVersion: options.appVersion,
    measurement: b64u(measurement),
    installKey: options.key.jwk,
    installProof: b64u(proof),
    device: options.device ?? CLEAN_DEVICE,
    sdkVersion: '1.0.0',
    ...options.extra,
  };
}

/** challenge + attest; returns the attest response. */
export async function attestOnce(endpoint: string, options: Omit<Parameters<typeof attestBody>[0], 'nonce'>): Promise<Http & { nonce: string }> {
  const challenge = await post(endpoint, '/v1/challenge', { appId: options.appId });
  if (challenge.status !== 200) throw new Error(`challenge failed: ${challenge.status} ${JSON.stringify(challenge.body)}`);
  const nonce = challenge.body['nonce'] as string;
  const response = await post(endpoint, '/v1/attest', attestBody({ ...options, nonce }));
  return { ...response, nonce };
}

export function decodeJwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
