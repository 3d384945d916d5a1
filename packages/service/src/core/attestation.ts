/**
 * The attestation service: issue challenges, judge attest requests, mint tokens.
 * Pure protocol logic over the ports in ./ports; the handlers in lambdas/ only translate HTTP.
 */
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { decodeB64u, encodeB64u } from '@attestor/contracts/base64url';
import { importInstallKey, jwkThumbprint, verifyInstallProof } from '@attestor/verify/core/install-key';
import { computeMeasurement, constantTimeEqual } from './measurement';
import { UNREGISTERED_APP } from '@attestor/contracts/metrics';
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
import { decodeHardwareEvidence } from './hardware/evidence';
import {
  hardwareKind,
  hardwarePolicyOf,
  judgeHardware,
  judgeMissingHardware,
  prepareHardware,
  type HardwareInputs,
  type HardwareWrite,
} from './hardware/judge';
import type { HardwareDeps, HardwareDeviceRecords } from './hardware/ports';
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
  /**
   * Device records and the revocation list for hardware evidence (PROTOCOL.md §5.5); absent, the
   * deployment verifies no evidence, and every request that carries some fails (hardware_untrusted).
   */
  readonly hardware?: HardwareDeps;
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
 * Judges an attest request. Throws InvalidRequestError (HTTP 400) when hardware evidence does not
 * decode, before anything is consumed, NonceInvalidError (HTTP 409) when the nonce cannot be
 * consumed, and a dependency's error (HTTP 503) with the nonce put back when a read, KMS or a write
 * fails after consuming it; otherwise always returns a token: signed by the tenant's key when every check passes, by
 * a decoy key when any fails, of the same format, header, claims and size either way. Every check runs
 * whatever the earlier ones found, and the tenant's key is fetched for a failing attestation as for
 * a passing one, so the failing path costs what the passing one costs; an unregistered app id
 * fetches the default tenant's key through the same cached calls, so it costs what a registered
 * app of any tenant costs (only a container's first load of a tenant's key differs: PROTOCOL.md §9).
 *
 * Round trips: consuming the nonce, reading the app and (with hardware evidence) reading its device
 * record do not depend on each other and go out together; then the verdict is recorded, and a device
 * record written (a new one, or an App Attest counter moved forward), together. With the tenant's
 * secret cached, an hs256 attestation waits for two round trips in all (one when the catalog is
 * cached and there is no log); es256 adds a KMS Sign. Only an assertion that loses the counter
 * compare-and-set to a concurrent one with the same counter costs a third: its log entry is rewritten.
 */
export async function attest(deps: AttestationDeps, request: AttestRequest): Promise<AttestResult> {
  // Malformed evidence is the client's mistake (400), found before the nonce is spent.
  const evidence = decodeHardwareEvidence(request.hardware);
  const nonce = decodeB64u(request.nonce)!;
  const now = deps.clock.nowSeconds();
  const did = jwkThumbprint(request.installKey);
  const hardwareRead: Promise<HardwareInputs | undefined> =
    evidence !== undefined && deps.hardware ? prepareHardware(deps.hardware, evidence, request.appId, did) : Promise.resolve(undefined);
  // All settled, not Promise.all: a consume still in flight when a read fails must be seen to the end,
  // or a nonce it removed could not be put back.
  const [consumed, snapshot, hardwareInputs] = await Promise.allSettled([
    deps.nonces.consume(nonceId(nonce), request.appId, now),
    deps.catalog.appSnapshot(request.appId),
    hardwareRead,
  ]);
  // A consume that failed outright may or may not have removed the nonce (a timeout after DynamoDB
  // applied it): nothing to put back, since putting it back could revive a nonce another request used.
  if (consumed.status === 'rejected') throw consumed.reason;
  if (!consumed.value) {
    const tenantId = snapshot.status === 'fulfilled' ? snapshot.value.app?.tenantId : undefined;
    // Counted for every app id, the same writes either way, so that a replay's latency does not say
    // whether its app id is registered (PROTOCOL.md §9). Made-up ids share one counter, the default
    // tenant's UNREGISTERED_APP: the id is the client's word, and each would otherwise get its own.
    const counted = tenantId !== undefined ? { tenantId, appId: request.appId } : { tenantId: deps.defaultTenantId, appId: UNREGISTERED_APP };
    await deps.attestationLog?.countNonceInvalid?.({ ...counted, time: now }).catch(() => undefined);
    throw new NonceInvalidError(tenantId);
  }
  try {
    if (snapshot.status === 'rejected') throw snapshot.reason;
    if (hardwareInputs.status === 'rejected') throw hardwareInputs.reason;
    return await judgeAndMint(deps, request, { evidence, nonce, now, did, snapshot: snapshot.value, hardwareInputs: hardwareInputs.value });
  } catch (error) {
    // Nothing was delivered, so the nonce goes back and the client's retry of the same request can
    // succeed (PROTOCOL.md §5.1). Only a holder puts it back, so single use holds. If the put-back
    // fails too (DynamoDB is the fault), the client's retry gets nonce_invalid and asks for a new challenge.
    await deps.nonces.restore(consumed.value).catch(() => undefined);
    throw error;
  }
}

