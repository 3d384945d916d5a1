/**
 * Shared builders for the core and handler unit tests: a wired attestation world over the memory
 * fakes, genuine attest requests, and hand-forged JWS tokens (node:crypto only, no jose).
 */
import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { signEs256 } from '../../support/es256';
import { cryptoRandom, issueChallenge, newDecoySecret, type AttestationDeps } from '../../../packages/service/src/core/attestation';
import { decodeB64u, encodeB64u } from '../../../packages/contracts/src/base64url';
import { installProofMessage, type InstallPublicJwk } from '../../../packages/verify/src/core/install-key';
import { computeMeasurement } from '../../../packages/service/src/core/measurement';
import type { AttestRequest } from '../../../packages/contracts/src/validation';
import { TokenVerificationError, type VerifyErrorCode } from '../../../packages/verify/src/core/verify';
import { ManualClock, MemoryNonceStore, MemoryRegistry, MemoryTokenKeys } from '../../support/memory';
import { generateP256KeyPair } from '../../../packages/local/src/kms/p256';

export const ISSUER = 'attestor-test';
export const TENANT = 'tenant-a';
export const APP_ID = 'com.example.app';
export const VERSION = '1.2.3';
export const BUILD = Buffer.from('the genuine package bytes');
export const BUILD_SHA256 = createHash('sha256').update(BUILD).digest('hex');

export interface World {
  readonly clock: ManualClock;
  readonly nonces: MemoryNonceStore;
  readonly registry: MemoryRegistry;
  readonly keys: MemoryTokenKeys;
  readonly deps: AttestationDeps;
}

/** The deployment's token lifetime in these tests. */
export const TOKEN_TTL = 300;

/** A deployment whose default tenant is TENANT, with APP_ID@VERSION registered for BUILD. */
export function makeWorld(): World {
  const clock = new ManualClock();
  const nonces = new MemoryNonceStore();
  const registry = new MemoryRegistry();
  const keys = new MemoryTokenKeys();
  registry.apps.set(APP_ID, { appId: APP_ID, tenantId: TENANT, createdAt: clock.now - 1000 });
  registry.registrations.set(`${APP_ID}\0${VERSION}`, {
    appId: APP_ID,
    version: VERSION,
    sha256: BUILD_SHA256,
    size: BUILD.length,
    objectKey: `builds/${APP_ID}/${VERSION}/upload-0000000000000`,
    registeredAt: clock.now - 1000,
  });
  const deps: AttestationDeps = {
    nonces,
    catalog: registry.catalog,
    keys,
    clock,
    random: cryptoRandom,
    issuer: ISSUER,
    tokenTtlSeconds: TOKEN_TTL,
    decoySecret: newDecoySecret(),
    defaultTenantId: TENANT,
  };
  return { clock, nonces, registry, keys, deps };
}

export interface InstallKey {
  readonly privateKey: KeyObject;
  readonly jwk: InstallPublicJwk;
}

export function newInstallKey(): InstallKey {
  const { privateKey, publicKey } = generateP256KeyPair();
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { privateKey, jwk: { kty: kty as 'EC', crv: crv as 'P-256', x: x!, y: y! } };
}

export interface RequestOptions {
  readonly appId?: string;
  /** The appId the challenge is requested for (defaults to appId). */
  readonly challengeAppId?: string;
  readonly appVersion?: string;
  /** Bytes the "device" measures (defaults to BUILD). */
  readonly build?: Uint8Array;
  readonly installKey?: InstallKey;
  readonly signals?: Partial<AttestRequest['device']['signals']>;
  readonly sdkVersion?: string;
  readonly binding?: string;
  readonly limitedUse?: boolean;
  /** Replaces the install proof after it was computed. */
  readonly installProof?: string;
}

