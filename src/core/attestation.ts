/**
 * The attestation service: issue challenges, judge attest requests, mint tokens.
 * Pure protocol logic over the ports in ./ports; the handlers in lambdas/ only translate HTTP.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeB64u, encodeB64u } from './base64url';
import { importInstallKey, jwkThumbprint, verifyInstallProof } from './install-key';
import { computeMeasurement, constantTimeEqual } from './measurement';
import { DEFAULT_POLICY, policyViolations, type Policy } from './policy';
import { debugSecretDigest, isAllowlistedInstall, matchesDebugSecret } from './devices';
import { debugDeviceId } from './admin-ids';
import type { AttestationLog, AttestationLogEntry, AttestationOutcome, Clock, NonceStore, RandomSource, Registry, TokenSigner } from './ports';
import { NONCE_BYTES, NONCE_TTL_SECONDS } from './protocol';
import { signingInput, type TokenClaims } from './token';
import type { AttestRequest, ChallengeRequest } from './validation';

export const cryptoRandom: RandomSource = { bytes: (n) => randomBytes(n) };

export interface AttestationDeps {
  readonly nonces: NonceStore;
  readonly registry: Registry;
  readonly signer: TokenSigner;
  readonly clock: Clock;
  readonly random: RandomSource;
  /** `iss` of every token this deployment mints. */
  readonly issuer: string;
  /**
   * Tenant whose kid and audience an unknown app's decoy token carries, so that an unregistered
   * appId gets a token of the same shape as a registered one.
   */
  readonly defaultTenantId: string;
  /** Where the attest handler records verdicts (docs/ADMIN_API.md §9); absent keeps no log. */
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

export class NonceInvalidError extends Error {
  override readonly name = 'NonceInvalidError';
  readonly code = 'nonce_invalid';
  constructor() {
    super('nonce is unknown, already used or expired');
  }
}

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
}

// Stands in for the digest of an unregistered build so the failing path does the same work.
const ABSENT_DIGEST = Buffer.alloc(32);

/**
 * Judges an attest request. Throws NonceInvalidError (HTTP 409) when the nonce cannot be consumed;
 * otherwise always returns a token: signed by the tenant's key when every check passes, by the
 * decoy key when any fails. Every check runs whatever the earlier ones found, so the failing path
 * costs about the same as the passing one.
 */
export async function attest(deps: AttestationDeps, request: AttestRequest): Promise<AttestResult> {
  const nonce = decodeB64u(request.nonce)!;
  const now = deps.clock.nowSeconds();
  if (!(await deps.nonces.consume(nonceId(nonce), request.appId, now))) throw new NonceInvalidError();

  const did = jwkThumbprint(request.installKey);
  const debugDigest = request.debugSecret === undefined ? undefined : debugSecretDigest(decodeB64u(request.debugSecret)!);
  // Read fresh on every request (no cache): a removal or expiry applies to the next attestation.
  const [app, registration, storedPolicy, installDevice, debugDevice] = await Promise.all([
    deps.registry.getApp(request.appId),
    deps.registry.getRegistration(request.appId, request.appVersion),
    deps.registry.getPolicy(request.appId),
    deps.registry.getDevice(request.appId, did),
    debugDigest === undefined ? undefined : deps.registry.getDevice(request.appId, debugDeviceId(debugDigest)),
  ]);
  const policy: Policy = storedPolicy ?? DEFAULT_POLICY;
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
  const debugMatched = debugDigest !== undefined && matchesDebugSecret(debugDevice, debugDigest);
  if (debugDigest !== undefined && !debugMatched) reasons.push('debug_secret_invalid');

  // Allow-listing overrides registration, measurement and policy, never the proof of possession:
  // a did is public (every token carries it), the install key's private half is not.
  // A debug secret that matches nothing fails the attestation even for an allow-listed install, as
  // PROTOCOL.md §5.4 says: a wrong secret is a sign of a leaked or guessed one, never a pass.
  const exempt = app !== undefined && proofValid && (debugDigest === undefined || debugMatched);
  const outcome: AttestationOutcome =
    exempt && isAllowlistedInstall(installDevice, did) ? 'allowlisted' : exempt && debugMatched ? 'debug' : reasons.length === 0 ? 'pass' : 'fail';

  const tenantId = app?.tenantId ?? deps.defaultTenantId;
  const claims: TokenClaims = {
    iss: deps.issuer,
    sub: request.appId,
    aud: tenantId,
    iat: now,
    exp: now + policy.tokenTtlSeconds,
    jti: encodeB64u(deps.random.bytes(16)),
    ver: request.appVersion,
    did,
    cnf: { jkt: did },
    ...(request.binding !== undefined ? { pay: request.binding } : {}),
    ...(request.limitedUse ? { lut: true as const } : {}),
  };
  const passed = outcome !== 'fail';
  const kid = await deps.signer.signingKid(tenantId);
  const input = signingInput({ alg: 'ES256', typ: 'JWT', kid }, claims);
  const signature = await deps.signer.sign(tenantId, Buffer.from(input, 'ascii'), passed ? 'tenant' : 'decoy', kid);
  return { token: `${input}.${encodeB64u(signature)}`, expiresAt: claims.exp, verdict: { passed, outcome, reasons, tenantId, appKnown: app !== undefined, did, jti: claims.jti, time: now } };
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
