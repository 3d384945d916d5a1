/**
 * The attestation service: issue challenges, judge attest requests, mint tokens.
 * Pure protocol logic over the ports in ./ports; the handlers in lambdas/ only translate HTTP.
 */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { decodeB64u, encodeB64u } from '@attestor/contracts/base64url';
import { importInstallKey, jwkThumbprint, verifyInstallProof } from '@attestor/verify/core/install-key';
import { computeMeasurement, constantTimeEqual } from './measurement';
import { DEFAULT_POLICY, policyViolations, type Policy } from './policy';
import { debugSecretDigest, isAllowlistedInstall, matchesDebugSecret } from './devices';
import { debugDeviceId } from '@attestor/contracts/admin-ids';
import { NonceInvalidError } from './errors';
import type {
  AttestationCatalog,
  AttestationLog,
  AttestationLogEntry,
  AttestationOutcome,
  Clock,
  NonceStore,
  RandomSource,
  TokenKeys,
  TokenSigningKey,
} from './ports';
import { NONCE_BYTES, NONCE_TTL_SECONDS, type TokenClaims } from '@attestor/contracts/protocol';
import type { AttestRequest, ChallengeRequest } from '@attestor/contracts/validation';
import { TenantKeyMissingError } from './tenant-keys';
import { es256SigningInput, hs256Token } from './token';

export const cryptoRandom: RandomSource = { bytes: (n) => randomBytes(n) };

/**
 * The secret hs256 decoys are MACed with: drawn when a process starts and never stored, shown or
 * shared, so no one can verify a decoy and no one can tell its MAC from a tenant's.
 */
export function newDecoySecret(random: RandomSource = cryptoRandom): KeyObject {
  return createSecretKey(Buffer.from(random.bytes(32)));
}

export interface AttestationDeps {
  readonly nonces: NonceStore;
  /** What attest knows about apps; cached for at most CATALOG_CACHE_SECONDS (core/catalog-cache.ts). */
  readonly catalog: AttestationCatalog;
  readonly keys: TokenKeys;
  readonly clock: Clock;
  readonly random: RandomSource;
  /** `iss` of every token this deployment mints. */
  readonly issuer: string;
  /**
   * Lifetime of every token this deployment mints, pass or decoy, whatever the app: a lifetime
   * that varied by app would tell registered app ids from unknown ones (PROTOCOL.md §9).
   */
  readonly tokenTtlSeconds: number;
  /** See newDecoySecret. */
  readonly decoySecret: KeyObject;
  /**
   * The tenant whose log keeps the attestations of unregistered app ids, and whose signing key they
   * fetch (and do not use), so that they make the calls a registered app makes (PROTOCOL.md §9).
   */
  readonly defaultTenantId: string;
  /** Where verdicts are recorded (docs/ADMIN_API.md §9); absent keeps no log. */
  readonly attestationLog?: AttestationLog;
}

export interface Challenge {
  readonly nonce: string;
  readonly expiresAt: number;
}

/** The nonce is stored only as its hash, so a leaked table gives nothing to attest with. */
export function nonceId(nonce: Uint8Array): string {
  return encodeB64u(createHash('sha256').update(nonce).digest());
}

export async function issueChallenge(deps: Pick<AttestationDeps, 'nonces' | 'clock' | 'random'>, request: ChallengeRequest): Promise<Challenge> {
  const nonce = deps.random.bytes(NONCE_BYTES);
  const expiresAt = deps.clock.nowSeconds() + NONCE_TTL_SECONDS;
  await deps.nonces.put({ nonceId: nonceId(nonce), appId: request.appId, expiresAt });
  return { nonce: encodeB64u(nonce), expiresAt };
}

export { NonceInvalidError };