/** What attest read before judging: the nonce is consumed by then. */
interface AttestInputs {
  readonly evidence: ReturnType<typeof decodeHardwareEvidence>;
  readonly nonce: Uint8Array;
  readonly now: number;
  readonly did: string;
  readonly snapshot: Awaited<ReturnType<AttestationCatalog['appSnapshot']>>;
  readonly hardwareInputs: HardwareInputs | undefined;
}

/** Every check, the token, and the writes that record them; throws only when a dependency fails. */
async function judgeAndMint(deps: AttestationDeps, request: AttestRequest, inputs: AttestInputs): Promise<AttestResult> {
  const { evidence, nonce, now, did, snapshot, hardwareInputs } = inputs;
  const { app } = snapshot;
  // A stand-in without a key (a deployment whose default tenant never got one) must not turn
  // unknown app ids into errors where registered ones get tokens: the decoy needs no tenant key.
  const signingKey: Promise<TokenSigningKey | undefined> =
    app === undefined
      ? deps.keys.signingKey(deps.defaultTenantId).catch((error: unknown) => (error instanceof TenantKeyMissingError ? undefined : Promise.reject(error)))
      : deps.keys.signingKey(app.tenantId);
  // Settled below; a rejection must not go unobserved while the checks run.
  signingKey.catch(() => undefined);

  const debugDigest = request.debugSecret === undefined ? undefined : debugSecretDigest(decodeB64u(request.debugSecret)!);
  const registration = snapshot.registrations.get(request.appVersion);
  const policy: Policy = snapshot.policy ?? DEFAULT_POLICY;
  // `off`: apps registered by store identity, whose store builds are not the uploaded bytes (PROTOCOL.md §5.5).
  const measured = policy.measurement !== 'off';
  const reasons: string[] = [];
  if (!app) reasons.push('app_unknown');
  if (!registration) {
    if (measured) reasons.push('version_unknown');
  } else if (registration.expiresAt !== undefined && registration.expiresAt <= now && measured) reasons.push('registration_expired');

  const digest = registration ? Buffer.from(registration.sha256, 'hex') : ABSENT_DIGEST;
  const expected = computeMeasurement(nonce, request.appId, request.appVersion, digest);
  const measurement = decodeB64u(request.measurement)!;
  if (!constantTimeEqual(expected, measurement) && registration && measured) reasons.push('measurement_mismatch');

  const installKey = importInstallKey(request.installKey);
  const proofValid = verifyInstallProof(installKey, nonce, measurement, decodeB64u(request.installProof)!);
  if (!proofValid) reasons.push('install_proof_invalid');

  reasons.push(...policyViolations(policy, request.device.signals, request.sdkVersion));
  const debugDevice = debugDigest === undefined ? undefined : snapshot.devices.get(debugDeviceId(debugDigest));
  const debugMatched = debugDigest !== undefined && matchesDebugSecret(debugDevice, debugDigest);
  if (debugDigest !== undefined && !debugMatched) reasons.push('debug_secret_invalid');

  const hardwarePolicy = hardwarePolicyOf(policy);
  let hardwareWrite: HardwareWrite | undefined;
  const hardwareReasons: string[] = [];
  if (evidence === undefined) {
    hardwareReasons.push(...judgeMissingHardware(hardwarePolicy, request.device.platform));
  } else if (hardwareInputs === undefined || deps.hardware === undefined) {
    hardwareReasons.push('hardware_untrusted');
  } else {
    const judged = judgeHardware(
      { appId: request.appId, nonce, did, installKey: request.installKey, now },
      evidence,
      hardwareInputs,
      { policy: hardwarePolicy, identity: snapshot.identity, ...(deps.hardware.testRoots ? { testRoots: deps.hardware.testRoots } : {}) },
    );
    hardwareReasons.push(...judged.reasons);
    hardwareWrite = judged.write;
  }
  reasons.push(...hardwareReasons);

  const judge = (): AttestationOutcome => {
    // Allow-listing overrides registration, measurement and policy, never the proof of possession:
    // a did is public (every token carries it), the install key's private half is not.
    // A debug secret that matches nothing fails the attestation even for an allow-listed install, as
    // PROTOCOL.md §5.4 says: a wrong secret is a sign of a leaked or guessed one, never a pass.
    // Nor evidence that failed: the token carries `hw`, which must mean verified evidence (§5.5).
    const evidenceFailed = evidence !== undefined && reasons.some((reason) => reason.startsWith('hardware_'));
    const exempt = app !== undefined && proofValid && (debugDigest === undefined || debugMatched) && !evidenceFailed;
    if (exempt && isAllowlistedInstall(snapshot.devices.get(did), did)) return 'allowlisted';
    return exempt && debugMatched ? 'debug' : reasons.length === 0 ? 'pass' : 'fail';
  };
  let outcome = judge();

  const hw = hardwareKind(evidence);
  const claims: TokenClaims = {
    iss: deps.issuer,
    sub: request.appId,
    iat: now,
    exp: now + deps.tokenTtlSeconds,
    jti: encodeB64u(deps.random.bytes(16)),
    ver: request.appVersion,
    did,
    ...(hw !== undefined ? { hw } : {}),
    cnf: { jkt: did },
    ...(request.binding !== undefined ? { pay: request.binding } : {}),
    ...(request.limitedUse ? { lut: true as const } : {}),
  };
  const verdictOf = (): Verdict => ({
    passed: outcome !== 'fail',
    outcome,
    reasons: [...reasons],
    tenantId: app?.tenantId ?? deps.defaultTenantId,
    appKnown: app !== undefined,
    did,
    jti: claims.jti,
    time: now,
  });
  let verdict = verdictOf();
  const key = await signingKey;
  // An unregistered app id's stand-in key is never used: it gets an hs256 decoy (see mint).
  const tenantKey = app === undefined ? undefined : key;
  let token = await mint(deps, app?.tenantId, tenantKey, claims, verdict.passed);
  // Recorded once the token exists, so the log never holds a verdict whose token was not minted.
  // Awaited on every path, pass or fail, so it costs both the same; the device record is written
  // alongside, not after, so hardware evidence adds no round trip.
  let logError: unknown;
  const record = async (v: Verdict): Promise<void> => {
    if (!deps.attestationLog) return;
    await deps.attestationLog.record(attestationLogEntry(request, v)).catch((error: unknown) => (logError = error ?? new Error('log write failed')));
  };
  const [, written] = await Promise.all([record(verdict), hardwareWrite && deps.hardware ? writeRecord(deps.hardware.devices, hardwareWrite) : true]);
  if (!written) {
    // A concurrent request won the compare-and-set (the same assertion counter, or the same key
    // attesting twice): this one is a replay. The entry just written is replaced (same key: time and
    // jti), and a token minted as a pass becomes a decoy.
    reasons.push('hardware_counter_replay');
    const before = verdict.passed;
    outcome = judge();
    verdict = verdictOf();
    if (before && !verdict.passed) token = await mint(deps, app?.tenantId, tenantKey, claims, false);
    logError = undefined;
    await record(verdict);
  }
  return { token, expiresAt: claims.exp, verdict, ...(logError !== undefined ? { logError } : {}) };
}

/** The device-record write the evidence called for; false when a concurrent request got there first. */
function writeRecord(devices: HardwareDeviceRecords, write: HardwareWrite): Promise<boolean> {
  return write.kind === 'create' ? devices.create(write.record) : devices.advanceCounter(write.ref, write.from, write.to);
}

/**
 * The token in the tenant's format: hs256 with the tenant's secret or the decoy secret; es256 with
 * the tenant's KMS key or the decoy KMS key under the tenant's kid. An unregistered app id has no
 * tenant, and gets an hs256 decoy: an hs256 token names neither tenant nor key, so it looks like
 * any registered app's token.
 */
async function mint(
  deps: AttestationDeps,
  tenantId: string | undefined,
  key: TokenSigningKey | undefined,
  claims: TokenClaims,
  passed: boolean,
): Promise<string> {
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