/** Issues a challenge and builds the request a genuine SDK would send for it. */
export async function genuineRequest(world: Pick<World, 'deps'>, options: RequestOptions = {}): Promise<AttestRequest> {
  const appId = options.appId ?? APP_ID;
  const appVersion = options.appVersion ?? VERSION;
  const challenge = await issueChallenge(world.deps, { appId: options.challengeAppId ?? appId });
  const nonce = decodeB64u(challenge.nonce)!;
  const digest = createHash('sha256')
    .update(options.build ?? BUILD)
    .digest();
  const measurement = computeMeasurement(nonce, appId, appVersion, digest);
  const key = options.installKey ?? newInstallKey();
  const proof = signEs256(installProofMessage(nonce, measurement), key.privateKey);
  return {
    nonce: challenge.nonce,
    appId,
    appVersion,
    measurement: encodeB64u(measurement),
    installKey: key.jwk,
    installProof: options.installProof ?? encodeB64u(proof),
    device: {
      platform: 'android',
      osVersion: '14',
      model: 'Pixel 8',
      signals: { rooted: false, emulator: false, debugger: false, hooked: false, ...options.signals },
    },
    sdkVersion: options.sdkVersion ?? '1.0.0',
    ...(options.binding !== undefined ? { binding: options.binding } : {}),
    ...(options.limitedUse !== undefined ? { limitedUse: options.limitedUse } : {}),
  };
}

export const b64uJson = (value: unknown): string => encodeB64u(Buffer.from(JSON.stringify(value), 'utf8'));

/** Header and claims of a compact JWS, parsed without verification. */
export function parts(token: string): { header: Record<string, unknown>; claims: Record<string, unknown>; signature: Buffer; raw: string[] } {
  const raw = token.split('.');
  return {
    header: JSON.parse(Buffer.from(raw[0]!, 'base64url').toString('utf8')) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(raw[1]!, 'base64url').toString('utf8')) as Record<string, unknown>,
    signature: Buffer.from(raw[2] ?? '', 'base64url'),
    raw,
  };
}

/** Claims a genuine hs256 token at `now` carries (es256 tokens add `aud`). */
export function claimsAt(now: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: APP_ID,
    iat: now,
    exp: now + 300,
    jti: 'AAAAAAAAAAAAAAAAAAAAAA',
    ver: VERSION,
    did: 'did-thumbprint',
    cnf: { jkt: 'did-thumbprint' },
    ...overrides,
  };
}

/** Compact JWS over arbitrary header and claims; `signer` gets the ASCII signing input. */
export function forge(header: unknown, claims: unknown, signer: (input: Buffer) => Uint8Array | string): string {
  const input = `${b64uJson(header)}.${b64uJson(claims)}`;
  const signature = signer(Buffer.from(input, 'ascii'));
  return `${input}.${typeof signature === 'string' ? signature : encodeB64u(signature)}`;
}

/** Which secret MACed an hs256 token of `world`: the tenant's, the decoy's, or neither. */
export function macBy(world: Pick<World, 'keys' | 'deps'>, token: string, tenantId = TENANT): 'tenant' | 'decoy' | 'neither' {
  const [header, claims, signature] = token.split('.');
  const mac = (key: KeyObject) => createHmac('sha256', key).update(`${header}.${claims}`).digest('base64url');
  if (mac(world.keys.secretFor(tenantId).key) === signature) return 'tenant';
  return mac(world.deps.decoySecret) === signature ? 'decoy' : 'neither';
}

/** HS256 under `secret`. */
export const hs256 =
  (secret: KeyObject) =>
  (input: Buffer): Buffer =>
    createHmac('sha256', secret).update(input).digest();

/** ES256 with IEEE P1363 output, as JWS requires, s in its low form as verifiers require. */
export const es256 =
  (privateKey: KeyObject) =>
  (input: Buffer): Buffer =>
    signEs256(input, privateKey);

/** The error `fn` throws; fails the test when it returns normally. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** The stable code a verification rejected with; fails the test if it resolved or threw anything else. */
export async function codeOf(promise: Promise<unknown>): Promise<VerifyErrorCode> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenVerificationError);
  return (error as TokenVerificationError).code;
}