/** What the service decided, for the log and for tests. Never sent to the client. */
export interface Verdict {
  readonly passed: boolean;
  /**
   * pass: every check passed; debug / allowlisted: passed because of a debug secret or an
   * allow-listed install key, whatever `reasons` says; fail: decoy token.
   */
  readonly outcome: AttestationOutcome;
  /** What the regular checks found (also for debug and allowlisted outcomes). */
  readonly reasons: readonly string[];
  /** The app's tenant; for an unregistered app id, the default tenant (whose log keeps it). */
  readonly tenantId: string;
  /** True when the app is registered (to tenantId). */
  readonly appKnown: boolean;
  readonly did: string;
  readonly jti: string;
  /** Service time of the judgement (the token's iat). */
  readonly time: number;
}

export interface AttestResult {
  readonly token: string;
  readonly expiresAt: number;
  readonly verdict: Verdict;
  /** Set when the attestation log could not record the verdict: reported, never a reason to fail the client. */
  readonly logError?: unknown;
}

// Stands in for the digest of an unregistered build so the failing path does the same work.
const ABSENT_DIGEST = Buffer.alloc(32);

/**
 * Judges an attest request. Throws NonceInvalidError (HTTP 409) when the nonce cannot be consumed;
 * otherwise always returns a token: signed by the tenant's key when every check passes, by a decoy
 * key when any fails, of the same format, header, claims and size either way. Every check runs
 * whatever the earlier ones found, and the tenant's key is fetched for a failing attestation as for
 * a passing one, so the failing path costs what the passing one costs; an unregistered app id
 * fetches the default tenant's key through the same cached calls, so it costs what a registered
 * app of any tenant costs (only a container's first load of a tenant's key differs: PROTOCOL.md §9).
 *
 * Round trips: consuming the nonce and reading the app do not depend on each other and go out
 * together; then the verdict is recorded. With the tenant's secret cached, an hs256 attestation
 * waits for two round trips in all (one when the catalog is cached too); es256 adds a KMS Sign.
 */
