/**
 * Attestor-Proof headers for tests, written from the issue text and docs/ENFORCEMENT.md with
 * node:crypto alone (nothing from src/), so tests check the verifier against the format rather
 * than against its own SDK. Every field can be overridden to build the invalid proofs.
 */
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { signEs256 } from './es256';

export interface ProofKey {
  readonly privateKey: KeyObject;
  readonly jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
}

export interface ProofOptions {
  readonly key: ProofKey;
  readonly token: string;
  readonly method: string;
  readonly url: string;
  readonly iat: number;
  readonly jti?: string;
  /** Replaces or adds header members (e.g. a different typ or alg, a jwk with d). */
  readonly header?: Record<string, unknown>;
  /** Replaces or adds claims (undefined removes one). */
  readonly claims?: Record<string, unknown>;
  /** Signs with this key instead of key.privateKey (the header still names key.jwk). */
  readonly signWith?: KeyObject;
}

const b64uJson = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** b64u(SHA-256(ASCII(token))): the `ath` claim. */
export const tokenHash = (token: string) => createHash('sha256').update(token, 'ascii').digest('base64url');

export function makeProof(options: ProofOptions): string {
  const header = { typ: 'attestor-proof+jwt', alg: 'ES256', jwk: options.key.jwk, ...options.header };
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomBytes(16).toString('base64url'),
    htm: options.method,
    htu: options.url,
    iat: options.iat,
    ath: tokenHash(options.token),
    ...options.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const input = `${b64uJson(header)}.${b64uJson(claims)}`;
  const signature = signEs256(Buffer.from(input, 'ascii'), options.signWith ?? options.key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** b64u(SHA-256(UTF-8(value))): the attest request's `binding`. */
export const bindingFor = (value: string) => createHash('sha256').update(value, 'utf8').digest('base64url');