export async function attest(deps: AttestationDeps, request: AttestRequest): Promise<AttestResult> {
  const nonce = decodeB64u(request.nonce)!;
  const now = deps.clock.nowSeconds();
  const [consumed, snapshot] = await Promise.all([deps.nonces.consume(nonceId(nonce), request.appId, now), deps.catalog.appSnapshot(request.appId)]);
  if (!consumed) throw new NonceInvalidError();
  const { app } = snapshot;
  // A stand-in without a key (a deployment whose default tenant never got one) must not turn
  // unknown app ids into errors where registered ones get tokens: the decoy needs no tenant key.
  const signingKey: Promise<TokenSigningKey | undefined> =
    app === undefined ? deps.keys.signingKey(deps.defaultTenantId).catch((error: unknown) => (error instanceof TenantKeyMissingError ? undefined : Promise.reject(error))) : deps.keys.signingKey(app.tenantId);
  // Settled below; a rejection must not go unobserved while the checks run.
  signingKey.catch(() => undefined);

  const did = jwkThumbprint(request.installKey);
  const debugDigest = request.debugSecret === undefined ? undefined : debugSecretDigest(decodeB64u(request.debugSecret)!);
  const registration = snapshot.registrations.get(request.appVersion);
  const policy: Policy = snapshot.policy ?? DEFAULT_POLICY;
  const reasons: string[] = [];
  if (!app) reasons.push('app_unknown');
  if (!registration) reasons.push('version_unknown');
  else if (registration.expiresAt !== undefined && registration.expiresAt <= now) reasons.push('registration_expired');

  const digest = registration ? Buffer.from(registration.sha256, 'hex') : ABSENT_DIGEST;
  const expected = computeMeasurement(nonce, request.appId, request.appVersion, digest);
  const measurement = decodeB64u(request.measurement)!;
  if (!constantTimeEqual(expected, measurement) && registration) reasons.push('measurement_mismatch');

  const installKey = importInstallKey(request.installKey);
  const proofValid = verifyInstallProof(installKey, nonce, measurement, decodeB64u(request.installProof)!);
  if (!proofValid) reasons.push('install_proof_invalid');

  reasons.push(...policyViolations(policy, request.device.signals, request.sdkVersion));
  const debugDevice = debugDigest === undefined ? undefined : snapshot.devices.get(debugDeviceId(debugDigest));
  const debugMatched = debugDigest !== undefined && matchesDebugSecret(debugDevice, debugDigest);
  if (debugDigest !== undefined && !debugMatched) reasons.push('debug_secret_invalid');

  // Allow-listing overrides registration, measurement and policy, never the proof of possession:
  // a did is public (every token carries it), the install key's private half is not.
  // A debug secret that matches nothing fails the attestation even for an allow-listed install, as
  // PROTOCOL.md §5.4 says: a wrong secret is a sign of a leaked or guessed one, never a pass.
  const exempt = app !== undefined && proofValid && (debugDigest === undefined || debugMatched);
  const outcome: AttestationOutcome =
    exempt && isAllowlistedInstall(snapshot.devices.get(did), did) ? 'allowlisted' : exempt && debugMatched ? 'debug' : reasons.length === 0 ? 'pass' : 'fail';
  const passed = outcome !== 'fail';

  const claims: TokenClaims = {
    iss: deps.issuer,
    sub: request.appId,
    iat: now,
    exp: now + deps.tokenTtlSeconds,
    jti: encodeB64u(deps.random.bytes(16)),
    ver: request.appVersion,
    did,
    cnf: { jkt: did },
    ...(request.binding !== undefined ? { pay: request.binding } : {}),
    ...(request.limitedUse ? { lut: true as const } : {}),
  };
  const verdict: Verdict = { passed, outcome, reasons, tenantId: app?.tenantId ?? deps.defaultTenantId, appKnown: app !== undefined, did, jti: claims.jti, time: now };
  const key = await signingKey;
  // An unregistered app id's stand-in key is never used: it gets an hs256 decoy (see mint).
  const token = await mint(deps, app?.tenantId, app === undefined ? undefined : key, claims, passed);
  // Recorded once the token exists, so the log never holds a verdict whose token was not minted.
  // Awaited on every path, pass or fail, so it costs both the same.
  let logError: unknown;
  if (deps.attestationLog) await deps.attestationLog.record(attestationLogEntry(request, verdict)).catch((error: unknown) => (logError = error ?? new Error('log write failed')));
  return { token, expiresAt: claims.exp, verdict, ...(logError !== undefined ? { logError } : {}) };
}

/**
 * The token in the tenant's format: hs256 with the tenant's secret or the decoy secret; es256 with
 * the tenant's KMS key or the decoy KMS key under the tenant's kid. An unregistered app id has no
 * tenant, and gets an hs256 decoy: an hs256 token names neither tenant nor key, so it looks like
 * any registered app's token.
 */
async function mint(deps: AttestationDeps, tenantId: string | undefined, key: TokenSigningKey | undefined, claims: TokenClaims, passed: boolean): Promise<string> {
  if (key?.format === 'es256' && tenantId !== undefined) {
    const input = es256SigningInput(key.kid, { ...claims, aud: tenantId });
    const signature = await deps.keys.signEs256(tenantId, key.kid, Buffer.from(input, 'ascii'), passed ? 'tenant' : 'decoy');
    return `${input}.${encodeB64u(signature)}`;
  }
  return hs256Token(passed && key?.format === 'hs256' ? key.secret : deps.decoySecret, claims);
}

/** The log's record of one judged attestation: the verdict and what the device said, nothing secret. */
export function attestationLogEntry(request: AttestRequest, verdict: Verdict): AttestationLogEntry {
  return {
    tenantId: verdict.tenantId,
    appId: request.appId,
    appKnown: verdict.appKnown,
    appVersion: request.appVersion,
    did: verdict.did,
    platform: request.device.platform,
    osVersion: request.device.osVersion,
    model: request.device.model,
    sdkVersion: request.sdkVersion,
    outcome: verdict.outcome,
    reasons: verdict.reasons,
    time: verdict.time,
    jti: verdict.jti,
  };
}
